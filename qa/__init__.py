"""Grounded question answering over Japanese documents.

    import qa
    for p in qa.search("WPIの外国人研究者の比率は？", k=3):
        print(p.slide, p.title, p.text)
    print(qa.ask("G7科学技術大臣会合はどこで開かれましたか").answer)
"""

from __future__ import annotations

__version__ = "0.2.0"

from .config import Config
from .errors import QAError
from .results import Answer, Passage, Quote

__all__ = ["Config", "Passage", "Quote", "Answer", "QAError", "Pipeline", "build", "load", "search", "ask"]

_pipelines: dict = {}


def __getattr__(name):  # the heavy class is imported on first use
    if name == "Pipeline":
        from .pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)


def load(config: Config | None = None):
    """The pipeline for `config` (default settings if None), loaded once per process and
    switched to a newer build when `qa index` (or `build`) made one."""
    from .pipeline import Pipeline

    config = config or Config()
    key = repr(config)
    if key not in _pipelines:
        _pipelines[key] = Pipeline.load(config)
    else:
        _pipelines[key].refresh()
    return _pipelines[key]


def build(config: Config | None = None, progress: bool = False):
    """Build (or rebuild) the index for the corpus; returns the build folder. Later
    `search` and `ask` calls answer from it."""
    from .pipeline import Pipeline

    config = config or Config()
    key = repr(config)
    if key in _pipelines:
        return _pipelines[key].build(progress)
    from .embed import load_embedder
    from .indexer import build_index

    embedder = load_embedder(config)
    path = build_index(config, embedder, progress=progress)
    _pipelines[key] = Pipeline(config, embedder)
    return path


def search(query: str, k: int = 5, config: Config | None = None, docs=None) -> list[Passage]:
    """The k passages that best match `query`, best first."""
    return load(config).search(query, k, docs=docs)


def ask(question: str, config: Config | None = None, docs=None) -> Answer:
    """An answer quoted from the corpus with its citations, or an abstention."""
    return load(config).ask(question, docs=docs)
