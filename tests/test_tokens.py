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
