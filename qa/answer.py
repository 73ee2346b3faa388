"""Extractive answers: pick the piece (sentence, bullet, table row) that answers the
question from the top passages, quote it with [n] markers, or abstain.

Nothing here writes text of its own: an answer is one or two pieces of the corpus,
verbatim as shown in the passages, followed by citation markers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from .config import Config
from .results import Answer, Passage
from .search import Hit, Retriever, prepare_query
from .tokens import normalize, terms, tokenize

log = logging.getLogger(__name__)

NOT_FOUND = "資料には該当する記載が見つかりませんでした。"

# Words that make up the question rather than its topic.
_QUESTION_WORDS = frozenset(
    "何 なに なん どこ いつ 誰 だれ どの どう どれ どんな いくら いくつ 幾つ 教える 知る ある いる する なる "
    "れる られる ます です こと もの ため 的 について とは ください 下さい 方 くらい ぐらい 程度 所 "
    "what which who whom where when how many much is are was were the a an of in on at to for by did do does "
    "and or with from as that this it its be been tell me about".split()
)

# Expected answer kinds: question cue -> pattern that a fitting piece contains.
# Order matters: the first cue that matches decides.
_KINDS = {
    "amount": (
        re.compile(r"いくら|金額|予算額|予算規模|資金規模|拠出額|how much|budget of|amount of", re.I),
        re.compile(r"\d[\d,.]*\s*(兆|億|万|千)?\s*(円|ドル|ユーロ|ウォン|元|ポンド)|(円|ドル|ユーロ|ウォン)"),
    ),
    "percent": (
        re.compile(r"何\s*(%|％|割)|割合|比率|シェア|percent|share|proportion", re.I),
        re.compile(r"\d\s*(%|割)"),
    ),
    "count": (
        re.compile(r"何\s*(名|人|件|か国|カ国|ヶ国|校|機関|分野|つ|項目|回|個|点|プロジェクト|倍)|いくつ|幾つ|人数|規模|どれ(くらい|ほど)|どの(くらい|程度)|how many|number of", re.I),
        re.compile(r"\d|[一二三四五六七八九十百千万]+(つ|か国|カ国|名|人)"),
    ),
    "date": (
        re.compile(r"いつ|何年|何月|何日|日付|時期|日程|when|what (year|date|month)", re.I),
        re.compile(r"\d{4}\s*[年/.]|\d{1,2}\s*月|令和|平成|\d{4}"),
    ),
    "person": (re.compile(r"誰|だれ|\bwho(m|se)?\b", re.I), None),  # fits: a person's name (see fits)
    "place": (
        re.compile(r"どこで(?!す)|場所|開催地|where|which (city|country)", re.I),
        re.compile(r"場所|開催地|所在地|[都道府県市州]\b|(?<=[・、])[ァ-ヴー]{2,}$"),
    ),
}
STRICT_KINDS = ("amount", "percent", "count", "date", "person")  # these need a fitting piece


_DIGITS = re.compile(r"[\d０-９][\d０-９,.，．]*")


def _disagree(a: str, b: str) -> bool:
    """Two pieces that say the same thing with different figures."""
    from difflib import SequenceMatcher

    if _DIGITS.findall(a) == _DIGITS.findall(b) or not _DIGITS.search(a):
        return False
    return SequenceMatcher(None, _DIGITS.sub("#", a), _DIGITS.sub("#", b)).ratio() >= 0.8


def fits(kind: str, text: str) -> bool:
    """Whether `text` holds the kind of thing a question of `kind` asks for."""
    if kind not in _KINDS:
        return True
    pattern = _KINDS[kind][1]
    if pattern is None:  # person: unidic tags given and family names as 人名
        return any(t.pos3 == "人名" for t in tokenize(text))
    return bool(pattern.search(normalize(text)))


def question_kind(question: str) -> str:
    for kind, (cue, _) in _KINDS.items():
        if cue.search(question):
            return kind
    return "other"


def key_terms(question: str, form: str = "surface") -> list[str]:
    """The question's topic words: content terms minus question words."""
    out = []
    for t in terms(question, form):
        if t not in _QUESTION_WORDS and not (len(t) == 1 and not t.isalnum()):
            out.append(t)
    return out


def is_english(question: str) -> bool:
    letters = [ch for ch in question if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) / len(letters) > 0.7


@dataclass(frozen=True)
class Candidate:
    hit: int  # position in the hit list
    chunk: int  # index of the chunk in the index
    piece: int  # index of the piece within its chunk
    text: str
    score: float
    cosine: float
    coverage: float  # share of the question's key terms found in the piece or its context
    fits: bool  # has the kind of content the question asks for


@dataclass(frozen=True)
class Signals:
    """What the abstention rule looks at; kept for the eval suite's calibration."""

    best_cosine: float  # best piece's cosine to the question
    top_dense: float  # best chunk's cosine to the question
    coverage: float  # key-term coverage of the best passage
    english: bool
    kind_missing: bool  # the question asks for a number or date and no top piece has one
    unknown: float  # share of the question's key terms that occur nowhere in the corpus


@dataclass(frozen=True)
class Trace:
    answer: Answer
    signals: Signals
    ranking: list[int]  # chunk indexes, best answering passage first


