"""Follow-up questions read with the previous question's subject (qa.followup)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.followup import NOTE_PREFIX, read_followup, subject_of

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold.jsonl"
SATREPS = "SATREPSの実施国数は？"


@pytest.mark.parametrize("question, subject", [
    (SATREPS, "SATREPS"),
    ("SATREPSの実施実績でアジアのプロジェクト数は？", "SATREPS"),
    ("Horizon Europeの予算規模は？", "Horizon Europe"),
    ("2024年のG7科学技術大臣会合はどこで開催されましたか？", "2024年のG7科学技術大臣会合"),
    ("WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？", "WPI"),
    ("海外特別研究員事業で毎年何名の若手研究者を派遣していますか？", "海外特別研究員事業"),
    ("日本の研究者の海外派遣の人数は？", "日本の研究者の海外派遣"),
    ("いつからですか？", ""),
])
def test_subject_is_the_first_specific_noun_phrase_without_the_attribute_asked(question, subject):
    assert subject_of(question) == subject


@pytest.mark.parametrize("question, reading", [
    ("それはいつからですか？", "SATREPSはいつからですか？"),
    ("その予算は？", "SATREPSの予算は？"),
    ("これの開始年は？", "SATREPSの開始年は？"),
    ("同事業の目的は？", "SATREPSの目的は？"),
    ("この事業の目的は何ですか", "SATREPSの目的は何ですか"),
    ("当該プログラムの対象国は？", "SATREPSの対象国は？"),
    ("上記の件数は？", "SATREPSの件数は？"),
    ("それとWPIの違いは？", "SATREPSとWPIの違いは？"),
    # no subject of its own
    ("いつからですか？", "SATREPSはいつからですか？"),
    ("予算規模はいくらですか", "SATREPSの予算規模はいくらですか"),
    ("何か国で実施されていますか", "SATREPSは何か国で実施されていますか"),
    ("では、予算は？", "では、SATREPSの予算は？"),
    ("その後の予算は？", "SATREPSのその後の予算は？"),
])
def test_a_question_pointing_back_is_read_with_the_previous_subject(question, reading):
    out = read_followup(question, SATREPS)
    assert out.question == reading
    assert out.note == NOTE_PREFIX + reading and out.subject == "SATREPS" and out.rewritten


@pytest.mark.parametrize("question", [
    "WPIの外国人研究者の比率は？",  # a subject of its own
    "アジアでは？",
    "SATREPSはいつから？",
    "この資料の日付は？",  # the deck itself
    "この「グローバル戦略の在り方について」の資料は、いつの会議で配布されたものですか？",
    "WPIとそれの違いは？",  # それ after a subject of the question's own
    "？？？",
    "",
])
def test_a_question_of_its_own_is_left_alone(question):
    out = read_followup(question, SATREPS)
    assert out.question == question and out.note == "" and not out.rewritten


def test_a_question_naming_only_a_place_asks_the_previous_question_about_it():
    out = read_followup("ドイツは？", "フランスの研究予算は？")
    assert out.question == "ドイツの研究予算は？" and out.subject == "ドイツ"
    assert out.note == NOTE_PREFIX + "ドイツの研究予算は？"
    assert read_followup("中国については？", "韓国の材料科学での順位は？").question == "中国の材料科学での順位は？"
    assert read_followup("では、韓国は？", "日本は何位ですか？").question == "では、韓国は何位ですか？"
    assert not read_followup("フランスは？", "フランスの研究予算は？").rewritten  # the same place
    assert not read_followup("G7は？", "G20の開催場所は？").rewritten  # not a place: left as it is


def test_what_a_name_stands_for_is_asked_of_the_previous_subject():
    assert read_followup("何の略ですか？", "ERIAはいつ設立されましたか？").question == "ERIAは何の略ですか？"


def test_nothing_to_borrow_leaves_the_question_alone():
    assert read_followup("それはいつからですか？", None).question == "それはいつからですか？"
    assert read_followup("それはいつからですか？", "").note == ""
    assert read_followup("それはいつからですか？", "いつですか？").note == ""  # no subject there


def test_a_chain_of_follow_ups_keeps_the_subject():
    first = read_followup("それはいつからですか？", SATREPS)
    second = read_followup("その予算は？", first.question)
    assert second.question == "SATREPSの予算は？"


def test_the_note_is_cut_for_long_readings():
    out = read_followup("それは" + "とても" * 40 + "重要ですか？", SATREPS)
    assert out.question.startswith("SATREPSは") and out.note.endswith("…")
    assert len(out.note) == len(NOTE_PREFIX) + 81


def test_deterministic():
    assert {read_followup("それはいつからですか？", SATREPS) for _ in range(5)} == {
        read_followup("それはいつからですか？", SATREPS)
    }


def test_no_gold_question_is_taken_for_a_follow_up():
    """Every question of the gold set stands on its own: none may be rewritten."""
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(questions) > 100
    for previous in (SATREPS, "Horizon Europeの予算規模は？"):
        rewritten = [q for q in questions if read_followup(q, previous).rewritten]
        assert rewritten == []
