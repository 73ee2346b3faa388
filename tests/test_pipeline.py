"""The one wiring point and the `qa` facade: any number of calls, new builds picked
up, one build per answer."""

import json

import pytest

import qa
from conftest import REPO, TINY_TEXT, FakeEmbedder, fake_pipeline_for, make_project
from qa.config import Config
from qa.corpus import load_corpus
from qa.eval.gold import load_gold
from qa.indexer import build_index
from qa.pipeline import Pipeline

TEXT = TINY_TEXT


@pytest.fixture
def tiny(tiny_project, monkeypatch) -> Config:
    monkeypatch.setattr(qa, "_pipelines", {})
    return tiny_project


def test_facade_search_and_ask_work_any_number_of_times(tiny):
    qa.build(tiny)
    for _ in range(3):
        [top] = qa.search("ボローニャ", k=1, config=tiny)
        assert isinstance(top, qa.Passage) and top.title == "会議"
        answer = qa.ask("毎年何名を派遣していますか", config=tiny)
        assert isinstance(answer, qa.Answer) and answer.citations
    assert callable(qa.search) and callable(qa.ask)  # no submodule shadows the verbs


def test_facade_answers_from_the_new_build_after_build(tiny):
    qa.build(tiny)
    assert "約300名" in qa.search("派遣", k=1, config=tiny)[0].text
    (tiny.corpus_dir / "tiny.txt").write_text(TEXT.replace("約300名", "約999名"), encoding="utf-8")
    qa.build(tiny)
    assert "約999名" in qa.search("派遣", k=1, config=tiny)[0].text


def test_facade_notices_a_build_made_elsewhere(tiny):
    qa.build(tiny)
    qa.search("派遣", k=1, config=tiny)
    (tiny.corpus_dir / "tiny.txt").write_text(TEXT.replace("約300名", "約999名"), encoding="utf-8")
    build_index(tiny, FakeEmbedder())  # as another process's `qa index` would
    assert "約999名" in qa.search("派遣", k=1, config=tiny)[0].text


def test_refresh_in_the_background_switches_whole_parts(tiny):
    pipeline = Pipeline.load(tiny, FakeEmbedder(), build_missing=True)
    old = pipeline.parts
    assert not pipeline.corpus_ahead()
    (tiny.corpus_dir / "tiny.txt").write_text(TEXT.replace("約300名", "約999名"), encoding="utf-8")
    assert pipeline.corpus_ahead()  # the page can say the index is behind
    build_index(tiny, FakeEmbedder())
    pipeline.refresh(background=True)
    for _ in range(200):
        if pipeline.parts is not old:
            break
        __import__("time").sleep(0.05)
    assert pipeline.parts is not old and pipeline.parts.store is not old.store
    assert "約999名" in pipeline.search("派遣", k=1)[0].text
    assert not pipeline.corpus_ahead()
    assert old.retriever.search("派遣", k=1)[0].text.count("約300名") == 1  # the old parts still answer whole


def test_a_damaged_new_build_keeps_the_old_one_answering(tiny, caplog):
    pipeline = Pipeline.load(tiny, FakeEmbedder(), build_missing=True)
    path = build_index(tiny, FakeEmbedder())
    (path / "vectors.npy").write_bytes(b"garbage")
    assert pipeline.refresh() is False
    assert "could not be loaded" in caplog.text
    assert pipeline.search("派遣", k=1)


def test_every_quote_is_verbatim_in_a_cited_passage_over_the_gold_set(fake_pipeline):
    """Property over all gold questions (175) with the fake embedder: whatever is
    chosen, a quote's text occurs in the passage its citation number names, and the
    rendered answer is exactly the quotes with their markers."""
    config = fake_pipeline.config
    items = load_gold(REPO / "eval" / "gold.jsonl", load_corpus(config.corpus_dir, config.root))
    assert len(items) >= 175
    for it in items:
        answer = fake_pipeline.ask(it.question)
        assert answer.abstained == (not answer.quotes)
        for q in answer.quotes:
            assert 1 <= q.citation <= len(answer.citations)
            assert q.text in answer.citations[q.citation - 1].text, (it.id, q)
            if q.span:
                assert 0 <= q.span[0] < q.span[1] <= len(q.text)
        assert answer.answer == ("\n".join(f"{q.text} [{q.citation}]" for q in answer.quotes) or answer.answer)
        json.dumps(answer.to_dict(), ensure_ascii=False)


def test_pipeline_accepts_another_store(fake_pipeline):
    """Retrieval and answering see only the store interface: a wrapper store works."""

    class Counting:
        def __init__(self, inner):
            self.inner, self.calls = inner, []

        def __getattr__(self, name):
            self.calls.append(name)
            return getattr(self.inner, name)

        def __len__(self):  # dunders are looked up on the class, not through __getattr__
            return len(self.inner)

    store = Counting(fake_pipeline.store)
    other = Pipeline(fake_pipeline.config, fake_pipeline.embedder, store=store)
    assert other.ask("SATREPSの実施国数は？").citations
    assert {"dense_search", "lexical_search", "piece_scores", "chunk", "doc_freq"} <= set(store.calls)


def test_config_sections_and_with_():
    c = Config(root="/tmp/x").with_(model="m", pool=7, abstain_cosine=0.5)
    assert (c.index.model, c.retrieval.pool, c.answer.abstain_cosine) == ("m", 7, 0.5)
    assert "model" in c.index_settings() and "pool" not in c.index_settings()
    with pytest.raises(TypeError, match="unknown setting"):
        c.with_(api_key="secret")
    assert not any("key" in k or "password" in k for section in c.asdict().values() if isinstance(section, dict)
                   for k in section)


def test_make_project_helper_is_shared(tmp_path):
    pipeline = fake_pipeline_for(make_project(tmp_path))
    assert len(pipeline.store) > 100
