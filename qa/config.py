"""One settings object for the whole pipeline; its index-relevant part goes into the
index manifest so a mismatched index is caught at load time."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "multilingual-e5-small"  # built offline from PyPI packages, see offline_model
CHUNKER_VERSION = 5  # bump when chunking changes in a way settings do not show


def _default_root() -> Path:
    if os.environ.get("QA_ROOT"):
        return Path(os.environ["QA_ROOT"])
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "corpus").is_dir() else Path.cwd()


def _default_home() -> Path:
    if os.environ.get("QA_HOME"):
        return Path(os.environ["QA_HOME"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


@dataclass(frozen=True)
class Config:
    root: Path = None  # project root: corpus/ and index/ live here
    home: Path = None  # cache for built models
    model: str = DEFAULT_MODEL  # DEFAULT_MODEL, or any sentence-transformers name or path
    max_tokens: int = 150  # chunk budget in fugashi tokens (the model's limit is 512 of its own)
    bm25_form: str = "surface"  # "surface" or "lemma" terms for BM25
    index_type: str = "auto"  # FAISS index: auto (exact below 50k chunks, HNSW above), flat, hnsw, ivfpq
    pool: int = 50  # candidates taken from each retriever before fusion
    fusion: str = "weighted"  # "rrf", or "weighted" (min-max normalised scores)
    rrf_k: int = 60
    dense_weight: float = 0.7  # share of the dense retriever in either fusion
    piece_weight: float = 0.4  # share of a chunk's best piece in its dense score
    max_query_chars: int = 2000  # longer questions are cut, with a notice
    batch_size: int = 16
    # Answering (weights and thresholds calibrated on the eval set's dev split).
    answer_passages: int = 10  # passages whose pieces compete to be the answer
    related: int = 3  # passages offered as further reading when abstaining
    w_coverage: float = 0.0  # weight of the question's key terms found in a piece
    w_kind: float = 0.06  # bonus when a piece holds the kind of answer asked for
    w_rank: float = 0.0  # bonus for pieces of higher-ranked passages
    max_answer_pieces: int = 2
    second_margin: float = 0.02  # a second piece is quoted when this close to the best
    abstain_coverage: float = 0.34  # abstain when coverage is below this ...
    abstain_cosine: float = 0.85  # ... and the best piece is less similar than this
    abstain_unknown: float = 0.4  # abstain when this share of key terms is not in the corpus ...
    abstain_unknown_cosine: float = 0.86  # ... and the best piece is less similar than this
    abstain_kind_missing: bool = True  # abstain when a number/date question finds none
    kind_window: int = 3  # top pieces searched for the kind of answer asked for
    abstain_cosine_en: float = 0.78  # English questions: abstain below this similarity,
    abstain_unknown_en: float = 0.95  # or when (nearly) no key term occurs in the corpus
    abstain_unknown_cosine_en: float = 0.83  # and similarity is below this

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root) if self.root else _default_root())
        object.__setattr__(self, "home", Path(self.home) if self.home else _default_home())

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)

    def index_settings(self) -> dict:
        """The settings an index depends on; a change in any of them needs a rebuild."""
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "bm25_form": self.bm25_form,
            "index_type": self.index_type,
            "chunker_version": CHUNKER_VERSION,
        }

    def asdict(self) -> dict:
        data = asdict(self)
        data["root"], data["home"] = str(self.root), str(self.home)
        return data
