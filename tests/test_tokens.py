import pytest

from qa.tokens import normalize, squash, terms, tokenize


@pytest.mark.parametrize(
    "text",
    ["WPIでは研究者の30%以上が外国から。", "A I 分野\tG 7\n", "  先頭と末尾の空白  ", "絵文字😀と半角ｶﾅ"],
)
def test_token_spans_rebuild_the_text(text):
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.surface for t in tokens)
    edges = [0] + [x for t in tokens for x in (t.start, t.end)] + [len(text)]
    gaps = [text[a:b] for a, b in zip(edges[::2], edges[1::2])]
    assert all(not g.strip() for g in gaps)  # only white space lies between tokens


@pytest.mark.parametrize(
    "raw, expected",
    [("Ａ Ｉ 分野", "ai 分野"), ("G 7", "g7"), ("G 2 0", "g20"), ("E Uデジタル", "euデジタル"), ("Horizon Europe", "horizon europe")],
)
def test_normalize_joins_spaced_latin_letters(raw, expected):
    assert normalize(raw) == expected


def test_terms_drop_particles_and_punctuation():
    assert terms("G7科学技術大臣会合は、どこで開催？") == ["g", "7", "科学", "技術", "大臣", "会合", "どこ", "開催"]


def test_squash_ignores_width_and_spaces():
    assert squash("３０％ 以上") == squash("30%以上")


# --- long texts: MeCab only ever sees bounded windows --------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402

from qa import tokens  # noqa: E402
from qa.tokens import MAX_WINDOW, count_tokens, windows  # noqa: E402

LONG = {
    "prose": "WPIでは研究者の30%以上が外国から。 A I 分野\tG 7 の会合。" * 300,
    "no-breaks": "研究開発投資の対GDP比は主要国と比べて低い水準にとどまる" * 200,
    "base64": "QUJD" * 3000,
    "digits": "7" * 9000,
    "emoji-zwj": "👨\u200d👩\u200d👧" * 2000,
    "combining": "か\u3099" * 3000,
    "spaces": ("語 " * 2000) + " " * 5000 + "終わり  ",
}


def assert_rebuilds(text, toks):
    assert all(text[t.start : t.end] == t.surface for t in toks)
    edges = [0] + [x for t in toks for x in (t.start, t.end)] + [len(text)]
    assert all(not text[a:b].strip() for a, b in zip(edges[::2], edges[1::2]))  # only white space between


@pytest.mark.parametrize("name", LONG)
def test_long_text_goes_to_mecab_in_bounded_windows_with_exact_spans(name, monkeypatch):
    text = LONG[name]
    assert len(text) > MAX_WINDOW
    real, sizes = tokens._tagger(), []

    def spy(chunk):
        sizes.append(len(chunk))
        return real(chunk)

    monkeypatch.setattr(tokens, "_tagger", lambda: spy)
    toks = tokenize(text)
    assert max(sizes) <= MAX_WINDOW and len(sizes) >= len(text) // MAX_WINDOW
    assert_rebuilds(text, toks)
    assert count_tokens(text) == len(toks)


@pytest.mark.parametrize("name", LONG)
def test_windows_cover_the_text_and_cut_at_breaks(name):
    text = LONG[name]
    spans = windows(text, 63)  # odd: a hard cut lands between a kana and its mark
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a < b <= a + 63 for a, b in spans) and all(b == c for (_, b), (c, _) in zip(spans, spans[1:]))
    for _, b in spans[:-1]:
        assert text[b] not in "\u3099\u200d"  # never right before a combining mark or a joiner
        if name in ("prose", "spaces"):
            assert not text[b - 1].isalnum()  # these have breaks in every window: cut after one


def test_short_text_is_one_window():
    assert windows("短い文。") == [(0, 4)] and windows("") == [(0, 0)]


def test_a_line_that_crashed_mecab_is_tokenized():
    """'QUJD' * 50_000 (200 KB, one line) made MeCab segfault (exit 139); run in a
    child process so a regression fails this test instead of killing the run."""
    code = ("from qa.tokens import tokenize, count_tokens; text = 'QUJD' * 100_000; toks = tokenize(text); "
            "assert ''.join(t.surface for t in toks) == text; print(count_tokens('A' * 250_000))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-1000:])
    assert int(done.stdout) > 0
