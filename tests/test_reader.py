"""The reader (qa/reader.py): file format, identity checks and robustness with a tiny random
model and a character tokenizer; one slow test with the real shipped weights."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from qa import reader as R
from qa.errors import QAError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reader_kit import tiny, tiny_base  # noqa: E402,F401  (fixture)


def _training_script():
    """scripts/train_reader.py as a module (scripts/ is not a package)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import train_reader

    return train_reader


PIECES = [
    ("スライド > 見出し", "海外特別研究員事業では毎年約300名を派遣している。"),
    ("", ""),
    ("ctx", "ABC"),
    ("", "!!!"),
    ("title", "abc " * 750),  # 3,000 characters: truncated
    ("English context", "The WPI programme hosts 30% foreign researchers."),
    ("記号", "【1位】中国 35.3% 【2位】ドイツ 9.7% ☃ \u200b \t"),
]


def test_export_load_round_trip(tiny):
    root, base, model, weights = tiny
    side = json.loads(R.sidecar(weights).read_text())
    assert side["sha256"] == R.sha256_file(weights)
    assert side["base_weights_sha256"] == "tiny-sha" and side["layers"] == [6, 7, 8, 9, 10, 11]
    assert side["base_model"] == R.BASE_MODEL_ID and side["format"] == R.FORMAT_VERSION
    reader = R.Reader.load(weights, base=base, quantize=False)
    assert reader.model.base is base  # shared, not copied
    q = "海外特別研究員は毎年何名派遣していますか"
    batch = R.encode(reader.tokenizer, q, PIECES)
    model.eval()
    with torch.no_grad():
        want = model(batch.input_ids, batch.attention_mask)
        got = reader.model(batch.input_ids, batch.attention_mask)
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, atol=2e-2, rtol=2e-2)  # fp16 storage
    # the file holds only the reader's layers and heads
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as f:
        keys = list(f.keys())
        assert all(f.get_tensor(k).dtype == torch.float16 for k in keys)
    assert keys and all(k.startswith(("top.", "span_head.", "cls_head.")) for k in keys)
    assert {k.split(".")[1] for k in keys if k.startswith("top.")} == {"0", "1", "2", "3", "4", "5"}


def test_load_without_sidecar_or_file(tiny, tmp_path):
    root, base, _, weights = tiny
    with pytest.raises(R.ReaderError, match="not found"):
        R.Reader.load(tmp_path / "nope.safetensors", base=base)
    lone = tmp_path / "reader.safetensors"
    lone.write_bytes(weights.read_bytes())
    with pytest.raises(R.ReaderError, match="sidecar"):
        R.Reader.load(lone, base=base)
    assert issubclass(R.ReaderError, QAError)


def test_damaged_weights_are_refused(tiny, tmp_path):
    root, base, _, weights = tiny
    bad = tmp_path / "reader.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    R.sidecar(bad).write_text(R.sidecar(weights).read_text())
    with pytest.raises(R.ReaderError, match="damaged"):
        R.Reader.load(bad, base=base)


def test_weights_for_another_base_are_refused(tiny, tmp_path):
    root, base, _, weights = tiny
    other = tiny_base(tmp_path / "other", seed=5)  # same shape, other values, same qa_model.json sha
    with pytest.raises(R.ReaderError, match="another base"):
        R.Reader.load(weights, base=other)
    wider = tiny_base(tmp_path / "wider", seed=0, hidden=32)
    with pytest.raises(R.ReaderError, match="another base"):
        R.Reader.load(weights, base=wider)
    # same values, but the model folder says it is other base weights
    renamed = tiny_base(tmp_path / "renamed", seed=0, weights_sha="other-sha")
    with pytest.raises(R.ReaderError, match="base weights"):
        R.Reader.load(weights, base=renamed)


