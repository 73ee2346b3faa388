"""Shared fixtures: a copy of the corpus in a temporary project folder, indexed
with the fast fake embedder or with the real model."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
DECK = REPO / "corpus" / "csti_global_strategy_2025-05-22.txt"
sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder  # noqa: E402

from qa.answer import Answerer  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.search import Retriever  # noqa: E402
from qa.store import build_index, load_index  # noqa: E402


def make_project(tmp: Path, with_eval: bool = False) -> Config:
    """A project folder holding a copy of the real corpus."""
    shutil.copytree(REPO / "corpus", tmp / "corpus")
    if with_eval:
        (tmp / "eval").mkdir()
        shutil.copy(REPO / "eval" / "gold.jsonl", tmp / "eval" / "gold.jsonl")
    return Config(root=tmp)


@pytest.fixture(scope="session")
def fake_answerer(tmp_path_factory) -> Answerer:
    config = make_project(tmp_path_factory.mktemp("fake"))
    embedder = FakeEmbedder()
    build_index(config, embedder)
    return Answerer(Retriever(load_index(config), embedder, config), config)


@pytest.fixture(scope="session")
def real_embedder():
    from qa.embed import load_embedder

    return load_embedder(Config())


@pytest.fixture(scope="session")
def real_answerer(tmp_path_factory, real_embedder) -> Answerer:
    config = make_project(tmp_path_factory.mktemp("real"))
    build_index(config, real_embedder)
    return Answerer(Retriever(load_index(config), real_embedder, config), config)
