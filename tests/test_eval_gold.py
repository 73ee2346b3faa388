import json

import pytest

from conftest import REPO
from qa.corpus import load_corpus
from qa.errors import InputError
from qa.eval.gold import KINDS, load_gold

DOCS = load_corpus(REPO / "corpus", REPO)
GOOD = {"id": "x1", "question": "開催地は？", "answers": ["ボローニャ"], "evidence": ["イタリア・ボローニャ"],
        "slides": [20], "kind": "name", "answerable": True, "split": "dev"}


def test_repository_gold_set_is_valid_and_covers_the_deck():
    items = load_gold(REPO / "eval" / "gold.jsonl", DOCS)
    assert len(items) >= 120
    answerable = [it for it in items if it.answerable]
    assert {s for it in answerable for s in it.slides} == set(range(1, 35))
    for kind in KINDS:
        assert sum(it.kind == kind for it in items) >= 10, kind
    assert sum(not it.answerable for it in items) >= 20
    assert {it.split for it in items} == {"dev", "test"}


def test_second_corpus_gold_set_is_valid():
    folder = REPO / "eval" / "mext_ai"
    items = load_gold(folder / "gold.jsonl", load_corpus(folder / "corpus", folder))
    assert len(items) == 180 and len({it.id for it in items}) == 180
    assert sum(not it.answerable for it in items) >= 20 and {it.split for it in items} == {"dev", "test"}


def _write(tmp_path, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "line 2: not valid JSON"),
        ({k: v for k, v in GOOD.items() if k != "evidence"} | {"id": "x2"}, "line 2: missing field 'evidence'"),
        (GOOD | {"id": "x2", "evidence": ["資料に無い文字列"]}, "line 2: evidence '資料に無い文字列' does not occur"),
        (GOOD, "line 2: duplicate id 'x1'"),
        (GOOD | {"id": "x2", "slides": [99]}, "line 2: slide 99 does not exist"),
        (GOOD | {"id": "x2", "kind": "trivia"}, "line 2: unknown kind"),
        (GOOD | {"id": "x2", "answerable": "yes"}, "line 2: field 'answerable' must be a bool"),
    ],
)
def test_bad_gold_lines_are_named(tmp_path, bad, message):
    with pytest.raises(InputError, match=message):
        load_gold(_write(tmp_path, [GOOD, bad]), DOCS)


def test_good_file_loads(tmp_path):
    items = load_gold(_write(tmp_path, [GOOD]), DOCS)
    assert items[0].slides == (20,) and items[0].answers == ("ボローニャ",)
