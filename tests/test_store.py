import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import FakeEmbedder, make_project
from qa.config import Config
from qa.errors import IndexMissingError, IndexStaleError, QAError
from qa.indexer import build_index
from qa.retrieve import Retriever
from qa.store import FileStore

TINY = "# 会議\n開催場所：イタリア・ボローニャ。\n# 予算\n総額は955億ユーロ規模。\n# 人材\n毎年約300名を派遣。\n"


@pytest.fixture
def tiny(tmp_path) -> Config:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tiny.txt").write_text(TINY, encoding="utf-8")
    return Config(root=tmp_path)


def test_round_trip_build_save_load_search(tiny):
    emb = FakeEmbedder()
    path = build_index(tiny, emb)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunk_count"] == 3 and manifest["dimension"] == emb.dim
    assert manifest["settings"]["max_tokens"] == tiny.index.max_tokens
    assert set(manifest["files"]) >= {"chunks.jsonl", "dense.faiss", "vectors.npy", "piece_bounds.npy", "keys.txt"}
    hits = Retriever(FileStore.load(tiny), emb, tiny).search("ボローニャ", k=2)
    assert hits[0].slide == 1 and hits[0].title == "会議"
    assert TINY[hits[0].start : hits[0].end].startswith("# 会議")
    assert [h.rank for h in hits] == [1, 2]


def test_missing_index_names_the_command(tiny):
    with pytest.raises(IndexMissingError, match="qa index"):
        FileStore.load(tiny)


def test_edited_corpus_is_stale(tiny):
    build_index(tiny, FakeEmbedder())
    (tiny.corpus_dir / "tiny.txt").write_text(TINY + "追記。\n", encoding="utf-8")
    with pytest.raises(IndexStaleError, match="corpus .* changed.*qa index"):
        FileStore.load(tiny)


@pytest.mark.parametrize("change", [{"max_tokens": 80}, {"model": "another/model"}, {"bm25_form": "lemma"}])
def test_other_settings_are_stale(tiny, change):
    build_index(tiny, FakeEmbedder())
    with pytest.raises(IndexStaleError, match="other settings.*qa index"):
        FileStore.load(tiny.with_(**change))


@pytest.mark.parametrize("victim", ["dense.faiss", "chunks.jsonl", "vectors.npy", "chunk_ids.npy", "bm25/params.index.json"])
def test_damaged_file_is_caught(tiny, victim):
    path = build_index(tiny, FakeEmbedder())
    f = path / victim
    f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    with pytest.raises(IndexStaleError, match="damaged.*qa index"):
        FileStore.load(tiny)


def test_rebuild_reembeds_only_changed_chunks(tiny):
    emb = FakeEmbedder()
    build_index(tiny, emb)
    first = emb.documents_embedded
    build_index(tiny, emb)
    assert emb.documents_embedded == first  # nothing changed, nothing embedded
    (tiny.corpus_dir / "tiny.txt").write_text(TINY.replace("955億", "935億"), encoding="utf-8")
    path = build_index(tiny, emb)
    stats = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["build_stats"]
    assert emb.documents_embedded - first == stats["embedded"] == 1  # the one piece that changed
    assert len([p for p in tiny.index_dir.iterdir() if p.name.startswith("build-")]) == 1


def test_second_build_at_once_is_refused(tiny):
    import fcntl

    tiny.index_dir.mkdir()
    with open(tiny.index_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(QAError, match="already building"):
            build_index(tiny, FakeEmbedder())


SLOW_BUILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from fakes import FakeEmbedder
    from qa.config import Config
    from qa.indexer import build_index

    class Slow(FakeEmbedder):
        def embed_documents(self, texts, progress=False):
            print("embedding", flush=True)
            time.sleep(0.5)
            return super().embed_documents(texts)

    build_index(Config(root={root!r}), Slow())
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.4, 0.9, 1.1, 1.3])
def test_killed_build_leaves_an_index_that_loads(tmp_path, delay):
    """Kill a rebuild at various moments: the live index is always whole, either
    the previous build (answering as before) or the finished new one."""
    config = make_project(tmp_path)
    emb = FakeEmbedder()
    old = build_index(config, emb)
    before = Retriever(FileStore.load(config), emb, config).search("SATREPS", k=3)
    deck = next(config.corpus_dir.glob("*.txt"))
    deck.write_text(deck.read_text(encoding="utf-8").replace("SATREPS", "SATREPS2"), encoding="utf-8")
    script = SLOW_BUILD.format(tests=str(Path(__file__).parent), root=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout.readline().strip() == b"embedding"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    index = FileStore.load(config, check_corpus=False)  # checksums of every file still verified
    if index.path.name == old.name:
        assert Retriever(index, emb, config).search("SATREPS", k=3) == before
    else:
        FileStore.load(config)  # the new build finished: it matches the edited corpus
    build_index(config, emb)  # the next build clears what the killed one left
    assert not [p for p in config.index_dir.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("index_type, expected", [("auto", "flat"), ("flat", "flat"), ("hnsw", "hnsw"), ("ivfpq", "flat")])
def test_index_type_is_configurable(tmp_path, index_type, expected):
    config = make_project(tmp_path).with_(index_type=index_type)
    emb = FakeEmbedder()
    path = build_index(config, emb)
    assert json.loads((path / "manifest.json").read_text(encoding="utf-8"))["index_type"] == expected
    hits = Retriever(FileStore.load(config), emb, config).search("SATREPSの実施国数", k=3, mode="dense")
    assert len(hits) == 3
    with pytest.raises(IndexStaleError, match="index_type"):
        FileStore.load(config.with_(index_type="hnsw" if index_type != "hnsw" else "flat"))


def test_first_page_and_doc_freq(fake_pipeline):
    store = fake_pipeline.store
    doc = store.documents()[0]["doc_id"]
    first = store.first_page(doc)
    assert first and {c.slide for c in first} == {1}
    assert [c.id for c in first] == [c.id for c in store.doc_chunks(doc) if c.slide == 1]
    freq = store.doc_freq(["satreps", "no-such-term"])
    assert 0 < freq["satreps"] < len(store) and freq["no-such-term"] == 0
