"""The `qa` command. Thin: parse, call the library, print. Errors become one clean
line on standard error (exit 2 for bad input, 1 otherwise)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from . import __version__
from .config import Config
from .errors import InputError, QAError

log = logging.getLogger("qa")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="qa: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    config = Config(root=args.root) if args.root else Config()
    if args.model:
        config = config.with_(model=args.model)
    try:
        return args.run(args, config) or 0
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Answers questions from the documents in corpus/, citing slides.")
    p.add_argument("--version", action="version", version=f"qa {__version__}")
    p.add_argument("--root", help="project folder holding corpus/ and index/ (default: this checkout, or $QA_ROOT)")
    p.add_argument("--model", help="sentence-transformers model name or path (default: the offline multilingual-e5-small)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("model", help="build the default embedding model into the cache")
    s.set_defaults(run=_model)

    s = sub.add_parser("index", help="build or rebuild the index from corpus/")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=_index)

    for name, helptext in (("search", "find passages"), ("ask", "answer a question with citations")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("text", metavar="QUERY", help="the query, or - to read one per line from standard input")
        s.add_argument("--json", action="store_true", help="print JSON (JSON Lines with -)")
        s.add_argument("--mode", default="hybrid", choices=("hybrid", "dense", "bm25"), help="retriever (default hybrid)")
        s.add_argument("--doc", action="append", metavar="DOC_ID", help="only this document (repeatable)")
        if name == "search":
            s.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
        s.set_defaults(run=_query, command=name)

    s = sub.add_parser("add", help="bring PDF, markdown or text files (or folders of them) into corpus/")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--replace", action="store_true", help="a file replaces the document added from a file of the same name")
    s.set_defaults(run=_add)

    s = sub.add_parser("docs", help="list the documents in corpus/ and whether the index covers them")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_docs)

    s = sub.add_parser("remove", help="take a document out of corpus/")
    s.add_argument("doc_id", metavar="DOC_ID")
    s.set_defaults(run=_remove)

    s = sub.add_parser("eval", help="score the system on the gold set")
    s.add_argument("--split", default="test", choices=("dev", "test", "all"))
    s.add_argument("--gold", help="gold file, JSON Lines (default eval/gold.jsonl; format in eval/README.md); "
                   "use the global --root to score another corpus")
    s.add_argument("--out", help="folder for results (default eval/results)")
    s.add_argument("--systems", help="comma-separated systems (default bm25,dense,hybrid,full,reader)")
    s.add_argument("--rc", metavar="DIR", help="reading comprehension: the reader's EM/F1 on JaQuAD files in DIR "
                   "(the gold paragraph given), beside the published baseline")
    s.set_defaults(run=_eval)

    s = sub.add_parser("serve", help="start the chat page")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(run=_serve)
    return p


def _model(args, config: Config) -> int:
    from .embed import model_path

    print(model_path(config))
    return 0


def _index(args, config: Config) -> int:
    from .embed import load_embedder
    from .indexer import build_index
    from .store import read_manifest

    path = build_index(config, load_embedder(config), progress=not args.quiet)
    manifest = read_manifest(path)
    stats = manifest.get("build_stats", {})
    print(
        f"indexed {manifest['chunk_count']} chunks from {len(manifest['documents'])} document(s) "
        f"in {stats.get('seconds', '?')} s (embedded {stats.get('embedded', '?')}, reused {stats.get('reused', '?')}) -> {path}"
    )
    return 0


def _add(args, config: Config) -> int:
    from .ingest import add, report

    return report(add(config, args.paths, replace=args.replace))


def _docs(args, config: Config) -> int:
    from .ingest import list_docs

    docs = list_docs(config)
    if args.json:
        print(json.dumps(docs, ensure_ascii=False))
        return 0
    for d in docs:
        state = {"current": "indexed", "stale": "changed since indexing", "missing": "not indexed"}.get(d["index_state"], d["index_state"])
        print(f"{d['doc_id']}  {d['title']}  ({d['pages']} pages, {d['chunks']} chunks, {state})")
    return 0


def _remove(args, config: Config) -> int:
    from .ingest import remove

    path = remove(config, args.doc_id)
    print(f"removed {path}; run `qa index` to drop it from the index")
    return 0


def _read_stdin_lines() -> list[str]:
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"standard input is not UTF-8 text (bad byte on line {line}); save the questions as UTF-8") from None
    # Only newlines end a question: U+2028, form feeds and the like stay inside it.
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _query(args, config: Config) -> int:
    from .retrieve import prepare_query

    batch = args.text == "-"
    # An argument with bytes that are not UTF-8 arrives with lone surrogates; show them as U+FFFD.
    queries = _read_stdin_lines() if batch else [args.text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")]
    if not batch:  # check the input before paying for the model
        prepare_query(queries[0], config.retrieval.max_query_chars)
    if args.command == "search" and args.k < 1:
        raise InputError("-k must be at least 1")
    from .pipeline import Pipeline

    pipeline = Pipeline.load(config)
    status = 0
    for q in queries:
        pipeline.refresh()  # a `qa index` meanwhile: answer from the new build
        try:
            out = _run_one(pipeline, args, q)
        except InputError as exc:
            if not batch:
                raise
            status = 2
            out = {"query" if args.command == "search" else "question": q, "error": str(exc)}
            out["hits" if args.command == "search" else "citations"] = []
            print(f"qa: error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps(out, ensure_ascii=False), flush=True)
        elif "error" not in out:
            print(_plain(out, args.command, pipeline.doc_titles()), flush=True)
    return status


def _run_one(pipeline, args, q: str) -> dict:
    if args.command == "search":
        hits = pipeline.search(q, args.k, args.mode, docs=args.doc)
        return {"query": q, "hits": [h.to_dict() for h in hits]}
    return pipeline.ask(q, args.mode, docs=args.doc).to_dict()


def _plain(out: dict, command: str, doc_titles: dict[str, str] | None = None) -> str:
    """Terminal output; with several documents each citation names its document."""
    lines = []
    if command == "ask":
        if out.get("short_answer"):
            lines.append(f"回答: {out['short_answer']}  (確信度 {out['confidence']:.2f})")
        lines.append(out["answer"])
        if out.get("notice"):  # why it abstained, or how a question was read
            lines.append(out["notice"])
        if out["abstained"] and out["citations"]:
            lines.append("\n関連する箇所:")
        lines.append("")
    for p in out["hits"] if command == "search" else out["citations"]:
        doc = f"{doc_titles[p['doc_id']]} " if doc_titles and len(doc_titles) > 1 and p["doc_id"] in doc_titles else ""
        lines.append(f"[{p['rank']}] {doc}p.{p['slide']} {p['title']}  (score {p['score']:.3f})")
        lines.extend("    " + line for line in p["text"].splitlines())
    return "\n".join(lines)


def _eval(args, config: Config) -> int:
    from .eval.suite import run_cli

    return run_cli(args, config)


def _serve(args, config: Config) -> int:
    from .ui.app import serve

    return serve(config, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
