"""A cross-encoder reader: is this piece an answer to the question, and where in it?

The reader is multilingual-e5-small with its top six layers (6-11) fine-tuned on
JaQuAD and two small heads on top:

- an answerability logit from the ``<s>`` hidden state;
- start/end logits per token, of which only tokens of the piece compete for a span.

Layers 0-5 and the embeddings are the unchanged e5-small ones, so the reader shares
them with the embedder already in memory and ships only layers 6-11 + heads
(fp16 safetensors, ~21 MB) in ``qa/reader_weights/``.

Input: ``question`` as the first segment, ``f"{context}\\n{piece}"`` as the second,
at most ``MAX_LEN`` tokens, only the second segment truncated.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .kinds import type_clash
from .store import sha256_file
from .tokens import terms, tokenize

try:  # the package will define it; until then a local stand-in with the same base class
    from .errors import ReaderError
except ImportError:  # pragma: no cover - depends on the state of errors.py
    from .errors import QAError

    class ReaderError(QAError):
        """The reader's weights are missing, damaged or made for another base model."""


BASE_MODEL_ID = "intfloat/multilingual-e5-small"
FORMAT_VERSION = 2  # 2: layers 6-11 (1 had 8-11; six trainable layers learned far faster)
MAX_LEN = 128  # tokens of question + context + piece, as trained
# Tokens read at answer time: the few longer pieces keep their end instead of losing it
# (JaQuAD dev: 452 questions have a sentence cut at 128; RC F1 there .691 -> .698, EM +6).
READ_LEN = 256
MAX_QUESTION_TOKENS = 48  # longer questions are cut so the piece keeps room
MAX_CONTEXT_CHARS = 48  # heading paths are cut to this many characters
MAX_SPAN = 30  # tokens
# A span's score is start + end logit minus this per token it spans beyond the first:
# JaQuAD dev RC F1 +.5 point (picked on the first 800 questions, .750 -> .754; the other 3,139 .738 -> .744)
LENGTH_COST = 0.05
# A paragraph is read sentence by sentence, as the reader was trained: read whole, JaQuAD dev RC
# F1 is .625 against .726 (model card). So are pieces longer than SENTENCE_CHARS at answer time:
# prose short F1 .644 -> .659 (scripts/prose_check.py); deck dev char F1 .588 -> .587 (at 0, .580:
# a short bullet's list 「米国、欧州、中国、日本」 was read as 「日本」); p95 latency on deck dev 180 -> 374 ms.
SENTENCE_CHARS = 100
# How pick_sentence picks: span score, plus ANSWERABILITY times the answerability logit, plus
# OVERLAP times the share of the question's content words the sentence holds, less CLASH when
# its span is not the kind of thing asked (kinds.type_clash: no number for 「何人」). JaQuAD dev RC
# F1, picked on the first 800 questions: ANSWERABILITY 0 -> .35, .754 -> .761 (the other 3,139:
# .744 -> .745); then OVERLAP 2 and CLASH 4, .7598 -> .7645 (the other 3,139: .7466 -> .7492).
ANSWERABILITY = 0.35
OVERLAP = 2.0
CLASH = 4.0
PARA_LEN = 384  # tokens when a paragraph is read in windows of whole sentences (select="whole")
SPLIT = 6  # layers [0, SPLIT) are the base's, [SPLIT, n) are the reader's
WEIGHTS = Path(__file__).resolve().parent / "reader_weights" / "reader.safetensors"
PROBE_LAYER = SPLIT - 1  # a frozen layer whose values identify the base model
PROBE_SIZE = 64
# Precision of Reader.load (format 2, 2 Zen 4 cores, read() of 12 pieces of ~68 tokens):
#   "none"  float32                                   ~263 ms
#   "bf16"  everything under bf16 autocast            ~172 ms  (needs CPU bf16 support; dev F1 .796 vs .798 float32)
#   "top"   int8 dynamic for the reader's own layers   ~190 ms
#   "all"   also int8 copies of the shared layers      ~128 ms  (format 1 lost 12 points of F1 with it: not recommended)
#   "auto"  "bf16" where the CPU has native bf16, else "top"
PRECISIONS = ("none", "bf16", "top", "all", "auto")
QUANTIZE = "auto"


def bf16_supported() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


