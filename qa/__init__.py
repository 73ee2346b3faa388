"""Grounded question answering over Japanese documents.

    import qa
    for p in qa.search("WPIの外国人研究者の比率は？", k=3):
        print(p.slide, p.title, p.text)
    print(qa.ask("G7科学技術大臣会合はどこで開かれましたか").answer)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .config import Config
from .errors import QAError
from .results import Answer, Passage

__all__ = ["Config", "Passage", "Answer", "QAError", "Retriever", "Answerer", "build", "load", "search", "ask"]

_loaded: dict = {}


def __getattr__(name):  # heavy classes are imported on first use
    if name == "Retriever":
        from .search import Retriever

        return Retriever
    if name == "Answerer":
        from .answer import Answerer

        return Answerer
    raise AttributeError(name)


def build(config: Config | None = None, progress: bool = False):
    """Build (or rebuild) the index for the corpus; returns the build folder."""
    from .embed import load_embedder
    from .store import build_index

    config = config or Config()
    return build_index(config, load_embedder(config), progress=progress)


def load(config: Config | None = None):
    """The answerer for `config` (default settings if None), loaded once per process."""
    from .answer import Answerer

    config = config or Config()
    key = repr(config)
    if key not in _loaded:
        _loaded[key] = Answerer.load(config)
    return _loaded[key]


def search(query: str, k: int = 5, config: Config | None = None) -> list[Passage]:
    """The k passages that best match `query`, best first."""
    return load(config).retriever.search(query, k)


def ask(question: str, config: Config | None = None) -> Answer:
    """An answer quoted from the corpus with its citations, or an abstention."""
    return load(config).ask(question)
