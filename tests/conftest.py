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

from qa.config import Config  # noqa: E402
from qa.indexer import build_index  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402


def make_project(tmp: Path, with_eval: bool = False) -> Config:
    """A project folder holding a copy of the real corpus."""
    shutil.copytree(REPO / "corpus", tmp / "corpus")
    if with_eval:
        (tmp / "eval").mkdir()
        shutil.copy(REPO / "eval" / "gold.jsonl", tmp / "eval" / "gold.jsonl")
    return Config(root=tmp)


TINY_TEXT = "# 会議\n開催場所：イタリア・ボローニャ。\n# 人材\n毎年約300名を派遣。\n"


@pytest.fixture
def tiny_project(tmp_path, monkeypatch) -> Config:
    """A two-slide corpus in a temporary project; the CLI and facade load the fake embedder."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tiny.txt").write_text(TINY_TEXT, encoding="utf-8")
    monkeypatch.setattr("qa.embed.load_embedder", lambda config: FakeEmbedder())
    return Config(root=tmp_path)


def fake_pipeline_for(config: Config, embedder=None) -> Pipeline:
    """Index `config`'s corpus with the fake embedder and wire a pipeline over it."""
    embedder = embedder or FakeEmbedder()
    build_index(config, embedder)
    return Pipeline(config, embedder)


@pytest.fixture(scope="session")
def fake_pipeline(tmp_path_factory) -> Pipeline:
    return fake_pipeline_for(make_project(tmp_path_factory.mktemp("fake")))


@pytest.fixture(scope="session")
def fake_answerer(fake_pipeline):
    return fake_pipeline.answerer


@pytest.fixture(scope="session")
def real_embedder():
    from qa.embed import load_embedder

    return load_embedder(Config())


@pytest.fixture(scope="session")
def real_pipeline(tmp_path_factory, real_embedder) -> Pipeline:
    """The deck indexed with the real model: built once per test session, shared."""
    config = make_project(tmp_path_factory.mktemp("real"))
    build_index(config, real_embedder)
    return Pipeline(config, real_embedder)


@pytest.fixture(scope="session")
def real_answerer(real_pipeline):
    return real_pipeline.answerer