@pytest.mark.parametrize("quantize", [False, "bf16", "top", "all"])
def test_odd_inputs_and_span_offsets(tiny, quantize):
    root, base, _, weights = tiny
    reader = R.Reader.load(weights, base=base, quantize=quantize)
    for question in ["海外特別研究員は毎年何名派遣していますか", "", "!!!", "What is WPI?", "質問" * 500]:
        readings = reader.read(question, PIECES)
        assert len(readings) == len(PIECES)
        for (ctx, piece), r in zip(PIECES, readings):
            assert isinstance(r, R.Reading) and r.score == r.score  # not NaN
            if r.span is not None:
                a, b = r.span
                assert 0 <= a < b <= len(piece)
                assert piece[a:b] == piece[a:b].strip()
        assert readings[1].span is None  # an empty piece has no span
    assert reader.read("q", []) == []
    # order of the pieces does not change what each gets
    rev = reader.read("海外", PIECES[::-1])[::-1]
    fwd = reader.read("海外", PIECES)
    assert [r.span for r in rev] == [r.span for r in fwd]
    assert all(abs(a.score - b.score) < 1e-3 for a, b in zip(rev, fwd))


def test_loading_does_not_touch_the_shared_base(tiny):
    root, base, _, weights = tiny
    before = {k: v.clone() for k, v in base.state_dict().items()}
    R.Reader.load(weights, base=base, quantize=True).read("a", [("b", "c")])
    after = base.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(type(m).__module__.startswith("torch.nn.modules") or "quantized" not in type(m).__module__ for m in base.modules())


def test_span_length_costs_per_extra_token():
    start = torch.tensor([[0.0, 2.0, 0.0, 0.0]])
    end = torch.tensor([[0.0, 1.0, 0.0, 1.3]])  # span 1..1 scores 3.0, span 1..3 scores 3.3 before the cost
    mask = torch.tensor([[False, True, True, True]])
    assert R.best_spans(start, end, mask, length_cost=0.0)[0][:2] == (1, 3)
    i, j, score = R.best_spans(start, end, mask, length_cost=0.2)[0]
    assert (i, j) == (1, 1) and score == pytest.approx(3.0)
    assert R.best_spans(start, end, mask, length_cost=0.1)[0] == (1, 3, pytest.approx(3.1))


def test_pick_sentence_prefers_the_sentence_holding_the_question_words(monkeypatch):
    para = "猫は魚を好む。犬は骨を好む。"
    spans = [(0, 7), (7, 14)]
    readings = [R.Reading(score=0.0, span=(2, 3), span_score=4.5), R.Reading(score=0.0, span=(2, 3), span_score=4.0)]
    # content words 犬, 何, 好む: 4.0 + 2 x 2/3 > 4.5 + 2 x 1/3
    assert R.pick_sentence("犬は何を好む", para, spans, readings) == 1
    monkeypatch.setattr(R, "OVERLAP", 0.0)
    assert R.pick_sentence("犬は何を好む", para, spans, readings) == 0


def test_pick_sentence_passes_over_a_span_that_is_not_the_kind_asked():
    para = "参加者は多かった。参加者は300名だった。"
    spans = [(0, 9), (9, 21)]
    readings = [R.Reading(score=0.0, span=(4, 7), span_score=6.0), R.Reading(score=0.0, span=(4, 8), span_score=3.0)]
    assert R.pick_sentence("参加者は何名", para, spans, readings) == 1  # 「多かっ」 is no count
    assert R.pick_sentence("参加者はどうだった", para, spans, readings) == 0


class _NeedleReader:
    """Reads `needle` as the answer wherever it is."""

    def __init__(self, needle: str):
        self.needle, self.calls = needle, []

    def read(self, question, pieces):
        self.calls.append([p for _, p in pieces])
        found = [p.find(self.needle) for _, p in pieces]
        return [R.Reading(1.0, (at, at + len(self.needle)), 2.0) if at >= 0 else R.Reading(-1.0, None, float("-inf"))
                for at in found]


def test_sentence_span_reads_each_sentence_and_returns_offsets_in_the_text(monkeypatch):
    reader = _NeedleReader("約300名")
    text = "事業の概要。毎年約300名を派遣。"
    assert R.sentence_span(reader, "何名", "ctx", text) is None and not reader.calls  # short: read whole by the caller
    monkeypatch.setattr(R, "SENTENCE_CHARS", 10)
    assert R.sentence_span(reader, "何名", "ctx", text).span == (text.index("約300名"), text.index("約300名") + 5)
    assert reader.calls == [["事業の概要。", "毎年約300名を派遣。"]]
    assert R.sentence_span(reader, "何名", "ctx", "毎年約300名を派遣。") is None  # one sentence: the caller's reading stands
    assert R.sentence_span(_NeedleReader("無い"), "何名", "ctx", text) is None


