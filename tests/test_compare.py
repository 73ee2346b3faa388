import pytest

from qa.answer import subjects
from qa.compare import merge, split_pair
from qa.results import Answer, Passage, Quote


def pair(question):
    return split_pair(question, subjects)


def test_a_comparison_of_two_named_subjects_is_asked_of_each():
    got = pair("G7とG20の科学技術大臣会合の開催地を比べてください")
    assert (got.first, got.second) == ("G7", "G20")
    assert got.questions == ("G7の科学技術大臣会合の開催地は", "G20の科学技術大臣会合の開催地は")


@pytest.mark.parametrize(
    "question, asked",
    [
        ("WPIとSATREPSでは、どちらが先に始まりましたか？", "WPIでは、いつ始まりましたか？"),
        ("日本とドイツでは、化学分野の割合はどちらが高いですか？", "日本では、化学分野の割合はどれくらいですか？"),
        ("米国と中国の科学技術政策の違いは？", "米国の科学技術政策は？"),
        ("英国とフランスの研究予算を比べてください", "英国の研究予算は"),  # asks for an amount, as 「予算は」 does
        ("日本とEUでは、関わり方はどう違いますか？", "日本では、関わり方はどうなっていますか？"),
        ("EUと米国では、協定を先に結んだのはどちらですか？年月で比べてください。", "EUでは、協定を結んだのはいつですか？"),
    ],
)
def test_the_comparing_words_become_a_plain_question(question, asked):
    assert pair(question).questions[0] == asked


@pytest.mark.parametrize(
    "question",
    [
        "G7とG20の科学技術大臣会合はいつですか？",  # two names, nothing compared: one question
        "量子分野とフュージョン分野ではそれぞれどんな動きがありましたか？",  # common nouns, not names
        "フランスの複数年研究計画法とフランス2030の予算をそれぞれ教えてください",  # one row answers both
        "中国・ロシアとの協力と英国との関係をそれぞれどう位置づけていますか？",  # と is not between the names
        "日本とEUがともに進めている分野は何ですか？",  # one thing done together
    ],
)
def test_other_questions_are_left_whole(question):
    assert pair(question) is None


@pytest.mark.slow
def test_each_subject_gets_its_own_quote_and_citation(real_answerer):
    answer = real_answerer.ask("G7とG20の科学技術大臣会合の開催地を比べてください")
    assert [q.text for q in answer.quotes] == ["開催場所：イタリア・ボローニャ", "開催場所: ブラジル・マナウス"]
    assert [q.citation for q in answer.quotes] == [1, 2]
    assert [c.slide for c in answer.citations] == [20, 21] and [c.rank for c in answer.citations] == [1, 2]
    assert answer.short_answer == "G7：ボローニャ、G20：ブラジル・マナウス"


def _answer(short, quote, passage, start=0):
    if short is None and not quote:
        return Answer("q", True, (), (), confidence=0.6)
    cited = Passage(1, 0.9, "deck", "corpus/deck.txt", 3, "title", passage, start, start + len(passage))
    return Answer("q", False, (Quote(quote, 1),), (cited,), short_answer=short, confidence=0.8)


def test_the_answers_are_merged_onto_one_list_of_citations():
    pair = split_pair("G7とG20の開催地を比べてください", lambda _: {"g7", "g20"})
    merged = merge("q", pair, [_answer("ボローニャ", "開催場所：ボローニャ", "A"), _answer("マナウス", "開催場所：マナウス", "B", 100)])
    assert [(q.text, q.citation) for q in merged.quotes] == [("開催場所：ボローニャ", 1), ("開催場所：マナウス", 2)]
    assert [c.rank for c in merged.citations] == [1, 2] and merged.short_answer == "G7：ボローニャ、G20：マナウス"
    same = merge("q", pair, [_answer("39大学", "39大学", "A"), _answer("39大学", "39大学", "A")])
    assert len(same.quotes) == len(same.citations) == 1 and same.short_answer is None  # one value cannot answer both
    half = merge("q", pair, [_answer("ボローニャ", "開催場所：ボローニャ", "A"), _answer(None, "", "")])
    assert not half.abstained and "G20" in half.notice and half.short_answer == "G7：ボローニャ"
    assert half.confidence == 0.8  # the abstaining part's confidence is in its abstention
