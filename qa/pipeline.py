"""The one place that wires the parts: config -> embedder, store, retriever, answerer
(and the reader, when one is shipped). The CLI, the chat page, the eval suite, the
benchmarks and the tests all get their parts from a `Pipeline`.

A pipeline notices a new live build (another process ran `qa index`) by a cheap
look at `CURRENT`, loads it and switches atomically: one answer never mixes builds.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .corpus import corpus_sha256, load_corpus
from .errors import IndexMissingError, IndexStaleError
from .results import Answer, Passage
from .store import current_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """Everything that depends on one build; replaced as a whole on reload."""

    build: str | None  # the build folder's name, as `CURRENT` gave it
    store: object
    answerer: object

    @property
    def retriever(self):
        return self.answerer.retriever


class Pipeline:
    def __init__(self, config: Config | None = None, embedder=None, store=None, reader="auto"):
        """Wire the parts; `embedder`, `store` and `reader` replace the defaults (a fake
        embedder in tests, another store implementation, None for no reader). The index
        must exist: see `load`."""
        self.config = config or Config()
        self.embedder = embedder if embedder is not None else _load_embedder(self.config)
        self.reader = load_reader(self.config, self.embedder) if reader == "auto" else reader
        self._fixed_store = store is not None
        self._lock = threading.Lock()
        self._loading = False
        self._corpus_seen: tuple | None = None
        self._corpus_ahead = False
        self.parts = self._wire(store, None) if store is not None else self._open()

    @classmethod
    def load(cls, config: Config | None = None, embedder=None, build_missing: bool = False,
             progress: bool = False) -> "Pipeline":
        """A pipeline over the live index; with `build_missing`, an index that is missing
        or out of date is (re)built first instead of raising."""
        config = config or Config()
        embedder = embedder if embedder is not None else _load_embedder(config)
        reader = load_reader(config, embedder)
        try:
            return cls(config, embedder, reader=reader)
        except (IndexMissingError, IndexStaleError) as exc:
            if not build_missing:
                raise
            why = "there is none yet" if isinstance(exc, IndexMissingError) else f"it cannot be used ({exc})"
            log.warning("building the index in %s now: %s", config.index_dir, why)
            from .indexer import build_index

            build_index(config, embedder, progress=progress)
            return cls(config, embedder, reader=reader)

    # -- the verbs -----------------------------------------------------------------

    @property
    def store(self):
        return self.parts.store

    @property
    def retriever(self):
        return self.parts.retriever

    @property
    def answerer(self):
        return self.parts.answerer

    def search(self, query: str, k: int = 5, mode: str = "hybrid", docs=None) -> list[Passage]:
        return self.parts.retriever.search(query, k, mode, docs)

    def ask(self, question: str, mode: str = "hybrid", docs=None) -> Answer:
        return self.parts.answerer.ask(question, mode, docs)

    def trace(self, question: str, mode: str = "hybrid", docs=None):
        return self.parts.answerer.trace(question, mode, docs)

    def build(self, progress: bool = False) -> Path:
        """Rebuild the index from the corpus and answer from the new build."""
        from .indexer import build_index

        path = build_index(self.config, self.embedder, progress=progress)
        self.refresh()
        return path

    def doc_titles(self) -> dict[str, str]:
        return {d["doc_id"]: d.get("title") or d["doc_id"] for d in self.parts.store.documents()}

    # -- keeping up with rebuilds ----------------------------------------------------

    def refresh(self, background: bool = False) -> bool:
        """If `CURRENT` names another build, load it and switch to it (in a thread with
        `background`, answering from the old build meanwhile). True when it switched."""
        if self._fixed_store or current_name(self.config.index_dir) in (None, self.parts.build):
            return False
        with self._lock:
            if self._loading:
                return False
            self._loading = True
        if background:
            threading.Thread(target=self._reload, name="qa-reload", daemon=True).start()
            return False
        return self._reload()

    def _reload(self) -> bool:
        try:
            parts = self._open()
        except Exception as exc:  # noqa: BLE001 - keep answering from the build we have
            log.warning("a new index build could not be loaded, still answering from %s: %s", self.parts.build, exc)
            return False
        finally:
            with self._lock:
                self._loading = False
        self.parts = parts  # one assignment: readers see the old parts or the new, never a mix
        log.warning("switched to the new index build %s", parts.build)
        return True

    def corpus_ahead(self) -> bool:
        """Whether corpus/ changed since the live build (cheap: re-hashed only when a
        file's size or modification time changed)."""
        try:
            seen = tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                                for e in os.scandir(self.config.corpus_dir) if e.is_file()))
        except OSError:
            return False
        key = (seen, self.parts.build)
        if key != self._corpus_seen:
            try:
                docs = load_corpus(self.config.corpus_dir, self.config.root)
                self._corpus_ahead = corpus_sha256(docs) != self.parts.store.manifest.get("corpus_sha256")
            except Exception:  # noqa: BLE001 - a corpus being edited is read again next time
                self._corpus_ahead = True
            self._corpus_seen = key
        return self._corpus_ahead

    # -- wiring --------------------------------------------------------------------

    def _open(self) -> Parts:
        from .store import FileStore

        store = FileStore.load(self.config)
        return self._wire(store, store.path.name)

    def _wire(self, store, build: str | None) -> Parts:
        from .answer import Answerer
        from .retrieve import Retriever

        retriever = Retriever(store, self.embedder, self.config)
        return Parts(build, store, Answerer(retriever, self.config, self.reader))


def _load_embedder(config: Config):
    from .embed import load_embedder

    return load_embedder(config)


def load_reader(config: Config, embedder):
    """The shipped reader, sharing the embedder's e5 layers when it is the default model;
    None (answers by the hand-calibrated rule, said once in the log) when it is off,
    not applicable, missing or damaged."""
    from .config import DEFAULT_MODEL
    from .errors import ReaderError

    mode = config.answer.reader
    model = getattr(embedder, "model", None)
    shared = config.index.model == DEFAULT_MODEL and model is not None
    if mode == "off" or (mode == "auto" and not shared):
        return None
    from .reader import Reader

    try:
        weights = config.answer.reader_weights or None
        return Reader.load(weights=weights, base=model[0].auto_model if shared else None)
    except ReaderError as exc:
        log.warning("%s Answering without the reader, by the hand-calibrated rule.", exc)
        return None
