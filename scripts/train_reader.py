"""Fine-tune the reader (qa/reader.py) on JaQuAD at sentence granularity, on CPU.

    python scripts/train_reader.py --data /work/data/jaquad/data --out /work/data/reader_run --steps 2800
    python scripts/train_reader.py --out /work/data/reader_run --export qa/reader_weights/reader.safetensors
    python scripts/train_reader.py --data /work/data/jaquad/data --eval-rc [--weights PATH]
    python scripts/train_reader.py --out RUN2 --init RUN/best.pt --shared-norm 4 --rc-questions 400 ...

--shared-norm G adds, at every step, G questions read against all sentences of their
paragraph with one softmax over all their tokens (shared normalisation), so that span
scores rank sentences, as read_paragraph and the RC evaluation use them. --windows W adds
W questions read against a run of whole sentences around the answer, up to
qa.reader.PARA_LEN tokens, for read_paragraph(select="whole"); --rc-select whole scores that.

Training resumes from the latest checkpoint in --out. Every --eval-every steps it scores a
fixed dev sample (span EM/F1 inside the positive sentence, answerable-vs-negative ROC AUC,
dev loss) and appends one JSON line to out/log.jsonl. The best checkpoint by dev F1+AUC is
kept as out/best.pt. JaQuAD (CC BY-SA 3.0, Skelter Labs, arXiv:2202.01764) is read from
--data and never copied.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa import reader as R  # noqa: E402
from qa.eval import rc  # noqa: E402

DATA_VERSION = 2  # bump when example building changes (invalidates the cached examples)


# --------------------------------------------------------------------------- data


def load_split(folder: Path) -> list[dict]:
    arts = []
    for f in sorted(folder.glob("*.json")):
        arts.extend(json.loads(f.read_text(encoding="utf-8"))["data"])
    return arts


_NUM = re.compile(r"[0-9０-９]+(?:[.,．][0-9０-９]+)*(?:年|月|日|世紀|人|名|歳|回|位|%|％|km|m|点|個|本|枚|万|億|代)?")


def _num_kind(s: str) -> str:
    """Numbers are swapped only for numbers with the same unit and as many digits."""
    m = re.search(r"[^0-9０-９.,．]+$", s)
    digits = sum(ch.isdigit() for ch in s)
    return f"num:{m.group(0) if m else ''}:{digits}"


class Tagger:
    def __init__(self):
        import fugashi

        self.t = fugashi.Tagger()

    def proper_nouns(self, text: str) -> list[tuple[str, str]]:
        out = []
        for w in self.t(text):
            f = w.feature
            if getattr(f, "pos2", None) == "固有名詞" and len(w.surface) >= 2:
                out.append((w.surface, "ent:" + (f.pos3 or "")))
        return out


def items_of(text: str, tagger: Tagger) -> list[tuple[str, str]]:
    """(surface, kind) of numbers/dates and proper nouns in text."""
    found = [(m.group(0), _num_kind(m.group(0))) for m in _NUM.finditer(text)]
    found += tagger.proper_nouns(text)
    return found


def perturb(question: str, piece: str, pool: dict[str, list[str]], rng: random.Random, tagger: Tagger) -> str | None:
    """The question with one number/date/entity that the piece contains swapped for another of the
    same kind from the article that the piece does not contain; None when nothing fits."""
    cands = [(s, k) for s, k in items_of(question, tagger) if s in piece]
    rng.shuffle(cands)
    for surface, kind in cands:
        options = [o for o in pool.get(kind, ()) if o != surface and o not in piece and surface not in o and o not in surface]
        if options:
            new = rng.choice(options)
            return question.replace(surface, new, 1)
    return None


def sentence_of(spans, a, b):
    """Union of the sentence spans overlapping [a, b)."""
    hit = [(s, e) for s, e in spans if s < b and e > a]
    if not hit:
        return None
    return min(s for s, _ in hit), max(e for _, e in hit)


def build_examples(arts: list[dict], seed: int, max_questions: int | None = None, p_para: float = 0.05) -> list[dict]:
    """Examples: dict(q, ctx, piece, ans=(a, b) | None, kind)."""
    rng = random.Random(seed)
    tagger = Tagger()
    out = []
    nq = 0
    for art in arts:
        title = art["title"]
        paras = [p["context"] for p in art["paragraphs"]]
        sents = [R.split_sentences(p) for p in paras]
        pool: dict[str, set] = {}
        for p in paras:
            for s, k in items_of(p, tagger):
                pool.setdefault(k, set()).add(s)
        pool_l = {k: sorted(v) for k, v in pool.items()}
        for pi, para in enumerate(art["paragraphs"]):
            ctx = para["context"]
            for qa in para["qas"]:
                if max_questions is not None and nq >= max_questions:
                    return out
                ans = qa["answers"][0]
                a = ans["answer_start"]
                b = a + len(ans["text"])
                if ctx[a:b] != ans["text"]:
                    continue
                span = sentence_of(sents[pi], a, b)
                if span is None:
                    continue
                nq += 1
                s, e = span
                piece = ctx[s:e]
                q = qa["question"]
                text = ans["text"]
                out.append(dict(q=q, ctx=title, piece=piece, ans=(a - s, b - s), kind="pos", qid=qa["id"]))
                # a wider piece: the answer sentence with a neighbour (multi-sentence pieces, table rows ...)
                if rng.random() < 0.15:
                    idx = [i for i, (x, y) in enumerate(sents[pi]) if x == s or y == e]
                    if idx:
                        j = idx[0] - 1 if rng.random() < 0.5 else idx[-1] + 1
                        if 0 <= j < len(sents[pi]):
                            ws, we = min(s, sents[pi][j][0]), max(e, sents[pi][j][1])
                            if we - ws <= 220:
                                out.append(dict(q=q, ctx=title, piece=ctx[ws:we], ans=(a - ws, b - ws), kind="pos_wide", qid=qa["id"]))
                if len(ctx) <= 160 and rng.random() < p_para * 4 or rng.random() < p_para and len(ctx) <= 300:
                    out.append(dict(q=q, ctx=title, piece=ctx, ans=(a, b), kind="pos_para", qid=qa["id"]))
                # negatives
                same = [ctx[x:y] for x, y in sents[pi] if (y <= s or x >= e) and text not in ctx[x:y] and y - x >= 8]
                if same and rng.random() < 0.55:
                    out.append(dict(q=q, ctx=title, piece=rng.choice(same), ans=None, kind="neg_same", qid=qa["id"]))
                others = [i for i in range(len(paras)) if i != pi]
                if others and rng.random() < 0.45:
                    oi = rng.choice(others)
                    cand = [paras[oi][x:y] for x, y in sents[oi] if text not in paras[oi][x:y] and y - x >= 8]
                    if cand:
                        out.append(dict(q=q, ctx=title, piece=rng.choice(cand), ans=None, kind="neg_other", qid=qa["id"]))
                if rng.random() < 0.8:
                    pq = perturb(q, piece, pool_l, rng, tagger)
                    if pq:
                        out.append(dict(q=pq, ctx=title, piece=piece, ans=None, kind="neg_perturbed", qid=qa["id"]))
    return out


def answered(arts: list[dict]):
    """(article, paragraph index, question, answer start, end) for every question whose
    first answer is found where it says in its paragraph."""
    for art in arts:
        for pi, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                ans = qa["answers"][0]
                a, b = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                if para["context"][a:b] == ans["text"]:
                    yield art, pi, qa["question"], a, b


def build_groups(arts: list[dict], seed: int, n: int, max_pieces: int = 10) -> list[list[dict]]:
    """For shared normalisation: `n` random questions, each with every sentence of its
    paragraph (at most `max_pieces`, the answer's among them) as one group of examples."""
    rng = random.Random(seed)
    found = []
    for art, pi, q, a, b in answered(arts):
        ctx = art["paragraphs"][pi]["context"]
        spans = R.split_sentences(ctx)
        gold = [i for i, (x, y) in enumerate(spans) if x <= a and b <= y]
        if len(spans) > 1 and gold:
            found.append((art["title"], ctx, spans, gold[0], q, a, b))
    rng.shuffle(found)
    groups = []
    for title, ctx, spans, g, q, a, b in found[:n]:
        keep = [i for i in range(len(spans)) if i != g]
        keep = sorted(rng.sample(keep, min(len(keep), max_pieces - 1)) + [g])
        groups.append([dict(q=q, ctx=title, piece=ctx[x:y], ans=(a - x, b - x) if i == g else None, kind="group")
                       for i, (x, y) in ((i, spans[i]) for i in keep)])
    return groups


def build_windows(arts: list[dict], seed: int, n: int, max_chars: int = 420, p_neg: float = 0.25) -> list[dict]:
    """For reading whole windows (select="whole"): `n` random questions, each against a run
    of whole sentences around its answer of at most `max_chars` (the whole paragraph when it
    fits); with probability `p_neg` instead a run from another paragraph of the article."""
    rng = random.Random(seed)

    def run_around(spans, g):
        starts = [i for i in range(g + 1) if spans[g][1] - spans[i][0] <= max_chars] or [g]
        i = rng.choice(starts)
        j = g
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= max_chars:
            j += 1
        return spans[i][0], spans[j][1]

    found = list(answered(arts))
    rng.shuffle(found)
    out = []
    for art, pi, q, a, b in found[:n]:
        title, paras = art["title"], [p["context"] for p in art["paragraphs"]]
        others = [i for i in range(len(paras)) if i != pi]
        if others and rng.random() < p_neg:
            ctx = paras[rng.choice(others)]
            spans = R.split_sentences(ctx) or [(0, len(ctx))]
            x, y = run_around(spans, rng.randrange(len(spans)))
            if ctx[x:y].find(paras[pi][a:b]) < 0:
                out.append(dict(q=q, ctx=title, piece=ctx[x:y], ans=None, kind="win_neg"))
                continue
        ctx = paras[pi]
        spans = R.split_sentences(ctx)
        gold = [i for i, (x, y) in enumerate(spans) if x <= a and b <= y]
        if not gold:
            continue
        x, y = run_around(spans, gold[0])
        out.append(dict(q=q, ctx=title, piece=ctx[x:y], ans=(a - x, b - x), kind="win"))
    return out


def featurize_groups(tok, groups: list[list[dict]]) -> list[list[dict]]:
    """Featurized groups; a group whose answer was truncated away is dropped."""
    for k, grp in enumerate(groups):
        for ex in grp:
            ex["group"] = k
    by_group: dict[int, list[dict]] = {}
    for f in featurize(tok, [ex for grp in groups for ex in grp]):
        by_group.setdefault(f["ex"]["group"], []).append(f)
    return [fs for fs in by_group.values() if sum(f["label"] for f in fs) == 1 and len(fs) > 1]


def featurize(tok, examples: list[dict]) -> list[dict]:
    """Token ids + span targets (token positions; 0 = <s> for unanswerable). Drops truncated answers."""
    feats = []
    B = 512
    for k in range(0, len(examples), B):
        chunk = examples[k : k + B]
        qs = [R.clip_question(tok, ex["q"]) for ex in chunk]
        seconds = [R.second_segment(ex["ctx"], ex["piece"]) for ex in chunk]
        encs = tok.encode_batch([(q, s) for q, (s, _) in zip(qs, seconds)])
        for ex, enc, (_, start) in zip(chunk, encs, seconds):
            piece_tok = [j for j, (sq, (x, y)) in enumerate(zip(enc.sequence_ids, enc.offsets)) if sq == 1 and y > x and x >= start]
            if not piece_tok:
                continue
            st = en = 0
            if ex["ans"] is not None:
                a, b = ex["ans"][0] + start, ex["ans"][1] + start
                st = next((j for j in piece_tok if enc.offsets[j][1] > a), None)
                en = next((j for j in reversed(piece_tok) if enc.offsets[j][0] < b), None)
                if st is None or en is None or en < st or enc.offsets[en][1] < b or enc.offsets[st][0] > a:
                    continue  # the answer was truncated away
            feats.append(dict(ids=enc.ids, piece_tok=(piece_tok[0], piece_tok[-1]), start_pos=st, end_pos=en,
                              label=int(ex["ans"] is not None), kind=ex["kind"], ex=ex,
                              offsets=[(x - start, y - start) for (x, y) in enc.offsets]))
    return feats


def tensors(feats: list[dict]):
    n, length = len(feats), max(len(f["ids"]) for f in feats)
    ids = torch.full((n, length), 1, dtype=torch.long)
    att = torch.zeros((n, length), dtype=torch.long)
    piece = torch.zeros((n, length), dtype=torch.bool)
    for i, f in enumerate(feats):
        k = len(f["ids"])
        ids[i, :k] = torch.tensor(f["ids"])
        att[i, :k] = 1
        a, b = f["piece_tok"]
        piece[i, a : b + 1] = True
    piece &= att.bool()
    st = torch.tensor([f["start_pos"] for f in feats])
    en = torch.tensor([f["end_pos"] for f in feats])
    lab = torch.tensor([float(f["label"]) for f in feats])
    return ids, att, piece, st, en, lab


def losses(cls, start, end, piece, st, en, lab, w_span=0.5):
    allowed = piece.clone()
    allowed[:, 0] = True  # <s> stands for "no span"
    neg = torch.finfo(start.dtype).min / 4
    s = start.masked_fill(~allowed, neg)
    e = end.masked_fill(~allowed, neg)
    span = F.cross_entropy(s, st) + F.cross_entropy(e, en)
    bce = F.binary_cross_entropy_with_logits(cls, lab)
    return w_span * span + bce, span, bce


def shared_norm_loss(start, end, piece, sizes: list[int], st, en):
    """Start and end cross-entropy normalised over all piece tokens of a group (the
    sentences of one paragraph for one question), so that span scores rank sentences."""
    neg = torch.finfo(start.dtype).min / 4
    s = start.masked_fill(~piece, neg)
    e = end.masked_fill(~piece, neg)
    width = s.shape[1]
    total, row = 0.0, 0
    for size in sizes:
        gold = next(i for i in range(row, row + size) if st[i] > 0)
        target = torch.tensor([(gold - row) * width + int(st[gold])]), torch.tensor([(gold - row) * width + int(en[gold])])
        total = total + F.cross_entropy(s[row : row + size].reshape(1, -1), target[0])
        total = total + F.cross_entropy(e[row : row + size].reshape(1, -1), target[1])
        row += size
    return total / len(sizes)


def batches_for_epoch(lengths: np.ndarray, batch: int, epoch: int, seed: int) -> list[np.ndarray]:
    """Shuffle, then sort by length inside windows of 50 batches, then shuffle the batches."""
    rng = np.random.default_rng(seed * 1000 + epoch)
    perm = rng.permutation(len(lengths))
    out = []
    win = batch * 50
    for k in range(0, len(perm), win):
        w = perm[k : k + win]
        w = w[np.argsort(lengths[w], kind="stable")]
        out.extend(w[j : j + batch] for j in range(0, len(w), batch) if len(w[j : j + batch]) == batch)
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="mergesort")
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks for ties
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    return float((ranks[labels == 1].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@torch.no_grad()
def evaluate(model, feats: list[dict], batch: int = 64) -> dict:
    model.eval()
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["ids"]))
    cls_all = np.zeros(len(feats))
    null_all = np.zeros(len(feats))  # best span score minus the <s> ("no answer") score
    tot = span_tot = bce_tot = 0.0
    em = f1 = 0.0
    npos = 0
    for k in range(0, len(order), batch):
        idx = order[k : k + batch]
        fb = [feats[i] for i in idx]
        ids, att, piece, st, en, lab = tensors(fb)
        cls, start, end = model(ids, att)
        loss, span_l, bce_l = losses(cls, start, end, piece, st, en, lab)
        tot += float(loss) * len(idx)
        span_tot += float(span_l) * len(idx)
        bce_tot += float(bce_l) * len(idx)
        cls_all[idx] = cls.numpy()
        spans = R.best_spans(start, end, piece)
        null = (start[:, 0] + end[:, 0]).numpy()
        null_all[idx] = [(sp[2] if sp else -1e9) - n for sp, n in zip(spans, null)]
        for row, f in enumerate(fb):
            if f["label"] != 1 or f["kind"] != "pos":
                continue
            npos += 1
            found = spans[row]
            piece_text = f["ex"]["piece"]
            pred = ""
            if found is not None:
                a, b = R.span_chars(f["offsets"], found[0], found[1], len(piece_text))
                pred = piece_text[a:b]
            a, b = f["ex"]["ans"]
            gold = piece_text[a:b]
            em += rc.exact_match(pred, gold)
            f1 += rc.char_f1(pred, gold)
    labels = np.array([f["label"] for f in feats])
    kinds = np.array([f["kind"] for f in feats])
    out = {
        "dev_loss": tot / len(feats),
        "dev_span_loss": span_tot / len(feats),
        "dev_bce": bce_tot / len(feats),
        "em": em / max(1, npos),
        "f1": f1 / max(1, npos),
        "auc": auc(cls_all, labels),
        "auc_span_vs_null": auc(null_all, labels),
        "n_pos": npos,
        "n": len(feats),
    }
    for kind in ("neg_same", "neg_other", "neg_perturbed"):
        sel = (labels == 1) | (kinds == kind)
        out[f"auc_{kind}"] = auc(cls_all[sel], labels[sel])
    return out


