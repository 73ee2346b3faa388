"""Shared pieces of the reader tests (tests/test_reader.py, tests/test_eval_rc.py): a
12-layer BertModel with hidden size 16 and a character tokenizer, and a reader file
exported on top of it. Test modules import the fixtures they use from here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from qa import reader as R

CHARS = "abcdefghijklmnopqrstuvwxyzABC0123456789 。、!?>\n海外特別研究員事業では毎年約300名を派遣しているか何"


def tiny_base(folder: Path, seed: int, hidden: int = 16, weights_sha: str = "tiny-sha"):
    """A 12-layer BertModel with hidden size 16 saved with a char tokenizer and a qa_model.json."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + sorted(set(CHARS)))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B:1 </s>:1", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=12, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=512, pad_token_id=1,
    )
    BertModel(config).save_pretrained(folder)
    (folder / "qa_model.json").write_text(json.dumps({"model": "tiny", "weights_sha256": weights_sha}))
    return R.load_base(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("reader")
    base = tiny_base(root / "base", seed=0)
    torch.manual_seed(1)
    model = R.ReaderModel(base)
    with torch.no_grad():  # heads that are not all-zero-ish so spans vary
        for p in model.span_head.parameters():
            p.normal_(0, 1.0)
    weights = root / "w" / "reader.safetensors"
    R.export(model, weights, root / "base")
    return root, base, model, weights