@dataclass(frozen=True)
class Reading:
    score: float  # answerability logit, uncalibrated (the caller calibrates)
    span: tuple[int, int] | None  # char offsets of the best answer span inside `piece`, or None
    span_score: float  # start+end logit of that span, less LENGTH_COST per extra token


# --------------------------------------------------------------------------- model


class ReaderModel(nn.Module):
    """Top layers + heads over a shared, frozen bottom (embeddings + layers 0..SPLIT-1).

    The base BertModel is held by reference and is not a registered submodule: its
    parameters are neither in this module's state_dict nor in its parameters(), and
    ``.train()`` here never touches it.
    """

    def __init__(self, base: nn.Module, n_top: int | None = None, init_from_base: bool = True):
        super().__init__()
        from transformers.models.bert.modeling_bert import BertLayer

        config = base.config
        total = config.num_hidden_layers
        n_top = total - SPLIT if n_top is None else n_top
        if n_top < 1 or SPLIT + n_top != total:
            raise ReaderError(f"the base model has {total} layers; the reader needs {SPLIT + (n_top or 0)}")
        self._base = [base]  # a list hides it from nn.Module registration
        self.config = config
        if init_from_base:
            self.top = nn.ModuleList(copy.deepcopy(base.encoder.layer[i]) for i in range(SPLIT, total))
        else:
            self.top = nn.ModuleList(BertLayer(config, layer_idx=i) for i in range(SPLIT, total))
        hidden = config.hidden_size
        self.span_head = nn.Linear(hidden, 2)
        self.cls_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.bottom_layers = list(base.encoder.layer[:SPLIT])  # plain list: not registered either
        for p in self.parameters():  # copies of a frozen base come frozen
            p.requires_grad_(True)

    @property
    def base(self) -> nn.Module:
        return self._base[0]

    def bottom(self, input_ids: torch.Tensor, mask4: torch.Tensor) -> torch.Tensor:
        hidden = self.base.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        for layer in self.bottom_layers:
            hidden = _layer_out(layer(hidden, mask4))
        return hidden

    compute_dtype: torch.dtype | None = None  # torch.bfloat16: run everything under CPU autocast

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, hidden: torch.Tensor | None = None):
        """(answerability logits [B], start logits [B, L], end logits [B, L]), float32."""
        if self.compute_dtype is None:
            return self._forward(input_ids, attention_mask, hidden)
        with torch.autocast("cpu", dtype=self.compute_dtype):
            out = self._forward(input_ids, attention_mask, hidden)
        return tuple(o.float() for o in out)

    def _forward(self, input_ids, attention_mask, hidden):
        mask4 = additive_mask(attention_mask, self.span_head.weight.dtype)
        if hidden is None:
            with torch.no_grad():
                hidden = self.bottom(input_ids, mask4)
        for layer in self.top:
            hidden = _layer_out(layer(hidden, mask4))
        span = self.span_head(hidden)
        cls = self.cls_head(hidden[:, 0]).squeeze(-1)
        return cls, span[..., 0], span[..., 1]

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items()}


def _layer_out(out):
    return out[0] if isinstance(out, tuple) else out