class Answerer:
    def __init__(self, retriever: Retriever, config: Config | None = None):
        self.retriever = retriever
        self.config = config or retriever.config

    @classmethod
    def load(cls, config: Config | None = None, embedder=None) -> "Answerer":
        config = config or Config()
        return cls(Retriever.load(config, embedder), config)

    def ask(self, question: str, mode: str = "hybrid", docs=None) -> Answer:
        """An answer quoted from the corpus (or from the documents `docs`), or an abstention."""
        return self.trace(question, mode, docs).answer

    def trace(self, question: str, mode: str = "hybrid", docs=None) -> "Trace":
        """The answer, the signals behind the abstention decision, and the passages
        ranked by how well their best piece answers (used by the eval suite)."""
        query, notice = prepare_query(question, self.config.max_query_chars)
        r = self.retriever
        qvec = r.embed_query(query)
        hits = r.hits(query, self.config.answer_passages, mode, qvec=qvec, docs=docs)
        keys = set(key_terms(query, self.config.bm25_form))
        candidates = self._candidates(query, keys, hits, qvec)
        signals = self._signals(query, keys, hits, candidates)
        best_of: dict[int, float] = {}
        for cand in candidates:
            best_of.setdefault(cand.hit, cand.score)
        ranking = [hits[i].chunk for i in sorted(range(len(hits)), key=lambda i: (-best_of.get(i, -9.0), i))]
        if not candidates or self._abstain(signals):
            related = tuple(r.passage(h, rank) for rank, h in enumerate(hits[: self.config.related], start=1))
            return Trace(Answer(question, NOT_FOUND, True, related, notice), signals, ranking)
        citations: list[Passage] = []
        cited: dict[int, int] = {}  # chunk index -> citation number
        parts = []
        for cand in self._choose(candidates):
            hit = hits[cand.hit]
            if hit.chunk not in cited:
                citations.append(r.passage(hit, len(citations) + 1))
                cited[hit.chunk] = len(citations)
            parts.append(f"{cand.text} [{cited[hit.chunk]}]")
        return Trace(Answer(question, "\n".join(parts), False, tuple(citations), notice), signals, ranking)

    # -- scoring -----------------------------------------------------------------

    def _candidates(self, query: str, keys: set[str], hits: list[Hit], qvec: np.ndarray) -> list[Candidate]:
        index = self.retriever.index
        kind = question_kind(query)
        wants_source = any(w in query for w in ("出典", "出所", "資料名", "source"))
        cfg = self.config
        out = []
        for h_pos, hit in enumerate(hits):
            chunk = index.chunks[hit.chunk]
            context_terms = set(terms(chunk.context, cfg.bm25_form))
            for p_pos, piece in enumerate(chunk.pieces):
                fitting = fits(kind, piece.text)
                if piece.kind == "heading" and len(chunk.pieces) > 1 and not (fitting and kind in STRICT_KINDS):
                    continue  # headings answer only when they hold the number or date asked for
                if piece.kind == "source" and not wants_source:
                    continue
                cosine = float(index.piece_vectors[self.retriever.piece_row[(hit.chunk, p_pos)]] @ qvec)
                found = set(terms(piece.text, cfg.bm25_form)) | context_terms
                coverage = len(keys & found) / len(keys) if keys else 0.0
                score = (
                    cosine
                    + cfg.w_coverage * coverage
                    + cfg.w_kind * (1.0 if fitting else 0.0)
                    + cfg.w_rank / (1 + h_pos)
                )
                out.append(Candidate(h_pos, hit.chunk, p_pos, piece.text, score, cosine, coverage, fitting))
        out.sort(key=lambda c: -c.score)
        return out

    def _choose(self, candidates: list[Candidate]) -> list[Candidate]:
        """The best piece, plus a runner-up that is nearly as good, or that states the
        same thing with other figures (the corpus disagrees with itself: show both)."""
        best = candidates[0]
        chosen = [best]
        for cand in candidates[1:]:
            if len(chosen) >= self.config.max_answer_pieces:
                break
            close = best.score - cand.score <= self.config.second_margin
            elsewhere = self._place(cand) != self._place(best)  # rows of one table look alike
            conflict = elsewhere and best.score - cand.score <= 0.1 and _disagree(best.text, cand.text)
            if cand.text != best.text and (close or conflict):
                chosen.append(cand)
        return chosen

    def _place(self, cand: Candidate) -> tuple[str, int]:
        chunk = self.retriever.index.chunks[cand.chunk]
        return chunk.doc_id, chunk.slide

    def _signals(self, query: str, keys: set[str], hits: list[Hit], candidates: list[Candidate]) -> Signals:
        index = self.retriever.index
        coverage = 0.0
        if hits and keys:
            found = set(terms(index.chunks[hits[0].chunk].embed_text, self.config.bm25_form))
            coverage = len(keys & found) / len(keys)
        kind = question_kind(query)
        top = candidates[: self.config.kind_window]
        vocab = index.bm25.vocab_dict
        return Signals(
            kind_missing=kind in STRICT_KINDS and not any(c.fits for c in top),
            unknown=sum(k not in vocab for k in keys) / len(keys) if keys else 0.0,
            best_cosine=max((c.cosine for c in candidates), default=0.0),
            top_dense=max((h.dense for h in hits), default=0.0),
            coverage=coverage,
            english=is_english(query),
        )

    def _abstain(self, s: Signals) -> bool:
        cfg = self.config
        if s.english:  # key terms rarely match the Japanese text, so lean on similarity
            return s.best_cosine < cfg.abstain_cosine_en or (
                s.unknown >= cfg.abstain_unknown_en and s.best_cosine < cfg.abstain_unknown_cosine_en
            )
        return (
            (cfg.abstain_kind_missing and s.kind_missing)
            or (s.coverage < cfg.abstain_coverage and s.best_cosine < cfg.abstain_cosine)
            or (s.unknown >= cfg.abstain_unknown and s.best_cosine < cfg.abstain_unknown_cosine)
        )
