"""Eval outputs: a terminal table, JSON with every number, a markdown report with
the failing questions, and a PNG chart."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

COLUMNS = (
    ("P@H1", lambda s: s["passage"]["hit_rate@1"]),
    ("P@H5", lambda s: s["passage"]["hit_rate@5"]),
    ("P@R1", lambda s: s["passage"]["recall@1"]),
    ("P@R5", lambda s: s["passage"]["recall@5"]),
    ("P@R10", lambda s: s["passage"]["recall@10"]),
    ("MRR10", lambda s: s["passage"]["mrr@10"]),
    ("nDCG10", lambda s: s["passage"]["ndcg@10"]),
    ("S@R1", lambda s: s["slide"]["recall@1"]),
    ("S@R5", lambda s: s["slide"]["recall@5"]),
    ("Acc", lambda s: s["answer_accuracy"]),
    ("F1", lambda s: s["answer_f1"]),
    ("CitP", lambda s: s["citation_precision"]),
    ("CitR", lambda s: s["citation_recall"]),
    ("AbsP", lambda s: s["abstain_precision"]),
    ("AbsR", lambda s: s["abstain_recall"]),
    ("FalseAbs", lambda s: s["false_abstention"]),
    ("p50ms", lambda s: s["latency_p50_ms"]),
    ("p95ms", lambda s: s["latency_p95_ms"]),
)
LEGEND = (
    "P@Hk: share of questions with a passage holding an evidence string in the top k; "
    "P@Rk: passage recall@k (share of such passages found); S@Rk: slide recall@k; "
    "Acc: answer accuracy; F1: character F1; CitP/CitR: citation precision/recall; "
    "AbsP/AbsR: abstention precision/recall on unanswerable items; FalseAbs: abstentions on answerable items"
)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}" if value >= 10 else f"{value:.3f}"


def table_lines(results: dict) -> list[str]:
    head = ["system"] + [c for c, _ in COLUMNS]
    rows = [[name] + [_fmt(f(s)) for _, f in COLUMNS] for name, s in results["systems"].items()]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in rows]
    return lines


def kind_lines(results: dict) -> list[str]:
    systems = list(results["systems"])
    kinds = results["kinds"]
    lines = ["| kind | n | " + " | ".join(f"{s} Acc | {s} P@R5" for s in systems) + " |"]
    lines.append("|---|---|" + "---|---|" * len(systems))
    for kind in kinds:
        first = results["systems"][systems[0]]["by_kind"][kind]
        cells = []
        for s in systems:
            k = results["systems"][s]["by_kind"][kind]
            if kind == "unanswerable":
                cells += [f"abstained {_fmt(k['abstained'])}", "-"]
            else:
                cells += [_fmt(k["answer_accuracy"]), _fmt(k["passage_recall@5"])]
        lines.append(f"| {kind} | {first['n']} | " + " | ".join(cells) + " |")
    return lines


def print_table(results: dict) -> None:
    print(f"\n{results['items']} items, split {results.get('split', '?')}")
    print("\n".join(table_lines(results)))
    print()
    print("\n".join(kind_lines(results)))
    sig = results.get("significance")
    if sig:
        print(f"\n{sig['best']} vs {sig['second']} on {sig['metric']}: paired t-test p = {sig['p_value']:.4f}")
    print(LEGEND)


def _failures(results: dict) -> list[dict]:
    system = next((s for s in ("reader", "full") if s in results["systems"]), next(iter(results["systems"])))
    out = []
    for r in results["systems"][system]["rows"]:
        failed = (r["answerable"] and not r["correct"]) or (not r["answerable"] and not r["abstained"])
        if failed:
            out.append(r)
    return out


def write_outputs(results: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(_markdown(results, f"{stamp}.png"), encoding="utf-8")
    png_path = out_dir / f"{stamp}.png"
    write_chart(results, png_path)
    return [json_path, md_path, png_path]


def _markdown(results: dict, chart: str) -> str:
    lines = [f"# Eval report: {results['items']} items, split `{results.get('split', '?')}`", ""]
    index = results.get("index") or {}
    if index:
        lines += [f"Index: model `{index.get('model')}`, {index.get('chunk_count')} chunks, built {index.get('built_at')}.", ""]
    lines += table_lines(results) + ["", LEGEND, "", f"![metrics]({chart})", "", "## By kind", ""]
    lines += kind_lines(results)
    sig = results.get("significance")
    if sig:
        lines += ["", f"Paired t-test on {sig['metric']} between `{sig['best']}` and `{sig['second']}`: p = {sig['p_value']:.4f}."]
    failures = _failures(results)
    lines += ["", f"## Failing questions ({len(failures)}, full pipeline)", ""]
    lines += ["| id | kind | question | expected | got | cited slides | gold slides |", "|---|---|---|---|---|---|---|"]
    for r in failures:
        got = "(abstained)" if r["abstained"] else r["answer"]
        cells = [r["id"], r["kind"], r["question"], " / ".join(r["expected"]) or "(unanswerable)",
                 got, ", ".join(map(str, r["cited_slides"])), ", ".join(map(str, r["gold_slides"]))]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(results["systems"])
    picks = [("passage recall@1", lambda s: s["passage"]["recall@1"]),
             ("passage recall@5", lambda s: s["passage"]["recall@5"]),
             ("answer accuracy", lambda s: s["answer_accuracy"]),
             ("citation precision", lambda s: s["citation_precision"]),
             ("abstention recall", lambda s: s["abstain_recall"]),
             ("false abstention", lambda s: s["false_abstention"])]
    kinds = [k for k in results["kinds"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5))
    width = 0.8 / max(1, len(systems))
    for i, name in enumerate(systems):
        s = results["systems"][name]
        values = [_num(f(s)) for _, f in picks]
        left.bar([x + i * width for x in range(len(picks))], values, width, label=name)
        kvalues = [_num(s["by_kind"][k]["abstained"] if k == "unanswerable" else s["by_kind"][k]["answer_accuracy"])
                   for k in kinds]
        right.bar([x + i * width for x in range(len(kinds))], kvalues, width, label=name)
    left.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(picks))], [p for p, _ in picks], rotation=20)
    left.set_title("Metrics by system")
    right.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(kinds))],
                     [k if k != "unanswerable" else "unanswerable\n(abstained)" for k in kinds], rotation=20)
    right.set_title("Answer accuracy by question kind")
    for ax in (left, right):
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    left.legend(loc="upper right", fontsize=8, ncol=len(systems))
    fig.suptitle(f"qa eval: {results['items']} items, split {results.get('split', '?')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _num(v) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