def additive_mask(attention_mask: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """[B, L] 1/0 mask -> [B, 1, 1, L] additive mask for BertLayer."""
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


# --------------------------------------------------------------------------- encoding


@dataclass
class Batch:
    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    piece_mask: torch.Tensor  # [B, L] bool: token lies inside the piece
    offsets: list[list[tuple[int, int]]]  # per example, per token: char offsets inside the piece


@functools.lru_cache(maxsize=4)
def load_tokenizer(path: str | Path):
    from tokenizers import Tokenizer

    file = Path(path) / "tokenizer.json"
    try:
        tok = Tokenizer.from_file(str(file))
    except Exception as exc:
        raise ReaderError(f"cannot read the reader's tokenizer {file}: {exc}. Run `qa model` to rebuild the base model.") from exc
    return with_max_len(tok, MAX_LEN)


def with_max_len(tok, max_len: int | None):
    """A copy of `tok` that truncates the second segment at `max_len` tokens (None: never)."""
    from tokenizers import Tokenizer

    copy_ = Tokenizer.from_str(tok.to_str())
    copy_.no_padding()
    if max_len is None:
        copy_.no_truncation()
    else:
        copy_.enable_truncation(max_len, strategy="only_second")
    return copy_


def clip_question(tok, question: str) -> str:
    while True:  # the tokenizer refuses a lone sequence longer than MAX_LEN: cut characters first
        try:
            enc = tok.encode(question, add_special_tokens=False)
            break
        except Exception:
            question = question[: len(question) // 2]
    if len(enc.ids) <= MAX_QUESTION_TOKENS:
        return question
    return question[: enc.offsets[MAX_QUESTION_TOKENS - 1][1]]


def second_segment(context: str, piece: str) -> tuple[str, int]:
    """The second segment's text and where `piece` starts in it."""
    context = (context or "")[:MAX_CONTEXT_CHARS]
    return f"{context}\n{piece}", len(context) + 1


def encode(tok, question: str, pieces: Sequence[tuple[str, str]], pad_id: int = 1) -> Batch:
    question = clip_question(tok, question or "")
    seconds, starts = zip(*(second_segment(c, p or "") for c, p in pieces)) if pieces else ((), ())
    encs = tok.encode_batch([(question, s) for s in seconds])
    return collate(encs, starts, pad_id)


def collate(encs, starts, pad_id: int = 1) -> Batch:
    length = max(len(e.ids) for e in encs)
    n = len(encs)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    att = torch.zeros((n, length), dtype=torch.long)
    piece = torch.zeros((n, length), dtype=torch.bool)
    offsets = []
    for i, (e, start) in enumerate(zip(encs, starts)):
        k = len(e.ids)
        ids[i, :k] = torch.tensor(e.ids)
        att[i, :k] = 1
        offs = []
        for j, (seq, (a, b)) in enumerate(zip(e.sequence_ids, e.offsets)):
            if seq == 1 and b > a and a >= start:
                piece[i, j] = True
                offs.append((a - start, b - start))
            else:
                offs.append((0, 0))
        offsets.append(offs)
    return Batch(ids, att, piece, offsets)


# --------------------------------------------------------------------------- decoding


def best_spans(start: torch.Tensor, end: torch.Tensor, piece_mask: torch.Tensor, max_span: int = MAX_SPAN, length_cost: float = LENGTH_COST):
    """Per row the best (i, j, score) with i <= j < i + max_span over piece tokens, or None;
    score = start[i] + end[j] - length_cost * (j - i)."""
    neg = torch.finfo(start.dtype).min / 4
    s = start.masked_fill(~piece_mask, neg)
    e = end.masked_fill(~piece_mask, neg)
    scores = s[:, :, None] + e[:, None, :]  # [B, L, L]
    length = start.shape[1]
    idx = torch.arange(length)
    width = idx[None, :] - idx[:, None]
    band = (width >= 0) & (width < max_span)
    scores = (scores - length_cost * width.to(scores.dtype)[None]).masked_fill(~band[None], neg * 2)
    flat = scores.view(scores.shape[0], -1)
    best = flat.argmax(dim=1)
    out = []
    for row, b in enumerate(best.tolist()):
        if not bool(piece_mask[row].any()):
            out.append(None)
            continue
        i, j = divmod(b, length)
        out.append((i, j, float(flat[row, b])))
    return out


def span_chars(offsets: list[tuple[int, int]], i: int, j: int, piece_len: int) -> tuple[int, int]:
    a = max(0, min(offsets[i][0], piece_len))
    b = max(a, min(offsets[j][1], piece_len))
    return a, b


# --------------------------------------------------------------------------- files


def base_weights_sha256(base_path: str | Path | None) -> str | None:
    """The base model's identity as recorded by the model builder (qa_model.json)."""
    if not base_path:
        return None
    meta = Path(base_path) / "qa_model.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("weights_sha256")
    except (OSError, ValueError):
        return None


def base_probe(base: nn.Module) -> list[float]:
    """A few fixed values of a frozen layer: a tolerant fingerprint of the base weights."""
    w = base.encoder.layer[PROBE_LAYER].attention.self.query.weight.detach().float().flatten()
    step = max(1, w.numel() // PROBE_SIZE)
    return [round(float(x), 6) for x in w[::step][:PROBE_SIZE]]


def export(model: ReaderModel, path: str | Path, base_path: str | Path | None = None, extra: dict | None = None) -> dict:
    """Write layers SPLIT.. + heads as fp16 safetensors, plus a sidecar JSON with its sha256."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    cfg = model.config
    meta = {
        "format": FORMAT_VERSION,
        "base_model": BASE_MODEL_ID,
        "base_weights_sha256": base_weights_sha256(base_path) or "",
        "base_probe": base_probe(model.base),
        "layers": list(range(SPLIT, cfg.num_hidden_layers)),
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "max_len": MAX_LEN,
        "max_span": MAX_SPAN,
        "input": "question </s></s> context\\npiece",
        "dtype": "float16",
    }
    if extra:
        meta.update(extra)
    save_file(tensors, str(path), metadata={"qa_reader": json.dumps(meta, ensure_ascii=False)})
    side = dict(meta, file=path.name, sha256=sha256_file(path), bytes=path.stat().st_size)
    sidecar(path).write_text(json.dumps(side, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return side


def sidecar(path: Path) -> Path:
    return Path(path).with_suffix(".json")


# --------------------------------------------------------------------------- reader

_FIX = "Re-export it with `python scripts/train_reader.py --export` or restore it with `git checkout qa/reader_weights`."


class Reader:
    def __init__(self, model: ReaderModel, tokenizer, meta: dict):
        self.model = model
        self.tokenizer = tokenizer
        self.meta = meta
        self._lock = threading.Lock()
        self._tokenizers = {MAX_LEN: tokenizer}

    def tokenizer_for(self, max_len: int | None):
        if max_len not in self._tokenizers:
            self._tokenizers[max_len] = with_max_len(self.tokenizer, max_len)
        return self._tokenizers[max_len]

    @classmethod
    def load(cls, weights: Path | None = None, base=None, quantize: bool | str = True) -> "Reader":
        """quantize: True (QUANTIZE, "auto"), False (= "none") or one of PRECISIONS, see there."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        weights = Path(weights) if weights is not None else WEIGHTS
        meta = _check_file(weights)
        base_path = None
        if base is None:
            base_path = default_base_path()
            base = load_base(base_path)
        else:
            base_path = getattr(base.config, "_name_or_path", None) or None
            if not base_path or not (Path(base_path) / "tokenizer.json").is_file():
                base_path = default_base_path()
        _check_base(base, base_path, meta, weights)
        model = ReaderModel(base, init_from_base=False)
        from safetensors.torch import load_file

        try:
            state = load_file(str(weights))
            model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        except Exception as exc:
            raise ReaderError(f"reader weights {weights} do not fit the reader ({exc}). {_FIX}") from exc
        model.eval()
        mode = {True: QUANTIZE, False: "none"}.get(quantize, quantize)
        if mode not in PRECISIONS:
            raise ValueError(f"quantize must be True, False or one of {PRECISIONS}, not {quantize!r}")
        if mode == "auto":
            mode = "bf16" if bf16_supported() else "top"
        if mode == "bf16":
            model.compute_dtype = torch.bfloat16
        elif mode != "none":
            model = quantize_model(model, quantize_bottom=mode == "all")
        meta = dict(meta, precision=mode)
        return cls(model, load_tokenizer(base_path), meta)

    def read(self, question: str, pieces: Sequence[tuple[str, str]], batch_size: int = 32, max_len: int = READ_LEN) -> list[Reading]:
        """One Reading per (context, piece); pieces are cut to fit `max_len` tokens with the question."""
        tok = self.tokenizer_for(max_len)
        pieces = [(str(c or ""), str(p or "")) for c, p in pieces]
        if not pieces:
            return []
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][0]) + len(pieces[i][1]))
        results: list[Reading | None] = [None] * len(pieces)
        with self._lock, torch.inference_mode():
            for k in range(0, len(order), batch_size):
                chunk = order[k : k + batch_size]
                batch = encode(tok, question or "", [pieces[i] for i in chunk])
                cls, start, end = self.model(batch.input_ids, batch.attention_mask)
                spans = best_spans(start, end, batch.piece_mask)
                for row, i in enumerate(chunk):
                    found = spans[row]
                    if found is None:
                        results[i] = Reading(float(cls[row]), None, float("-inf"))
                        continue
                    a, b = span_chars(batch.offsets[row], found[0], found[1], len(pieces[i][1]))
                    a, b = _trim(pieces[i][1], a, b)
                    results[i] = Reading(float(cls[row]), (a, b) if b > a else None, found[2])
        return results  # type: ignore[return-value]


