"""`qa eval`: run every system over the gold items in one process and score them.

Systems: `bm25`, `dense` and `hybrid` answer with that retriever; `full` is the
hybrid retriever with answer-aware ranking (the passages holding the chosen answer
first): the default product. These four use the same hand-calibrated extractor and
abstention rule, so their numbers are side by side on equal terms; `full` adds the
reader's short answer and calibrated confidence when it is loaded. `reader` is
`full`'s retrieval with the learned reader also choosing the answer and whether to
abstain (present when the reader is loaded)."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

from qa.config import Config
from qa.corpus import load_corpus

from . import metrics
from .gold import Item, load_gold

log = logging.getLogger(__name__)

SYSTEMS = ("bm25", "dense", "hybrid", "full", "reader")
ROLES = {"full": "span", "reader": "answer"}  # what the reader decides in each system (others: nothing)
DEPTH = 10


def run_suite(pipeline, items: list[Item], systems=SYSTEMS, progress: bool = False) -> dict:
    """Every number the report needs, for `items`, per system and per kind."""
    store, answerer, retriever = pipeline.store, pipeline.answerer, pipeline.retriever
    config = pipeline.config
    docs = {d.doc_id: d for d in load_corpus(config.corpus_dir, config.root)}
    chunks = {c.id: c for d in store.documents() for c in store.doc_chunks(d["doc_id"])}
    raw = {c.id: docs[c.doc_id].text[c.start : c.end] if c.doc_id in docs else "" for c in chunks.values()}
    qrels, slide_qrels = {}, {}
    for it in items:
        if not it.answerable:
            continue
        rel = {c.id: 1 for c in chunks.values() if metrics.contains_evidence(raw[c.id], c.text, it.evidence)}
        in_docs = {d for d, doc in docs.items() if any(ev in doc.text for ev in it.evidence)}
        qrels[it.id] = rel or {"<no passage holds the evidence>": 1}
        slide_qrels[it.id] = {f"{d}#{s}": 1 for d in in_docs for s in it.slides} or {"<none>": 1}
    by_start = {(c.doc_id, c.start, c.end): c.id for c in chunks.values()}

    out = {"systems": {}, "items": len(items), "kinds": sorted({it.kind for it in items})}
    runs = {}
    bar = _progress(len(items) * len(systems), progress)
    systems = [s for s in systems if s != "reader" or answerer.reader is not None]
    for system in systems:
        mode = "hybrid" if system in ("full", "reader") else system
        rows, run, slide_run = [], {}, {}
        for it in items:
            started = time.perf_counter()
            trace = answerer.trace(it.question, mode, role=ROLES.get(system, "off"))
            answer, signals = trace.answer, trace.signals
            latency = time.perf_counter() - started
            order = [h.chunk_id for h in retriever.hits(it.question, DEPTH, mode)]
            if system in ("full", "reader"):  # passages reordered by how well they answer
                order = trace.ranking + [i for i in order if i not in trace.ranking]
            ranked = order[:DEPTH]
            run[it.id] = {i: float(DEPTH - r) for r, i in enumerate(ranked)}
            slide_run[it.id] = {}
            for r, i in enumerate(ranked):
                slide_run[it.id].setdefault(f"{chunks[i].doc_id}#{chunks[i].slide}", float(DEPTH - r))
            rows.append(_row(it, answer, signals, latency, raw, by_start, chunks))
            bar.update(1)
        runs[system] = run
        out["systems"][system] = _summary(rows, qrels, run, slide_qrels, slide_run, items)
        out["systems"][system]["rows"] = rows
    bar.close()
    if len(runs) >= 2 and qrels:
        out["significance"] = metrics.compare(qrels, runs, "ndcg@10")
    return out


def _row(it: Item, answer, signals, latency, raw, by_start, chunks) -> dict:
    cited = [by_start.get((p.doc_id, p.start, p.end)) for p in answer.citations]
    supports = [i is not None and metrics.contains_evidence(raw[i], chunks[i].text, it.evidence) for i in cited]
    covered = [
        any(i is not None and metrics.contains_evidence(raw[i], chunks[i].text, [ev]) for i in cited)
        for ev in it.evidence
    ]
    shown = metrics.answer_text(answer)
    return {
        "id": it.id,
        "kind": it.kind,
        "question": it.question,
        "expected": list(it.answers),
        "answerable": it.answerable,
        "abstained": answer.abstained,
        "answer": answer.answer,
        "short_answer": answer.short_answer,
        "confidence": answer.confidence,
        "cited_slides": [p.slide for p in answer.citations],
        "gold_slides": list(it.slides),
        "correct": it.answerable and not answer.abstained and metrics.answer_correct(shown, it.answers),
        "f1": metrics.char_f1(answer.short_answer or shown, it.answers) if it.answerable and not answer.abstained else 0.0,
        "citation_precision": sum(supports) / len(supports) if supports and not answer.abstained else None,
        "citation_recall": sum(covered) / len(covered) if covered and not answer.abstained else None,
        "latency_ms": round(latency * 1000, 2),
        "signals": asdict(signals) if signals is not None else None,
    }


def _summary(rows, qrels, run, slide_qrels, slide_run, items) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in answerable if not r["abstained"]]
    precisions = [r["citation_precision"] for r in answered if r["citation_precision"] is not None]
    recalls = [r["citation_recall"] for r in answered if r["citation_recall"] is not None]
    latencies = [r["latency_ms"] for r in rows]
    summary = {
        "passage": metrics.ranking(qrels, run),
        "slide": metrics.ranking(slide_qrels, slide_run),
        "answer_accuracy": _mean([r["correct"] for r in answerable]),
        "answer_f1": _mean([r["f1"] for r in answerable]),
        "citation_precision": _mean(precisions),
        "citation_recall": _mean(recalls),
        **metrics.abstention(rows),
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
    }
    recall5 = metrics.per_query(qrels, run, "recall@5") if qrels else {}
    summary["by_kind"] = {}
    for kind in sorted({r["kind"] for r in rows}):
        krows = [r for r in rows if r["kind"] == kind]
        kanswerable = [r for r in krows if r["answerable"]]
        summary["by_kind"][kind] = {
            "n": len(krows),
            "answer_accuracy": _mean([r["correct"] for r in kanswerable]),
            "passage_recall@5": _mean([recall5[r["id"]] for r in kanswerable if r["id"] in recall5]),
            "abstained": _mean([r["abstained"] for r in krows]),
        }
    return summary


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="eval", unit="q")


def run_cli(args, config: Config) -> int:
    from qa.pipeline import Pipeline

    from .report import print_table, write_outputs

    if args.rc:
        return _reading_comprehension(args.rc)

    docs = load_corpus(config.corpus_dir, config.root)
    gold = Path(args.gold) if args.gold else config.root / "eval" / "gold.jsonl"
    items = load_gold(gold, docs)
    if args.split != "all":
        items = [it for it in items if it.split == args.split]
    systems = tuple(s.strip() for s in args.systems.split(",")) if args.systems else SYSTEMS
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        from qa.errors import InputError

        raise InputError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    pipeline = Pipeline.load(config)
    results = run_suite(pipeline, items, systems, progress=True)
    results["split"], results["gold"] = args.split, str(gold)
    results["config"] = config.asdict()
    results["index"] = {k: pipeline.store.manifest.get(k) for k in ("model", "chunk_count", "corpus_sha256", "built_at")}
    out_dir = Path(args.out) if args.out else config.root / "eval" / "results"
    paths = write_outputs(results, out_dir)
    print_table(results)
    for p in paths:
        print(f"wrote {p}")
    return 0


BERT_JAQUAD_DEV = {"em": 0.6101, "f1": 0.7735}  # published baseline (JaQuAD README), BERT-Japanese


def _reading_comprehension(data_dir: str) -> int:
    """EM/F1 of the reader on JaQuAD dev with the gold paragraph given."""
    from qa.errors import InputError
    from qa.reader import Reader

    from .rc import eval_rc

    if not list(Path(data_dir).glob("*.json")):
        raise InputError(f"no JaQuAD files (*.json) in {data_dir}; pass the data/dev folder of the JaQuAD repository")
    got = eval_rc(data_dir, Reader.load())
    print("| model | questions | EM | F1 |\n|---|---|---|---|")
    print(f"| this reader (e5-small, top 6 layers tuned; reads by {got['select']}) | {got['n']} | {got['em']:.3f} | {got['f1']:.3f} |")
    print(f"| BERT-Japanese baseline (published) | 3939 | {BERT_JAQUAD_DEV['em']:.3f} | {BERT_JAQUAD_DEV['f1']:.3f} |")
    return 0
