"""An independent check on Wikipedia prose: JaQuAD validation articles as a corpus.

    python scripts/prose_check.py --jaquad /path/to/JaQuAD/data/dev [--articles 12] [--questions 200]

Writes the first N validation articles as documents (one "# title" slide each,
paragraphs as written), indexes them with the real pipeline, asks their questions,
and prints per system: passage hit@1/@5 (a returned passage covers the answer's
position in the file), answer accuracy (the quoted text holds the gold answer),
short-answer EM/F1, median quote length and abstentions (every question here is
answerable), beside BM25 over whole paragraphs. Run with --max-tokens 400 to see
what chunks that split paragraphs cost. The data stays outside the repository.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path


def write_corpus(dev: Path, root: Path, n_articles: int) -> list[dict]:
    """The articles as corpus files; each question with the file offset of its answer."""
    (root / "corpus").mkdir(parents=True)
    questions = []
    articles = [a for f in sorted(dev.glob("*.json")) for a in json.loads(f.read_text(encoding="utf-8"))["data"]]
    for i, art in enumerate(articles[:n_articles]):
        text, doc_id = f"# {art['title']}\n\n", f"jaquad_{i:03d}"
        for para in art["paragraphs"]:
            base = len(text)
            text += para["context"].replace("\n# ", "\n＃ ") + "\n\n"
            for qa in para["qas"]:
                ans = qa["answers"][0]
                questions.append({"question": qa["question"], "answer": ans["text"], "doc_id": doc_id,
                                  "at": base + ans["answer_start"], "paragraph": para["context"]})
        (root / "corpus" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        (root / "corpus" / f"{doc_id}.json").write_text(json.dumps({"doc_id": doc_id, "title": art["title"]}, ensure_ascii=False))
    return questions


def score(pipeline, questions, role: str) -> dict:
    from qa.eval.rc import char_f1, exact_match
    from qa.tokens import squash

    h1 = h5 = right = abstained = 0
    em = f1 = 0.0
    lengths = []
    for q in questions:
        hits = pipeline.search(q["question"], 5)
        covers = [h.doc_id == q["doc_id"] and h.start <= q["at"] < h.end for h in hits]
        h1 += covers[0] if covers else 0
        h5 += any(covers)
        answer = pipeline.answerer.trace(q["question"], role=role).answer
        if answer.abstained:
            abstained += 1
            continue
        text = " ".join(x.text for x in answer.quotes)
        lengths.append(len(text))
        right += squash(q["answer"]) in squash(text)
        short = answer.short_answer or text
        em += exact_match(short, q["answer"])
        f1 += char_f1(short, q["answer"])
    n = len(questions)
    return {"hit@1": h1 / n, "hit@5": h5 / n, "accuracy": right / n, "short EM": em / n, "short F1": f1 / n,
            "median quote chars": statistics.median(lengths) if lengths else 0, "abstained": abstained / n}


def bm25_paragraphs(questions) -> dict:
    """BM25 over whole paragraphs (the naive baseline): is the answer's paragraph in the top k?"""
    import bm25s

    from qa.tokens import terms

    paragraphs = list(dict.fromkeys(q["paragraph"] for q in questions))
    bm25 = bm25s.BM25()
    bm25.index([terms(p) or [""] for p in paragraphs], show_progress=False)
    h1 = h5 = 0
    for q in questions:
        words = [w for w in terms(q["question"]) if w in bm25.vocab_dict]
        scores = bm25.get_scores(words) if words else [0.0] * len(paragraphs)
        top = sorted(range(len(paragraphs)), key=lambda i: -scores[i])[:5]
        gold = paragraphs.index(q["paragraph"])
        h1 += top[0] == gold
        h5 += gold in top
    return {"hit@1": h1 / len(questions), "hit@5": h5 / len(questions)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jaquad", required=True, help="JaQuAD's data/dev folder")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=150)
    args = parser.parse_args()
    from qa.config import Config
    from qa.pipeline import Pipeline

    root = Path(tempfile.mkdtemp(prefix="qa-prose-"))
    try:
        questions = write_corpus(Path(args.jaquad), root, args.articles)
        step = max(1, len(questions) // args.questions)
        questions = questions[::step][: args.questions]
        config = Config(root=root).with_(max_tokens=args.max_tokens)
        pipeline = Pipeline.load(config, build_missing=True)
        manifest = pipeline.store.manifest
        print(f"{args.articles} articles, {manifest['chunk_count']} chunks (max_tokens {args.max_tokens}), "
              f"{len(questions)} questions")
        rows = {"BM25 over paragraphs": bm25_paragraphs(questions),
                "rule (no reader)": score(pipeline, questions, "off")}
        if pipeline.reader is not None:
            rows["rule + reader spans (default)"] = score(pipeline, questions, "span")
            rows["reader answers"] = score(pipeline, questions, "answer")
        cols = ["hit@1", "hit@5", "accuracy", "short EM", "short F1", "median quote chars", "abstained"]
        print("| system | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
        for name, r in rows.items():
            print(f"| {name} | " + " | ".join(f"{r[c]:.3f}" if c in r and c != "median quote chars"
                                             else (f"{r[c]:.0f}" if c in r else "") for c in cols) + " |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