def pick_sentence(question: str, text: str, spans: Sequence[tuple[int, int]], readings: Sequence[Reading]) -> int:
    """Index of the sentence whose span best answers `question` (see ANSWERABILITY)."""
    asked = set(terms(question or "", "lemma"))

    def key(i: int) -> tuple[bool, float]:
        (a, b), r = spans[i], readings[i]
        if r.span is None:
            return False, r.score
        held = len(asked & set(terms(text[a:b], "lemma"))) / len(asked) if asked else 0.0
        clash = bool(type_clash(question or "", text[a + r.span[0]: a + r.span[1]]))
        return True, r.span_score + ANSWERABILITY * r.score + OVERLAP * held - CLASH * clash

    return max(range(len(spans)), key=key)


def sentence_span(reader, question: str, context: str, text: str) -> Reading | None:
    """The short answer of a text longer than SENTENCE_CHARS, read one sentence at a time
    and picked by pick_sentence: that sentence's reading with its span as char offsets in
    `text`; None for a shorter text, a single sentence or no span (the caller's reading
    of the whole text stands)."""
    spans = split_sentences(text)
    if len(text) <= SENTENCE_CHARS or len(spans) < 2:
        return None
    readings = reader.read(question, [(context, text[a:b]) for a, b in spans])
    best = pick_sentence(question, text, spans, readings)
    found, start = readings[best], spans[best][0]
    return replace(found, span=(start + found.span[0], start + found.span[1])) if found.span else None