# --------------------------------------------------------------------------- training


def cached_feats(out: Path, name: str, build):
    path = out / f"{name}.v{DATA_VERSION}.pkl"
    if path.is_file():
        with open(path, "rb") as f:
            return pickle.load(f)
    feats = build()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(feats, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return feats


def save_ckpt(path: Path, model, opt, sched, step: int, extra: dict):
    state = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "step": step,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()},
        **extra,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def latest_ckpt(out: Path) -> Path | None:
    ck = sorted(out.glob("ckpt_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    return ck[-1] if ck else None


def log(out: Path, record: dict):
    with open(out / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(json.dumps(record, ensure_ascii=False), flush=True)


def train(args):
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    base_path = args.base or R.default_base_path()
    tok = R.load_tokenizer(base_path)
    base = R.load_base(base_path)

    t0 = time.time()
    train_feats = cached_feats(out, "train", lambda: featurize(tok, build_examples(load_split(data / "train"), seed=args.seed)))
    dev_feats = cached_feats(
        out, f"dev{args.dev_questions}",
        lambda: featurize(tok, build_examples(load_split(data / "dev"), seed=args.seed + 1, max_questions=args.dev_questions, p_para=0.0)),
    )
    dev_feats = [f for f in dev_feats if f["kind"] not in ("pos_wide",)]
    groups = []
    if args.shared_norm:
        n = args.steps * args.shared_norm
        groups = cached_feats(out, f"groups{n}", lambda: featurize_groups(tok, build_groups(load_split(data / "train"), args.seed, n)))
        print(f"shared normalisation: {len(groups)} groups of {np.mean([len(g) for g in groups]):.1f} sentences", flush=True)
    windows = []
    if args.windows:
        n = args.steps * args.windows
        long_tok = R.with_max_len(tok, R.PARA_LEN)
        windows = cached_feats(out, f"windows{n}", lambda: featurize(long_tok, build_windows(load_split(data / "train"), args.seed, n)))
        print(f"windows: {len(windows)} of {np.mean([len(f['ids']) for f in windows]):.0f} tokens", flush=True)
    counts = {}
    for f in train_feats:
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    print(f"data: {len(train_feats)} train features {counts}, {len(dev_feats)} dev, {time.time() - t0:.0f}s", flush=True)

    torch.manual_seed(args.seed)
    model = R.ReaderModel(base)
    enc_params = [p for p in model.top.parameters()]
    head_params = list(model.span_head.parameters()) + list(model.cls_head.parameters())
    opt = torch.optim.AdamW(
        [{"params": enc_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}], weight_decay=0.01
    )
    warm = max(1, int(args.steps * args.warmup))

    def lr_at(step):
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (args.steps - step) / max(1, args.steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    step = 0
    best = {"score": -1.0}
    ck = latest_ckpt(out)
    if ck is not None:
        state = torch.load(ck, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        best = state.get("best", best)
        torch.set_rng_state(state["rng"]["torch"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        print(f"resumed from {ck} at step {step}", flush=True)
    elif args.init:
        model.load_state_dict(torch.load(args.init, weights_only=False)["model"])
        print(f"started from the weights of {args.init}", flush=True)

    lengths = np.array([len(f["ids"]) for f in train_feats])
    per_epoch = len(lengths) // args.batch
    epoch_cache: dict[int, list] = {}

    def batch_at(s):
        epoch, i = divmod(s, per_epoch)
        if epoch not in epoch_cache:
            epoch_cache.clear()
            epoch_cache[epoch] = batches_for_epoch(lengths, args.batch, epoch, args.seed)
        return epoch_cache[epoch][i]

    def scores() -> dict:
        te = time.time()
        rec = evaluate(model, dev_feats)
        if args.rc_questions:
            got = rc.eval_rc(data / "dev", R.Reader(model, tok, {}), limit=args.rc_questions, progress=False, select=args.rc_select)
            rec.update(rc_em=got["em"], rc_f1=got["f1"])
        rec["eval_s"] = round(time.time() - te, 1)
        return rec

    if step == 0 and not args.no_initial_eval:
        log(out, {"step": 0, **scores()})
    model.train()
    t_last = time.time()
    run_loss = run_span = run_bce = run_sn = run_win = 0.0
    n_run = 0
    while step < args.steps:
        idx = batch_at(step)
        ids, att, piece, st, en, lab = tensors([train_feats[i] for i in idx])
        cls, start, end = model(ids, att)
        loss, span_l, bce_l = losses(cls, start, end, piece, st, en, lab)
        if groups:
            grp = [groups[(step * args.shared_norm + k) % len(groups)] for k in range(args.shared_norm)]
            g_ids, g_att, g_piece, g_st, g_en, _ = tensors([f for g in grp for f in g])
            _, g_start, g_end = model(g_ids, g_att)
            sn_l = shared_norm_loss(g_start, g_end, g_piece, [len(g) for g in grp], g_st, g_en)
            loss = loss + 0.5 * sn_l
            run_sn += float(sn_l.detach())
        if windows:
            w = [windows[(step * args.windows + k) % len(windows)] for k in range(args.windows)]
            w_ids, w_att, w_piece, w_st, w_en, w_lab = tensors(w)
            w_cls, w_start, w_end = model(w_ids, w_att)
            w_l, _, _ = losses(w_cls, w_start, w_end, w_piece, w_st, w_en, w_lab)
            loss = loss + w_l
            run_win += float(w_l.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(enc_params + head_params, 1.0)
        opt.step()
        sched.step()
        step += 1
        run_loss += float(loss.detach())
        run_span += float(span_l.detach())
        run_bce += float(bce_l.detach())
        n_run += 1
        if step % args.log_every == 0:
            dt = (time.time() - t_last) / n_run
            print(
                f"step {step}/{args.steps} loss {run_loss / n_run:.3f} (span {run_span / n_run:.3f} bce {run_bce / n_run:.3f}"
                f"{f' shared {run_sn / n_run:.3f}' if groups else ''}{f' windows {run_win / n_run:.3f}' if windows else ''}) "
                f"lr {sched.get_last_lr()[0]:.2e} {dt:.2f}s/step",
                flush=True,
            )
            run_loss = run_span = run_bce = run_sn = run_win = 0.0
            n_run = 0
            t_last = time.time()
        evaluated = False
        if step % args.eval_every == 0 or step == args.steps:
            rec = {"step": step, "epoch": round(step / per_epoch, 3), **scores()}
            score = rec["f1"] + rec["auc"] + rec.get("rc_f1", 0.0)
            if score > best["score"]:
                best = {"score": score, "step": step, "f1": rec["f1"], "auc": rec["auc"]}
                torch.save({"model": model.state_dict(), "step": step, "metrics": rec}, out / "best.pt")
            rec["best_step"] = best["step"]
            log(out, rec)
            model.train()
            evaluated = True
            t_last = time.time()
        if step % args.ckpt_every == 0 or step == args.steps or evaluated and step % args.ckpt_every == 0:
            save_ckpt(out / f"ckpt_{step}.pt", model, opt, sched, step, {"best": best, "args": vars(args)})
            for old in sorted(out.glob("ckpt_*.pt"), key=lambda p: int(p.stem.split("_")[1]))[:-2]:
                old.unlink()
    print("done", flush=True)


# --------------------------------------------------------------------------- export / rc eval


def export(args):
    out = Path(args.out)
    src = Path(args.checkpoint) if args.checkpoint else (out / "best.pt" if (out / "best.pt").is_file() else latest_ckpt(out))
    if src is None or not src.is_file():
        sys.exit(f"no checkpoint in {out}")
    base_path = args.base or R.default_base_path()
    base = R.load_base(base_path)
    model = R.ReaderModel(base, init_from_base=False)
    state = torch.load(src, weights_only=False)
    model.load_state_dict(state["model"])
    extra = {"trained_steps": state["step"], "checkpoint": src.name}
    if "metrics" in state:
        extra["dev_sample_metrics"] = {k: state["metrics"][k] for k in ("em", "f1", "auc") if k in state["metrics"]}
    side = R.export(model, args.export, base_path, extra)
    print(json.dumps(side, ensure_ascii=False, indent=1))


def eval_rc(args):
    torch.set_num_threads(args.threads)
    reader = R.Reader.load(Path(args.weights) if args.weights else None, quantize=args.quantize)
    res = rc.eval_rc(Path(args.data) / "dev", reader, limit=args.limit, select=args.select)
    res["quantize"] = args.quantize
    print(json.dumps(res))


def eval_sentence(args):
    """The dev-sample metrics (as logged during training) for exported weights, float or int8."""
    torch.set_num_threads(args.threads)
    reader = R.Reader.load(Path(args.weights) if args.weights else None, quantize=args.quantize)
    out = Path(args.out)
    dev = cached_feats(out, f"dev{args.dev_questions}", lambda: featurize(
        reader.tokenizer, build_examples(load_split(Path(args.data) / "dev"), seed=args.seed + 1, max_questions=args.dev_questions, p_para=0.0)))
    dev = [f for f in dev if f["kind"] != "pos_wide"]
    res = evaluate(reader.model, dev)
    res["quantize"] = args.quantize
    print(json.dumps(res))


def bench(args):
    """Load time with a shared base, and read() latency for 12 pieces of about 60 tokens."""
    torch.set_num_threads(args.threads)
    base = R.load_base(args.base or R.default_base_path())
    weights = Path(args.weights) if args.weights else None
    R.Reader.load(weights, base=base, quantize=False)  # warm imports and the tokenizer cache
    out = {}
    dev = load_split(Path(args.data) / "dev")
    para = dev[0]["paragraphs"][0]
    sents = [para["context"][a:b] for a, b in R.split_sentences(para["context"])]
    pieces = [(dev[0]["title"], (sents[i % len(sents)] * 3)[:70]) for i in range(12)]
    question = para["qas"][0]["question"]
    for mode in ("none", "bf16", "top", "all"):
        t = time.perf_counter()
        reader = R.Reader.load(weights, base=base, quantize=mode)
        load_s = time.perf_counter() - t
        enc = R.encode(reader.tokenizer, question, pieces)
        times = []
        for _ in range(args.bench_runs):
            t = time.perf_counter()
            reader.read(question, pieces)
            times.append(time.perf_counter() - t)
        out[mode] = {"load_s": round(load_s, 3), "read_ms_median": round(1000 * float(np.median(times)), 1),
                     "read_ms_min": round(1000 * min(times), 1), "tokens_per_piece": round(float(enc.attention_mask.sum(1).float().mean()), 1)}
    print(json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/data/jaquad/data")
    ap.add_argument("--out", default="/work/data/reader_run")
    ap.add_argument("--base", default=None, help="e5-small folder (default: the project's built model)")
    ap.add_argument("--steps", type=int, default=2800)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--dev-questions", type=int, default=600)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-initial-eval", action="store_true")
    ap.add_argument("--init", help="a checkpoint whose weights a new run starts from (new optimiser and schedule)")
    ap.add_argument("--shared-norm", type=int, default=0, metavar="G",
                    help="also train on G questions a step with all sentences of their paragraph, span scores normalised across them")
    ap.add_argument("--windows", type=int, default=0, metavar="W",
                    help="per step also W questions read against a run of whole sentences (up to PARA_LEN tokens) around the answer")
    ap.add_argument("--rc-select", default="span", choices=["score", "span", "whole"], help="how --rc-questions reads the paragraph")
    ap.add_argument("--rc-questions", type=int, default=0, help="at each evaluation, also RC EM/F1 on this many dev questions")
    ap.add_argument("--export", metavar="PATH", help="write the best (or --checkpoint) weights as fp16 safetensors and exit")
    ap.add_argument("--checkpoint", help="checkpoint to export instead of out/best.pt")
    ap.add_argument("--eval-rc", action="store_true", help="EM/F1 on all JaQuAD dev with the gold paragraph, then exit")
    ap.add_argument("--eval-sentence", action="store_true", help="the dev-sample metrics for --weights, then exit")
    ap.add_argument("--weights", help="reader weights for --eval-rc / --eval-sentence (default: the shipped ones)")
    ap.add_argument("--quantize", default="auto", choices=list(R.PRECISIONS), help="precision for --eval-rc / --eval-sentence (see qa.reader.PRECISIONS)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--select", choices=["score", "span", "whole"], default=None, help="--eval-rc: see qa.eval.rc.read_paragraph")
    ap.add_argument("--bench", action="store_true", help="load time and read() latency, then exit")
    ap.add_argument("--bench-runs", type=int, default=30)
    args = ap.parse_args(argv)
    if args.export:
        export(args)
    elif args.eval_rc:
        eval_rc(args)
    elif args.eval_sentence:
        eval_sentence(args)
    elif args.bench:
        bench(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
