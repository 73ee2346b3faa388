"""Every damaged index state gets one line naming `qa index`, and that `qa index`
then succeeds; a full disk during a build leaves the old index answering."""

import errno
import json

import numpy as np
import pytest

from conftest import TINY_TEXT, FakeEmbedder
from qa import cli
from qa.config import Config
from qa.errors import IndexMissingError, IndexStaleError, QAError
from qa.indexer import build_index
from qa.store import FileStore

TEXT = TINY_TEXT


@pytest.fixture
def project(tiny_project) -> Config:
    return tiny_project


def _live(config: Config):
    return config.index_dir / (config.index_dir / "CURRENT").read_text().strip()


def _truncate(path):
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


DAMAGE = {
    "no CURRENT": lambda c: (c.index_dir / "CURRENT").unlink(),
    "binary CURRENT": lambda c: (c.index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00garbage"),
    "CURRENT names a non-build": lambda c: ((c.index_dir / "elsewhere").mkdir(),
                                            (c.index_dir / "CURRENT").write_text("elsewhere\n")),
    "CURRENT names a missing build": lambda c: (c.index_dir / "CURRENT").write_text("build-gone\n"),
    "manifest is a list": lambda c: (_live(c) / "manifest.json").write_text("[1, 2]"),
    "manifest lacks fields": lambda c: (_live(c) / "manifest.json").write_text('{"settings": {}}'),
    "manifest is not JSON": lambda c: (_live(c) / "manifest.json").write_bytes(b"\x00\x01{"),
    "keys.txt missing": lambda c: (_live(c) / "keys.txt").unlink(),
    "vectors truncated": lambda c: _truncate(_live(c) / "vectors.npy"),
    "chunks missing": lambda c: (_live(c) / "chunks.jsonl").unlink(),
    "bm25 folder missing": lambda c: __import__("shutil").rmtree(_live(c) / "bm25"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_names_qa_index_and_qa_index_repairs_it(project, damage, capsys):
    build_index(project, FakeEmbedder())
    DAMAGE[damage](project)
    with pytest.raises((IndexMissingError, IndexStaleError), match="qa index"):
        FileStore.load(project)
    root = ["--root", str(project.root)]
    assert cli.main(root + ["search", "ボローニャ"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "qa index" in err[0] and "Traceback" not in err[0]
    assert cli.main(root + ["index", "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(root + ["search", "ボローニャ", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["title"] == "会議"


def test_reused_vectors_are_verified(project):
    """A previous build whose vectors were altered is not reused: everything is embedded anew."""
    emb = FakeEmbedder()
    build_index(project, emb)
    vectors = np.load(_live(project) / "vectors.npy")
    np.save(_live(project) / "vectors.npy", vectors * 0)  # same shape, wrong content
    before = emb.documents_embedded
    build_index(project, emb)
    assert emb.documents_embedded - before == len(vectors)


def test_disk_full_during_build_keeps_the_old_index(project, monkeypatch, capsys):
    build_index(project, FakeEmbedder())
    live = _live(project)
    (project.corpus_dir / "tiny.txt").write_text(TEXT + "# 追記\n新しい頁。\n", encoding="utf-8")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("qa.indexer.np.save", full)
    with pytest.raises(QAError, match="no space left.*qa index.*previous index still answers"):
        build_index(project, FakeEmbedder())
    assert _live(project) == live
    assert not [p for p in project.index_dir.iterdir() if p.name.startswith(".tmp-")]
    assert cli.main(["--root", str(project.root), "index", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no space left" in err[0]
    store = FileStore.load(project, check_corpus=False)  # the old build still loads and answers
    assert store.path == live and len(store) == 2
