"""Retrieval: BM25 on Japanese terms, fusion, document filters, query hygiene."""

import pytest

from conftest import REPO
from qa.errors import InputError
from qa.retrieve import prepare_query


@pytest.mark.parametrize(
    "term, slide",
    [("SATREPS", 16), ("NSPM-33", 8), ("CRAFT", 2), ("ＳＡＴＲＥＰＳ", 16), ("ｎｓｐｍ－３３", 8), ("ERIA", 19), ("FMSTAN", 23)],
)
def test_bm25_alone_finds_rare_terms_at_rank_1(fake_answerer, term, slide):
    hits = fake_answerer.retriever.search(term, k=3, mode="bm25")  # BM25 does not use the embedder
    assert hits[0].slide == slide


def test_modes_and_ranks(fake_answerer):
    r = fake_answerer.retriever
    for mode in ("hybrid", "dense", "bm25"):
        hits = r.search("グローバル・サウスとの人材交流", k=4, mode=mode)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    with pytest.raises(InputError, match="unknown search mode"):
        r.search("x", mode="magic")


def test_document_filter(fake_answerer):
    r = fake_answerer.retriever
    doc = r.store.documents()[0]["doc_id"]
    assert all(h.doc_id == doc for h in r.search("SATREPS", k=5, docs=[doc]))
    with pytest.raises(InputError, match="unknown document id.*qa docs"):
        r.search("SATREPS", docs=["no-such-doc"])


def test_hits_point_at_their_source_text(fake_answerer):
    for h in fake_answerer.retriever.search("海外特別研究員事業", k=5):
        raw = (REPO / h.source).read_text(encoding="utf-8")[h.start : h.end]
        assert raw.strip() and h.slide >= 1 and h.title


@pytest.mark.parametrize(
    "raw, query",
    [("  WPIの\t比率は？\n", "WPIの 比率は？"), ("SATREPS\x00の\x07実施国", "SATREPS の 実施国"), ("あ" * 2000, "あ" * 2000)],
)
def test_prepare_query(raw, query):
    assert prepare_query(raw, 2000) == query


@pytest.mark.parametrize("raw, message", [("", "empty"), (" \n\t", "empty"), ("？！…", "no words"),
                                          ("あ" * 2001, "2,001 characters long; the limit is 2,000")])
def test_prepare_query_refuses(raw, message):
    with pytest.raises(InputError, match=message):
        prepare_query(raw, 2000)


def test_document_filter_is_pushed_down(fake_pipeline):
    """A filter limits each search itself: with k as large as the corpus, only the
    chosen document's chunks come back, and no more than it has."""
    store = fake_pipeline.store
    doc = store.documents()[0]
    n = doc["end_row"] - doc["first_row"]
    hits = store.dense_search(fake_pipeline.embedder.embed_queries(["SATREPS"])[0], 10_000, docs=[doc["doc_id"]])
    assert 0 < len(hits) <= n
    assert len(store.lexical_search(["SATREPS"], 10_000, docs=[doc["doc_id"]])) <= n


def test_pieces_are_scored_for_candidates_only(fake_pipeline):
    store = fake_pipeline.store
    calls = []
    real = store.piece_scores
    store.piece_scores = lambda qvec, ids: calls.append(list(ids)) or real(qvec, ids)
    try:
        fake_pipeline.retriever.search("SATREPSの実施国数", k=3)
    finally:
        del store.piece_scores
    assert len(calls) == 1 and 0 < len(calls[0]) <= 2 * fake_pipeline.config.retrieval.pool < len(store)


@pytest.mark.slow
def test_fusion_beats_each_retriever_alone_on_dev(real_pipeline):
    from qa.corpus import load_corpus
    from qa.eval.gold import load_gold
    from qa.eval.suite import run_suite

    config = real_pipeline.config
    items = [it for it in load_gold(REPO / "eval" / "gold.jsonl", load_corpus(config.corpus_dir, config.root))
             if it.split == "dev"]
    systems = run_suite(real_pipeline, items, systems=("bm25", "dense", "hybrid"))["systems"]
    mrr = {name: s["passage"]["mrr@10"] for name, s in systems.items()}
    assert mrr["hybrid"] > mrr["bm25"] and mrr["hybrid"] > mrr["dense"], mrr