def test_read_keeps_the_end_of_a_piece_longer_than_training_length(tiny, monkeypatch):
    root, base, _, weights = tiny
    reader = R.Reader.load(weights, base=base)
    piece = "abc " * 50 + "300"  # 203 characters, one token each with the tiny tokenizer

    def last_token(start, end, piece_mask, **_):  # a reader that always points at the piece's last token
        return [(int(m.nonzero().max()),) * 2 + (0.0,) for m in piece_mask]

    monkeypatch.setattr(R, "best_spans", last_token)
    assert piece[slice(*reader.read("q", [("", piece)])[0].span)] == "300"  # read to the end (the whole number)
    cut = reader.read("q", [("", piece)], max_len=R.MAX_LEN)[0].span
    assert cut[1] < len(piece) - 50


def test_training_examples_and_targets(tmp_path):
    """The training script's example builder: spans match, perturbed questions lose their item."""
    T = _training_script()

    ctx = "海外特別研究員事業では2024年に約300名を派遣した。2026年には東京で会合が開かれた。別の文です。"
    arts = [{"title": "研究", "paragraphs": [
        {"context": ctx, "qas": [{"id": "1", "question": "2024年に何名派遣しましたか",
                                  "answers": [{"text": "約300名", "answer_start": ctx.index("約300名")}]}]},
        {"context": "他の段落の文です。1999年の話。", "qas": []},
    ]}]
    found = {}
    for seed in range(30):
        for ex in T.build_examples(arts, seed=seed):
            found.setdefault(ex["kind"], ex)
    pos = found["pos"]
    assert pos["piece"] == "海外特別研究員事業では2024年に約300名を派遣した。"
    assert pos["piece"][pos["ans"][0]:pos["ans"][1]] == "約300名"
    assert found["neg_perturbed"]["q"] in ("2026年に何名派遣しましたか", "1999年に何名派遣しましたか")
    assert "約300名" not in found["neg_same"]["piece"]
    assert T.auc(__import__("numpy").array([0.1, 0.9, 0.4, 0.8]), __import__("numpy").array([0, 1, 0, 1])) == 1.0


def test_shared_normalisation_groups_and_loss():
    """Groups hold every sentence of the paragraph with the answer in one; the loss
    prefers the gold sentence's span over the same logits put on another sentence."""
    T = _training_script()

    ctx = "一つ目の文。海外特別研究員事業では約300名を派遣した。三つ目の文。"
    arts = [{"title": "研究", "paragraphs": [{"context": ctx, "qas": [
        {"id": "1", "question": "何名派遣しましたか", "answers": [{"text": "約300名", "answer_start": ctx.index("約300名")}]}]}]}]
    (group,) = T.build_groups(arts, seed=0, n=5)
    assert [ex["ans"] is not None for ex in group] == [False, True, False]
    gold = group[1]
    assert gold["piece"][gold["ans"][0]:gold["ans"][1]] == "約300名"

    piece = torch.ones(3, 6, dtype=torch.bool)
    piece[:, 0] = False  # <s> is never part of a piece
    st, en = torch.tensor([0, 2, 0]), torch.tensor([0, 3, 0])
    start, end = torch.zeros(3, 6), torch.zeros(3, 6)
    start[1, 2] = end[1, 3] = 8.0  # the gold span scores high
    right = T.shared_norm_loss(start, end, piece, [3], st, en)
    wrong = T.shared_norm_loss(start.roll(1, 0), end.roll(1, 0), piece, [3], st, en)  # same logits, wrong sentence
    assert float(right) < 0.1 < float(wrong)