_EDGE = set("：:、，,。．・●◆■□○-–—|")  # never the first or last character of a short answer


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """The span without edge white space and punctuation, within one 【field】 value
    of a slide's table row (「14か国 【プロジェクト数」 -> 「14か国」), as a phrase."""
    part = text[a:b]
    if "【" in part and part.index("【") > 0 and part[: part.index("【")].strip():
        b = a + part.index("【")
    elif "】" in part and part[part.rindex("】") + 1:].strip():
        a += part.rindex("】") + 1
    while a < b and (text[a].isspace() or text[a] in _EDGE):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in _EDGE):
        b -= 1
    return _phrase(text, a, b)


_YEAR_BEFORE = re.compile(r"(?:[0-9]{3,4}|(?:令和|平成|昭和|大正|明治)\s*(?:[0-9]{1,2}|元))\s*年\s*$")  # 2025年, 令和6年
_MONTH = re.compile(r"[0-9]{1,2}\s*月")
_MONTH_BEFORE = re.compile(r"[0-9]{1,2}\s*月\s*$")
_DAY = re.compile(r"[0-9]{1,2}\s*日")


_DIGITS = "0123456789０１２３４５６７８９"


def _inside_word(text: str, a: int) -> bool:
    """Whether position `a` (0 < a < len(text)) falls inside a number (「19|83」, 「3.|5」)
    or a word of Latin letters and digits (「A|320」)."""
    before = text[a - 1]
    if before in _DIGITS or before in ".,，．" and a > 1 and text[a - 2] in _DIGITS:
        return True
    return before.isascii() and before.isalnum() and text[a].isascii() and text[a].isalnum()


def _phrase(text: str, a: int, b: int) -> tuple[int, int]:
    """The span as a phrase of its own: never starting inside a number or a Latin word
    (「1983年」 read as 「年」 -> 「1983年」, 「320」 -> 「A320」), a day with the month written just
    before it (「28日」 -> 「4月28日」), without trailing particles (「2010年に」 -> 「2010年」, 「80か国の」
    -> 「80か国」), and a month with the year written just before it (「…2025年1月」 read as
    「1月」 -> 「2025年1月」). JaQuAD dev, 600 questions: EM .508 -> .552 for the last two."""
    while 0 < a < b and _inside_word(text, a):
        a -= 1
    month = _MONTH_BEFORE.search(text[:a])
    if month and _DAY.match(text, a, b):  # 「4月28日」 read as 「28日」
        a = month.start()
    tokens = tokenize(text[a:b])
    while len(tokens) > 1 and tokens[-1].pos == "助詞":
        tokens.pop()
    if tokens:
        b = a + tokens[-1].end
    year = _YEAR_BEFORE.search(text[:a])
    if year and _MONTH.match(text, a, b):
        a = year.start()
    return a, b


