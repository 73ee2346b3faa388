"""Retrieval: BM25 on Japanese terms, fusion, document filters, query hygiene."""

import pytest

from conftest import REPO
from qa.errors import InputError
from qa.search import prepare_query


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
    doc = r.index.chunks[0].doc_id
    assert all(h.doc_id == doc for h in r.search("SATREPS", k=5, docs=[doc]))
    with pytest.raises(InputError, match="unknown document id.*qa docs"):
        r.search("SATREPS", docs=["no-such-doc"])


def test_hits_point_at_their_source_text(fake_answerer):
    for h in fake_answerer.retriever.search("海外特別研究員事業", k=5):
        raw = (REPO / h.source).read_text(encoding="utf-8")[h.start : h.end]
        assert raw.strip() and h.slide >= 1 and h.title


@pytest.mark.parametrize(
    "raw, query, notice",
    [
        ("  WPIの\t比率は？\n", "WPIの 比率は？", ""),
        ("SATREPS\x00の\x07実施国", "SATREPS の 実施国", ""),
        ("あ" * 2500, "あ" * 2000, "2,500 characters long"),
    ],
)
def test_prepare_query(raw, query, notice):
    got, note = prepare_query(raw, 2000)
    assert got == query and notice in note and bool(note) == bool(notice)


@pytest.mark.slow
def test_fusion_beats_each_retriever_alone_on_dev(real_answerer):
    from qa.corpus import load_corpus
    from qa.eval.gold import load_gold
    from qa.eval.suite import run_suite

    config = real_answerer.config
    items = [it for it in load_gold(REPO / "eval" / "gold.jsonl", load_corpus(config.corpus_dir, config.root))
             if it.split == "dev"]
    systems = run_suite(real_answerer, items, systems=("bm25", "dense", "hybrid"))["systems"]
    mrr = {name: s["passage"]["mrr@10"] for name, s in systems.items()}
    assert mrr["hybrid"] > mrr["bm25"] and mrr["hybrid"] > mrr["dense"], mrr