def test_training_windows_hold_the_answer_within_the_size():
    T = _training_script()

    ctx = "".join(f"{i}番目の文はここにある。" for i in range(30)) + "海外特別研究員事業では約300名を派遣した。最後の文。"
    other = "別の段落の文。" * 5
    arts = [{"title": "研究", "paragraphs": [
        {"context": ctx, "qas": [{"id": "1", "question": "何名派遣しましたか", "answers": [{"text": "約300名", "answer_start": ctx.index("約300名")}]}]},
        {"context": other, "qas": []}]}]
    wins = T.build_windows(arts, seed=0, n=1, max_chars=120, p_neg=0.0)
    assert len(wins) == 1 and wins[0]["kind"] == "win"
    (w,) = wins
    assert w["piece"][w["ans"][0]:w["ans"][1]] == "約300名" and len(w["piece"]) <= 120 and w["piece"] in ctx
    (neg,) = T.build_windows(arts, seed=0, n=1, p_neg=1.0)
    assert neg["ans"] is None and neg["piece"] in other


def test_featurize_targets_the_answer_tokens(tiny):
    """Training features point start/end at the tokens of the answer, <s> for a negative."""
    T = _training_script()

    root, *_ = tiny
    tok = R.load_tokenizer(root / "base")
    piece = "海外特別研究員事業では毎年約300名を派遣。"
    at = piece.index("300")
    pos, neg = T.featurize(tok, [dict(q="何名か", ctx="", piece=piece, ans=(at, at + 3), kind="pos"),
                                 dict(q="何名か", ctx="", piece=piece, ans=None, kind="neg_same")])
    a, b = pos["offsets"][pos["start_pos"]][0], pos["offsets"][pos["end_pos"]][1]
    assert piece[a:b] == "300" and pos["label"] == 1
    assert (neg["start_pos"], neg["end_pos"], neg["label"]) == (0, 0, 0)


REAL = R.WEIGHTS


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_file(), reason="reader weights not committed yet")
def test_real_reader_finds_the_number():
    reader = R.Reader.load()
    piece = "海外特別研究員事業では毎年約300名を派遣している。"
    good, other = reader.read(
        "海外特別研究員は毎年何名派遣していますか",
        [("海外特別研究員", piece), ("研究力", "論文数の国際シェアは化学で中国が35.3%と最も高い。")],
    )
    assert good.span is not None and piece[good.span[0] : good.span[1]] == "約300名"
    assert good.score > other.score


@pytest.mark.parametrize(
    "text, short",
    [
        ("14か国 【プロジェクト数", "14か国"),  # never across a 【field】 marker
        ("FA)】●フランス国立研究機構", "フランス国立研究機構"),
        ("：2024年5月", "2024年5月"),  # no edge punctuation
        ("「A I の光と影」", "「A I の光と影」"),  # balanced quotes stay
        ("。、", ""),
    ],
)
def test_span_trimming(text, short):
    a, b = R._trim(text, 0, len(text))
    assert text[a:b] == short


@pytest.mark.parametrize(
    "text, read, short",
    [
        ("ERIAは2008年6月に設立", "2008年6月に", "2008年6月"),  # a trailing particle goes
        ("加盟国は80か国の規模", "80か国の", "80か国"),
        ("2025年1月に協力趣意書に署名", "1月に", "2025年1月"),  # the month takes its year
        ("同年1月に署名", "1月", "1月"),  # no year written before it: left alone
        ("1603年2月に死去", "2月", "1603年2月"),  # any four-digit year
        ("1983年にアニメ化", "年", "1983年"),  # never starting inside a number
        ("予算は955億ユーロ規模", "5億ユーロ", "955億ユーロ"),
        ("成長率は3.5%だった", "5%", "3.5%"),
        ("約300名を派遣", "300名", "300名"),  # 約 is not a digit: left alone
        ("A320の開発", "320", "A320"),  # nor inside a word of Latin letters and digits
        ("葬式は4月28日に", "28日", "4月28日"),  # a day takes its month
        ("2025年1月28日に署名", "28日", "2025年1月28日"),  # ... and then the month its year
        ("令和6年8月2日閣議決定", "8月2日", "令和6年8月2日"),  # an era's year too
        ("毎年約300名を派遣", "約300名", "約300名"),  # nothing to tidy
        ("東京で", "で", "で"),  # never emptied
    ],
)
def test_span_is_a_phrase(text, read, short):
    a = text.index(read)
    a, b = R._trim(text, a, a + len(read))
    assert text[a:b] == short


def test_an_empty_span_at_the_end_stays_empty():
    assert R._phrase("A320", 4, 4) == (4, 4) and R._trim("A320。", 4, 5) == (5, 5)