def _check_file(weights: Path) -> dict:
    side = sidecar(weights)
    if not weights.is_file():
        raise ReaderError(f"reader weights not found at {weights}. {_FIX}")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReaderError(f"reader weights sidecar {side} is missing or unreadable ({exc}). {_FIX}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise ReaderError(f"reader weights {weights} have format {meta.get('format')}, this code reads {FORMAT_VERSION}. {_FIX}")
    digest = sha256_file(weights)
    if digest != meta.get("sha256"):
        raise ReaderError(f"reader weights {weights} are damaged (sha256 {digest[:12]}… ≠ {str(meta.get('sha256'))[:12]}…). {_FIX}")
    return meta


def _check_base(base, base_path, meta: dict, weights: Path) -> None:
    cfg = base.config
    if cfg.hidden_size != meta.get("hidden_size") or cfg.num_hidden_layers != meta.get("num_hidden_layers"):
        raise ReaderError(
            f"reader weights {weights} were made for another base model "
            f"({meta.get('base_model')}, hidden {meta.get('hidden_size')}); "
            f"this base has hidden {cfg.hidden_size}, {cfg.num_hidden_layers} layers. Load the reader with the e5-small base."
        )
    want = meta.get("base_weights_sha256")
    have = base_weights_sha256(base_path)
    if want and have and want != have:
        raise ReaderError(
            f"reader weights {weights} were made for base weights {want[:12]}…, but the model at {base_path} is {have[:12]}…. "
            "Rebuild the base with `qa model` or retrain the reader for this base."
        )
    probe = meta.get("base_probe")
    if probe:
        got = torch.tensor(base_probe(base))
        ref = torch.tensor(probe)
        if got.shape != ref.shape or not torch.allclose(got, ref, atol=1e-3):
            raise ReaderError(
                f"reader weights {weights} were made for another base model than the one given "
                f"(expected {meta.get('base_model')}). Load the reader with the e5-small base it was trained on."
            )


def default_base_path() -> str:
    """The project's e5-small folder (built on first need by qa.embed.model_path)."""
    try:
        from .config import Config
        from .embed import model_path

        return model_path(Config())
    except ReaderError:
        raise
    except Exception:  # the config API may differ; fall back to the documented default place
        home = os.environ.get("QA_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"
        path = Path(home) / "models" / "multilingual-e5-small"
        if not (path / "config.json").is_file():
            raise ReaderError(f"the reader's base model is not at {path}. Run `qa model` to build it.") from None
        return str(path)


def load_base(path: str | Path):
    try:
        import transformers
        from transformers import BertModel

        transformers.utils.logging.set_verbosity_error()
        base = BertModel.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:
        raise ReaderError(f"cannot load the reader's base model from {path}: {exc}. Run `qa model` to build it.") from exc
    base.eval()
    for p in base.parameters():
        p.requires_grad_(False)
    return base


def quantize_model(model: ReaderModel, quantize_bottom: bool = True) -> ReaderModel:
    """int8 dynamic quantization of the reader's own Linear layers and of a private copy of
    the frozen layers' Linears (the shared base itself is never modified; the embeddings,
    by far its largest part, stay shared)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated but present in torch 2.13
            from torch.ao.quantization import quantize_dynamic

            top = quantize_dynamic(model.top, {nn.Linear}, dtype=torch.qint8, inplace=True)
            bottom = []
            if quantize_bottom:
                for layer in model.bottom_layers:
                    # copy the modules but not the parameters, then swap the copy's Linears in place:
                    # the shared base keeps its float modules and tensors
                    shell = copy.deepcopy(layer, memo={id(t): t for t in [*layer.parameters(), *layer.buffers()]})
                    bottom.append(quantize_dynamic(shell, {nn.Linear}, dtype=torch.qint8, inplace=True))
    except (ImportError, AttributeError, RuntimeError) as exc:  # a torch without it: stay in float
        import logging

        logging.getLogger(__name__).warning("reader stays in float32: int8 quantization unavailable (%s)", exc)
        return model
    model.top = top
    if quantize_bottom:
        model.bottom_layers = bottom
    return model


# --------------------------------------------------------------------------- paragraphs and evaluation

_SENT_END = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[」』）)]*|\n|$)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Char spans of the sentences of `text` (split after 。！？ and at newlines), whitespace-trimmed."""
    spans = []
    for m in _SENT_END.finditer(text):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans
