"""Answers quoted from the deck: table-driven on the real model, plus fast unit tests."""

import numpy as np
import pytest

from qa.answer import (AnswerSettings, Candidate, Signals, about_document, abstain, asked_part, asked_words,
                       beyond_title_page, bodies, choose, cites_asked, content_words, disagree, glosses, is_english,
                       key_terms, other_body, own_country, subjects, titled, unseen)
from qa.errors import InputError
from qa.results import NOT_FOUND
from qa.tokens import squash

# (question, a string the answer must hold, slide whose passage must be cited)
ANSWERABLE = [
    ("WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？", "30%以上", 13),
    ("海外特別研究員事業では毎年何名の若手研究者を派遣していますか？", "約300名", 12),
    ("2024年のG7科学技術大臣会合はどこで開催されましたか？", "ボローニャ", 20),
    ("G20研究・イノベーション大臣会合の開催場所はどこですか？", "マナウス", 21),
    ("G20研究・イノベーション大臣会合はいつ開催されましたか？", "2024年9月18日～19日", 21),
    ("在外公館の科学技術フェローは2025年4月時点で何名ですか？", "6名", 22),
    ("SATREPSは2025年4月現在、何か国でプロジェクトを実施していますか？", "36か国", 16),
    ("SATREPSのアフリカでのプロジェクト数は？", "45プロジェクト", 16),
    ("さくらサイエンスプログラムの日印交流で、支援額は一人当たりいくらですか？", "300万円", 17),
    ("仙台防災枠組が採択されたのはどの会議ですか？", "第3回国連防災世界会議", 14),
    ("ERIAはいつ設立されましたか？", "2008年6月", 19),
    ("OECDには何か国が加盟していますか？", "38か国", 19),
    ("日ASEAN科学技術・イノベーション協働連携事業の予算規模はいくらですか？", "約146億円", 15),
    ("STSフォーラムは誰の発案で創立されましたか？", "尾身幸次", 24),
    ("2019-2021年の米国の化学分野の国際共著相手で2位の国と割合は？", "ドイツ 9.7%", 7),
    ("日本の外務大臣科学技術顧問が設置されたのは何年ですか？", "2015", 23),
    ("英国の政府首席科学顧問（GCSA）の所属機関はどこですか？", "首相府", 23),
    ("フランスの複数年研究計画法の予算はいくらですか？", "250億ユーロ", 29),
    ("韓国はグローバルR&Dに2024年から3年間でいくら投資する予定ですか？", "5.4兆ウォン", 30),
    ("「一帯一路」国際科学組織連盟には何カ国の組織が参加していますか？", "52カ国", 31),
    ("OECDの科学技術における国際協力の勧告は何年に改定されましたか？", "2021年", 33),
    ("「科学外交の新たなフロンティア」を発表したのはどこですか？", "米国科学振興協会", 32),
    ("EU・ASEAN戦略的パートナーシップが締結されたのはいつですか？", "2020年12月", 15),
    ("本資料はいつ作成されましたか？", "2025年5月22日", 1),  # about the document: its title page
    ("この資料のタイトルは何ですか？", "グローバル戦略の在り方について", 1),  # the title page's heading
    ("イギリスの政府首席科学顧問の所属機関はどこですか？", "首相府", 23),  # the deck writes 英国
    ("インドの大学院生を何人受け入れますか？", "270人", 17),  # the bullet that counts people, not the one before it
    ("2019-2021年の米国の国際共著相手国ランキングは、どの資料に基づいていますか？", "科学研究のベンチマーキング2023", 7),  # its source line
    # a source line dates the document it quotes
    ("外務省の科学技術外交推進会議が「科学技術力の基盤強化」に係る提言を提出したのはいつですか？", "2022年6月", 22),
    # a source line dates what the body asked about published
    ("日本がHorizon Europeへの準参加協定の交渉を始めたことを外務省が発表したのはいつですか？", "2024年11月", 6),
    # a source line asked for as what a page was made from
    ("世界トップレベル研究拠点プログラムのページは、何を基に作成されていますか？", "経済社会の活力", 13),
    # about Japan: not the UK's or Germany's row of the same table
    ("研究セキュリティについて日本は何をしていますか", "諸外国と同等レベルの研究セキュリティ", 8),
]

ENGLISH = [
    ("How many young researchers does Japan send abroad each year under the overseas research fellowship?", "300名", 12),
    ("Where was the G20 research and innovation ministers' meeting held?", "マナウス", 21),
    ("What share of WPI researchers must come from abroad?", "30%", 13),
    ("Who made this document?", "内閣府", 1),  # its title page, however dissimilar in English
    ("When was this slide deck presented?", "2025年5月22日", 1),
]

UNANSWERABLE = [
    "2026年の日本の消費税率は何%ですか？",
    "オーストラリアの首都はどこですか？",
    "来年の東京の桜の開花予想日はいつですか？",
    "東京から大阪までの新幹線の所要時間は？",
    "東京都の人口は何人ですか？",
    "What is the boiling point of ethanol?",
    # Near misses: the deck has the subject and the kind of figure, but not for each other.
    "SATREPSの年間予算はいくらですか？",  # the only budgets nearby are France's
    "日本の科学技術予算の総額は？",  # the nearest budget is on France's slide
    "STSフォーラムの参加者数は？",  # the slide says who takes part, not how many
    "2026年のG7科学技術大臣会合はどこで開催されますか？",  # the slide is about 2024
    "EUの研究セキュリティ勧告はいつ採択されましたか？",  # the only nearby date is Horizon Europe's 2021～2027年
    "Horizon Europeの次の枠組みプログラム（2028年以降）の予算規模はいくらですか？",  # the deck never names 2028
    "「量子未来産業創出戦略」の予算はいくらですか？",  # nor this strategy
    "ERIAの本部はどこの都市にありますか？",  # the slide says 日本 led its founding, not where it sits
    "科学技術振興機構の理事長は誰ですか？",  # the only 理事長 nearby is the STS forum's
    "研究セキュリティの相談窓口の電話番号は？",  # the rows name the desks, with no numbers
    "この資料に火星探査の記載はありますか？",  # about its content, not the title page
    "この資料の作成者の電話番号は？",  # about the document, but its title page has no phone number
    "ERIAに加わっている国の数を教えてください。",  # the 38か国 on its slide are OECD's members
    "QDGには何か国が参加していますか？",  # the 7 nearby is G 7's
]


@pytest.mark.slow
@pytest.mark.parametrize("question, expected, slide", ANSWERABLE + ENGLISH)
def test_answer_quotes_the_deck_and_cites_the_slide(real_answerer, question, expected, slide):
    answer = real_answerer.ask(question)
    assert not answer.abstained, answer
    assert squash(expected) in squash(answer.answer), answer.answer
    assert "[1]" in answer.answer
    assert slide in [c.slide for c in answer.citations]
    # the evidence is in a cited passage
    assert any(squash(expected) in squash(c.text) for c in answer.citations if c.slide == slide)


@pytest.mark.slow
def test_the_name_at_the_rank_asked_is_the_short_answer(real_answerer):
    answer = real_answerer.ask("物理学で米国の共著相手のトップはどこですか？")
    assert answer.short_answer == "中国" and answer.citations[0].slide == 7


@pytest.mark.slow
def test_a_figure_label_alone_is_never_quoted(real_answerer):
    # slide 15's figure labels (日本, 米国, EU, 中国) were quoted as the answer to this
    answer = real_answerer.ask("What is Japan's rank as a US co-author partner in all fields?")
    assert answer.quotes and all(len(squash(q.text)) > 3 for q in answer.quotes), answer.answer


@pytest.mark.slow
def test_answer_text_is_quoted_from_cited_passages(real_answerer):
    for question, _, _ in ANSWERABLE[:8]:
        answer = real_answerer.ask(question)
        for q in answer.quotes:
            assert q.text in answer.citations[q.citation - 1].text  # never invented text
        assert answer.answer == "\n".join(f"{q.text} [{q.citation}]" for q in answer.quotes)


@pytest.mark.slow
@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_deck_does_not_answer_abstain(real_answerer, question):
    answer = real_answerer.ask(question)
    assert answer.abstained, answer.answer
    assert answer.answer == NOT_FOUND
    assert answer.citations  # still offers the closest passages as related reading


@pytest.mark.slow
@pytest.mark.parametrize("question", ["ベトナム政府の科学技術顧問は誰ですか？", "スウェーデンの研究セキュリティの相談窓口は何と呼ばれていますか？"])
def test_a_country_the_documents_never_name_is_not_answered_for(real_answerer, question):
    answer = real_answerer.ask(question)
    country = question[: question.index("の")].removesuffix("政府")
    assert answer.abstained and country in answer.notice, answer.answer


@pytest.mark.parametrize(
    "question, missing",
    [
        ("Horizon Europeの次の枠組み（2028年以降）の予算は？", "2028年"),
        ("「量子未来産業創出戦略」の予算は？", "量子未来産業創出戦略"),
        ("「グローバル循環プロトコル」はいつ公表されましたか？", ""),  # the passages hold it
        ("2021年の予算は？", ""),
        ("1930年代の人口は？", ""),  # a decade, not a year
        ("「厚みの減少率が何%以上」と定められていますか？", ""),  # quotes a question, not a name
        ("「研究セキュリティに関する共通の原則」とは？", ""),  # the passage inserts a short word (G 7)
        ("「研究セキュリティに関する新しい共通の原則」とは？", "研究セキュリティに関する新しい共通の原則"),
    ],
)
def test_unseen_names_a_quoted_name_or_year_no_passage_holds(question, missing):
    texts = [squash("Horizon Europe：2021～2027年で955億ユーロ規模"), squash("「グローバル循環プロトコル」の開発"),
             squash("「研究セキュリティに関するG 7 共通の原則」（2022年6月）")]
    assert unseen(question, texts) == missing


@pytest.mark.slow
def test_an_abstention_for_a_name_the_documents_lack_says_so(real_answerer):
    answer = real_answerer.ask("「量子未来産業創出戦略」の予算はいくらですか？")
    assert answer.abstained and "「量子未来産業創出戦略」" in answer.notice and answer.confidence >= 0.8


@pytest.mark.slow
def test_both_horizon_europe_budgets_are_shown(real_answerer):
    answer = real_answerer.ask("Horizon Europeの予算規模は？")
    assert "955億ユーロ" in answer.answer and "935億ユーロ" in answer.answer
    assert {6, 27} <= {c.slide for c in answer.citations}


@pytest.mark.parametrize(
    "question, named",
    [
        ("SATREPSの年間予算はいくらですか？", {"satreps"}),
        ("ＳＡＴＲＥＰＳの予算は？", {"satreps"}),  # full width
        ("韓国の大統領秘書室の首席秘書官は誰ですか？", {"韓国"}),
        ("2026年のG7会合はどこで開かれますか？", {"2026", "g7"}),
        ("東南アジア諸国の電子機器くずは？", {"東南アジア"}),  # not アジア: the nouns before narrow it
        ("予算はいくらですか？", set()),
        ("「科学技術力の基盤強化」に係る提言はいつ？", {"科学技術力の基盤強化"}),  # a quoted name
        ("「何%以上」と定められていますか？", set()),  # a quoted question is no name
        ("Where did the OSTP director speak in 2025?", {"ostp", "2025"}),  # English: acronyms, years and countries
        ("Which fields does South Korea's strategy name? What does it tell us?", {"韓国"}),  # as the deck writes it; not "us"
        ("How does the US see China?", {"米国", "中国"}),
        ("理化学研究所量子コンピュータ研究センターの所長は？", {"理化学研究所量子コンピュータ研究センター"}),  # common nouns
    ],
)
def test_subjects(question, named):
    assert subjects(question) == named


@pytest.mark.parametrize(
    "question, names",
    [
        ("理化学研究所量子コンピュータ研究センターの所長は誰ですか？", ["理化学研究所量子コンピュータ研究センター"]),
        ("科学技術振興機構の理事長は？", ["科学技術振興機構"]),
        ("日本学術振興会の予算は？", ["日本学術振興会"]),  # two nouns, one of them proper
        ("研究センターはいくつありますか？", []),  # too short to name one body
        ("国際的な研究機関の数は？", []),  # 機関 ends descriptions, not names
        ("量子技術の予算は？", []),
    ],
)
def test_bodies(question, names):
    assert bodies(question) == names


@pytest.mark.parametrize(
    "question, about",
    [
        ("この資料を作成した部署はどこですか？", True),
        ("本資料はどの会議に提出されましたか？", True),
        ("この資料1は何という会合に出されたものですか？", True),
        ("この資料によると、G7会合はいつですか？", False),  # what it says, not the document
        ("この資料に火星探査の記載はありますか？", False),
        ("G7会合はいつですか？", False),
        ("What is the title of this Cabinet Office slide deck?", True),
    ],
)
def test_about_document(question, about):
    assert about_document(question) is about


TITLE_PAGE = "資料1 基本計画専門調査会（第6回） 2025年5月22日 内閣府 科学技術・イノベーション推進事務局"


@pytest.mark.parametrize(
    "question, beyond",
    [
        ("この資料を作成した部署はどこですか？", False),
        ("本資料はいつ作成されましたか？", False),
        ("この資料のタイトルは何ですか？", False),
        ("Which office prepared this document?", False),
        ("この資料の作成者の電話番号は？", True),
        ("この資料の作成者のメールアドレスは？", True),
        ("この資料は内閣府が作成しましたか？", False),  # named on the page
        ("この資料1は、何という会合に出されたものですか？", False),  # 「いう」「もの」 ask for nothing
    ],
)
def test_beyond_title_page(question, beyond):
    assert beyond_title_page(question, TITLE_PAGE) is beyond


def test_an_answer_of_another_type_becomes_an_abstention_that_says_why(fake_pipeline, monkeypatch):
    from qa.answer import Answerer
    from qa.kinds import CLASH_CONFIDENCE

    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0)
    answerer = Answerer(fake_pipeline.retriever, config, _FakeReader("約300名"))
    right = answerer.ask("海外特別研究員事業では毎年何名の若手研究者を派遣していますか？")
    assert not right.abstained and right.short_answer == "約300名"
    # as when no piece counts countries: any number earns the kind bonus, so the fake
    # embedder picks the same piece
    monkeypatch.setattr("qa.answer.counts_as_asked", lambda question, text: True)
    wrong = answerer.ask("海外特別研究員事業では毎年何か国に若手研究者を派遣していますか？")
    assert wrong.abstained and not wrong.quotes and wrong.short_answer is None
    assert "何か国" in wrong.notice and "約300名" in wrong.notice
    assert wrong.citations[0].slide == right.citations[0].slide == 12  # what it would have cited
    assert wrong.confidence == CLASH_CONFIDENCE


def test_a_short_answer_that_repeats_the_question_is_dropped_after_the_type_check(fake_pipeline):
    from qa.answer import Answerer

    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0)
    answerer = Answerer(fake_pipeline.retriever, config, _FakeReader("若手研究者"))
    echo = answerer.ask("海外特別研究員事業の若手研究者とは？")
    assert not echo.abstained and echo.short_answer is None and echo.quotes[0].span is None
    assert "若手研究者" in echo.quotes[0].text  # the quote stays
    # an echo that is no number: the type check sees it first and takes the value beside it
    clash = answerer.ask("海外特別研究員事業では毎年何名の若手研究者を派遣していますか？")
    assert not clash.abstained and clash.short_answer == "約300名"


def test_an_answer_of_another_type_gives_way_to_the_value_asked_for_beside_it(fake_pipeline):
    from qa.answer import Answerer

    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0)
    answerer = Answerer(fake_pipeline.retriever, config, _FakeReader("4万人"))
    assert answerer.ask("仙台防災協力イニシアティブで人材育成を行ったのは何人ですか？").short_answer == "4万人"
    # the same piece has an amount a few words before
    answer = answerer.ask("仙台防災協力イニシアティブで人材育成を行った協力の総額はいくらですか？")
    assert not answer.abstained and answer.short_answer == "40億ドル" and answer.citations[0].slide == 14
    # but 「第3回国連防災世界会議」 counts no times anything was done: an ordinal is no count
    assert answerer.ask("仙台防災協力イニシアティブで人材育成を行ったのは何回ですか？").abstained


@pytest.mark.parametrize(
    "names, title, own",
    [
        ({"日本"}, "フランスの科学技術政策におけるグローバル戦略", False),
        ({"日本", "フランス"}, "フランスの科学技術政策におけるグローバル戦略", True),
        ({"アメリカ"}, "米国の科学技術政策におけるグローバル戦略", True),  # another name for it
        ({"日本"}, "(参考)欧州との国際連携例①", True),  # the title does not open with a country
        ({"日本"}, "北陸線列車雪崩直撃事故", True),  # a region, not a country
    ],
)
def test_own_country(names, title, own):
    assert own_country(names, title) is own


@pytest.mark.parametrize(
    "names, text, other",
    [
        ({"eria"}, "38か国の先進国が加盟する経済協力開発機構（OECD）は、国際マクロ経済動向…", True),
        ({"oecd"}, "38か国の先進国が加盟する経済協力開発機構（OECD）は、国際マクロ経済動向…", False),  # its own
        ({"g20"}, "国際機関：国連貿易開発会議（UNCTAD）、国際エネルギー機関（IEA）、アマゾン協力条約機構（ACTO）", False),  # a list
        ({"satreps"}, "JSTとJICAが連携して実施", False),  # bodies named in passing, not introduced
    ],
)
def test_other_body(names, text, other):
    assert other_body(names, text) is other


def test_key_terms_leave_out_question_words():
    assert key_terms("G20の開催場所はどこですか？") == ["g", "20", "開催", "場所"]
    assert key_terms("ERIAは何の略ですか？") == key_terms("ERIAの正式名称は？") == ["eria"]  # what is asked, not its topic


@pytest.mark.parametrize(
    "question, asked",
    [
        ("イタリアでの会合では、どの大陸との協力を強めましたか？", "どの大陸との協力を強めましたか？"),
        ("ERIAは、研究の成果をもとに何をしていますか？", "研究の成果をもとに何をしていますか？"),
        # the last topic is the thing asked for: what follows the first frame
        ("2024年の会合で、研究への干渉に関して評価された部会の略称は何ですか？", "研究への干渉に関して評価された部会の略称は何ですか？"),
        ("会合の成果は何で、次回はどこですか？", "何で、次回はどこですか？"),  # the topic before the first question word
        ("どの国は予算が多いですか？", ""),  # 「は」 after the question word is no topic
        ("G7の開催場所を教えてください", ""),
    ],
)
def test_asked_part(question, asked):
    assert asked_part(question) == asked


def test_content_words_are_lemmas_without_light_verbs_or_question_words():
    assert content_words("自国の技術を海外に広めていく足がかりとして何を使うとしていますか") == {
        "自国", "技術", "海外", "広める", "足掛かり", "使う"}
    assert content_words("正式な名前は何ですか？") == set()


def test_a_lone_asked_word_counts_for_nothing():
    assert asked_words("STSフォーラムの全体会議は、どんなテーマでしたか？") == set()
    assert asked_words("会合では、どの大陸との協力を強めましたか？") == {"大陸", "協力", "強める"}


@pytest.mark.slow
def test_the_asked_part_picks_the_line_of_the_slide(real_answerer):
    # the meeting's lead line names 2024, Italy and the G7; the line about Africa is the answer
    answer = real_answerer.ask("2024年にイタリアで開かれたG7科学技術大臣会合では、どの地域との研究協力の強化が議題になりましたか？")
    assert answer.short_answer == "アフリカ" and answer.quotes[0].text.startswith("研究セキュリティ")
    # 「…体制は何」: the last topic is the thing asked for, so what follows 「…未来戦略で、」 is asked
    answer = real_answerer.ask("ドイツの研究の未来戦略で、しなやかな社会と並んで実現を目指すとされている政治の体制は何ですか？")
    assert "民主主義" in answer.quotes[0].text


@pytest.mark.parametrize("text, english", [("Where was it held?", True), ("WPIの比率は？", False), ("OECD", True)])
def test_is_english(text, english):
    assert is_english(text) is english


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "！？。", "😀🎉", None])
def test_unusable_questions_raise_a_clear_error(fake_answerer, bad):
    with pytest.raises(InputError):
        fake_answerer.ask(bad)


def test_huge_question_is_refused_with_the_limit(fake_answerer):
    with pytest.raises(InputError, match="140,000 characters long; the limit is 2,000"):
        fake_answerer.ask("SATREPS" * 20_000)


def test_abstention_lists_related_passages(fake_answerer):
    strict = fake_answerer.config.with_(abstain_coverage=2.0, abstain_cosine=2.0)
    from qa.answer import Answerer

    answer = Answerer(fake_answerer.retriever, strict).ask("SATREPSの実施国数は？")
    assert answer.abstained and answer.answer == NOT_FOUND
    assert 0 < len(answer.citations) <= strict.answer.related and not answer.quotes


def _cand(text, score, place=("d", 1)):
    return Candidate(0, "c", 0, text, score, score, 0.0, True, place)


@pytest.mark.slow
def test_definition_and_acronym_questions(real_answerer):
    acronym = real_answerer.ask("WPIとは何の略ですか？")
    assert acronym.short_answer == "世界トップレベル研究拠点プログラム"
    definition = real_answerer.ask("SATREPSって何？")  # the line that spells it out, not a row of its table
    assert definition.short_answer is None and "地球規模課題対応国際科学技術協力プログラム" in definition.answer
    # the line under the heading that is about the term, not a line that only mentions it
    assert real_answerer.ask("Horizon Europeとは何ですか").quotes[0].text.startswith("EUによる研究開発支援プログラム")
    assert "地球規模課題対応国際科学技術協力プログラム" in real_answerer.ask("What is SATREPS?").answer  # not a row of its table
    for question in ("WPIとは何ですか", "WPIの目的は？", "What is WPI?"):  # not the 拠点規模 row, with 「7～10人程度」 in bold
        assert real_answerer.ask(question).quotes[0].text.startswith("大学等への集中的な支援")


@pytest.mark.parametrize(
    "quoted_text, gloss",
    [
        ("開かれた技術革新", True),  # the asker's words for オープンイノベーション
        ("混乱の時代における科学外交", False),  # a title: おける builds names
        ("グローバル循環プロトコル", False),
        ("しらせ", False),  # a ship's name in kana
    ],
)
def test_quoted_words_that_describe_rather_than_name(quoted_text, gloss):
    assert glosses(quoted_text) is gloss
    assert (unseen(f"「{quoted_text}」とは？", ["別の話"]) == "") is gloss  # only a name the passages lack is unseen


@pytest.mark.parametrize(
    "question, cited",
    [
        ("循環型社会形成推進基本計画はいつ閣議決定されましたか？", True),  # a document it cites, by title
        ("外務省が発表したのはいつですか？", True),  # what the body it cites published
        ("外務省の役割は？", False),  # the body, but not what it published
        ("Horizon Europeへの準参加協定が署名されたのはいつ？", False),  # a Latin title names a programme
    ],
)
def test_a_source_line_answers_about_what_it_cites(question, cited):
    source = squash("出典：一般社団法人日欧産業協力センター「Horizon Europe」、外務省「協定の交渉開始」（2024年11月）、"
                    "環境省「循環型社会形成推進基本計画 (令和6年8月2日閣議決定)」")
    assert cites_asked(question, source) is cited


@pytest.mark.slow
def test_a_yes_or_no_question_gets_the_quote_without_a_short_answer(real_answerer):
    answer = real_answerer.ask("日本はHorizon Europeに参加していますか？")
    assert answer.short_answer is None and "準参加に関する協定のための交渉を開始" in answer.answer


@pytest.mark.parametrize(
    "term, heading, about",
    [
        ("horizoneurope", "Horizon Europeの概要", True),
        ("wpi", "世界トップレベル研究拠点プログラム(WPI)", True),
        ("oecd", "経済協力開発機構（OECD）の概要", True),
        ("pi", "世界トップレベル研究拠点プログラム(WPI)", False),  # another word
        ("satreps", "SATREPSの研究分野/領域", False),  # an aspect of it
        ("stsフォーラム", "STSフォーラムとは", False),  # heads a list of facts
    ],
)
def test_a_heading_about_the_term_asked(term, heading, about):
    assert titled(term, heading) is about


def test_a_row_the_question_does_not_name_is_no_second_quote():
    cands = [_cand("材料科学：【1位】中国 49.8%", 0.90), _cand("化学：【1位】中国 35.3%", 0.89)]
    assert [c.text for c in choose(cands, 2, 0.02, "韓国の材料科学分野の1位は？")] == ["材料科学：【1位】中国 49.8%"]
    assert len(choose(cands, 2, 0.02, "韓国の材料科学と化学の1位は？")) == 2
    assert len(choose(cands, 2, 0.02, "国際共著の1位は？")) == 2  # no row named: both are close


@pytest.mark.parametrize(
    "scores, texts, places, chosen",
    [
        ([0.90, 0.89], ["a", "b"], [1, 1], ["a", "b"]),  # within the 0.02 margin
        ([0.90, 0.89], ["a", "b"], [1, 2], ["a"]),  # close, but on another slide: about something else
        ([0.90, 0.85], ["a", "b"], [1, 1], ["a"]),  # too far behind
        ([0.90, 0.90], ["a", "a"], [1, 2], ["a"]),  # the same text twice
        ([0.90, 0.89, 0.89], ["a", "b", "c"], [1, 1, 1], ["a", "b"]),  # at most two
        # another slide with the same sentence but another figure: shown although 0.05 behind
        ([0.90, 0.85], ["予算は955億ユーロ", "予算は935億ユーロ"], [1, 2], ["予算は955億ユーロ", "予算は935億ユーロ"]),
        # ... but not from the same slide (rows of one table look alike)
        ([0.90, 0.85], ["予算は955億ユーロ", "予算は935億ユーロ"], [1, 1], ["予算は955億ユーロ"]),
        # ... and not when more than 0.1 behind
        ([0.90, 0.79], ["予算は955億ユーロ", "予算は935億ユーロ"], [1, 2], ["予算は955億ユーロ"]),
    ],
)
def test_choose_a_second_quote(scores, texts, places, chosen):
    cands = [_cand(t, s, ("d", p)) for t, s, p in zip(texts, scores, places)]
    assert [c.text for c in choose(cands, 2, 0.02)] == chosen


def test_a_question_asking_for_several_things_takes_a_close_second_quote_from_another_slide():
    cands = [_cand("量子：協力趣意書に署名", 0.90, ("d", 6)), _cand("フュージョン：共同声明", 0.89, ("d", 5))]
    assert len(choose(cands, 2, 0.02, "量子分野とフュージョン分野ではそれぞれどんな動きが？")) == 2
    assert len(choose(cands, 2, 0.02, "量子分野ではどんな動きが？")) == 1


@pytest.mark.parametrize(
    "a, b, conflict",
    [
        ("2021～2027年で955億ユーロ規模", "2021～2027年で935億ユーロ規模", True),
        ("2021～2027年で955億ユーロ規模", "2021～2027年で955億ユーロ規模", False),  # same figures
        ("開催場所：ボローニャ", "開催場所：マナウス", False),  # no figures
        ("毎年約300名を派遣", "G7科学技術大臣会合を2024年に開催", False),  # other sentence
    ],
)
def test_disagree(a, b, conflict):
    assert disagree(a, b) is conflict


_SIG = dict(best_cosine=0.9, top_dense=0.9, coverage=1.0, english=False, kind_missing=False, unknown=0.0)


@pytest.mark.parametrize(
    "change, abstains",
    [
        ({}, False),
        ({"kind_missing": True}, True),  # a number question with no number near the top
        ({"coverage": 0.2, "best_cosine": 0.84}, True),  # few key terms and low similarity
        ({"coverage": 0.2, "best_cosine": 0.86}, False),  # few key terms but similar enough
        ({"unknown": 0.5, "best_cosine": 0.85}, True),  # half the key terms are not in the corpus
        ({"unknown": 0.5, "best_cosine": 0.87}, False),
        ({"english": True, "best_cosine": 0.77}, True),  # English: similarity alone
        ({"english": True, "best_cosine": 0.80, "kind_missing": True}, False),
        ({"english": True, "best_cosine": 0.82, "unknown": 1.0}, True),
        ({"off_subject": True}, True),  # the best piece is about something else by name
        # the document's title page, for a question about the document: the rule does not doubt it
        ({"english": True, "best_cosine": 0.79, "unknown": 1.0, "title_page": True}, False),
    ],
)
def test_abstention_rule(change, abstains):
    assert abstain(Signals(**{**_SIG, **change}), AnswerSettings()) is abstains


class _FakeReader:
    """Reads a piece as answering when it holds `needle`; the span is the needle."""

    def __init__(self, needle: str):
        self.needle, self.calls = needle, []

    def read(self, question, pieces):
        from qa.reader import Reading

        self.calls.append(len(pieces))
        out = []
        for _, text in pieces:
            at = text.find(self.needle)
            out.append(Reading(4.0, (at, at + len(self.needle)), 1.0) if at >= 0 else Reading(-4.0, None, 0.0))
        return out


def test_reader_answer_has_the_span_and_a_calibrated_confidence(fake_pipeline):
    from qa.answer import Answerer

    reader = _FakeReader("約300名")
    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, reader_threshold=0.5,
                                        reader_answer_threshold=0.5)
    answerer = Answerer(fake_pipeline.retriever, config, reader)
    answer = answerer.trace("海外特別研究員事業では毎年何名の若手研究者を派遣していますか？", role="answer").answer
    assert reader.calls[0] == config.answer.reader_pieces  # then the sentences of the chosen piece, if several
    assert not answer.abstained and answer.short_answer == "約300名"
    [quote] = answer.quotes
    assert quote.text[quote.span[0]: quote.span[1]] == "約300名" and quote.text in answer.citations[0].text
    assert answer.confidence == pytest.approx(1 / (1 + np.exp(-4.0)))


def test_reader_in_the_span_role_reads_only_what_the_rule_chose(fake_pipeline):
    from qa.answer import Answerer

    reader = _FakeReader("約300名")
    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0)
    question = "海外特別研究員事業では毎年何名の若手研究者を派遣していますか？"
    rule = Answerer(fake_pipeline.retriever, config).ask(question)
    answer = Answerer(fake_pipeline.retriever, config, reader).ask(question)  # role "span" by default
    assert answer.quotes[0].text == rule.quotes[0].text  # the rule's choice
    assert reader.calls == [len(rule.quotes)]
    # a second quote stays only when the reader finds it answers too
    assert len(answer.quotes) == 1 + sum("約300名" in q.text for q in rule.quotes[1:])
    first = answer.quotes[0]
    if "約300名" in first.text:
        assert answer.short_answer == "約300名" and first.text[first.span[0]: first.span[1]] == "約300名"
        assert answer.confidence == pytest.approx(1 / (1 + np.exp(-4.0)))
    else:
        assert answer.short_answer is None and answer.confidence == pytest.approx(1 / (1 + np.exp(4.0)))


class _UnsureReader(_FakeReader):
    """Like _FakeReader, with every span scored -5: found, but a guess."""

    def read(self, question, pieces):
        from qa.reader import Reading

        return [Reading(r.score, r.span, -5.0) for r in super().read(question, pieces)]


def test_a_short_answer_the_reader_scores_too_low_is_not_offered(fake_pipeline):
    from qa.answer import Answerer

    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, reader_threshold=0.5,
                                        reader_answer_threshold=0.5)
    question = "海外特別研究員事業では毎年何名の若手研究者を派遣していますか？"
    sure = Answerer(fake_pipeline.retriever, config, _FakeReader("約300名")).trace(question, role="answer").answer
    unsure = Answerer(fake_pipeline.retriever, config, _UnsureReader("約300名")).trace(question, role="answer").answer
    assert sure.short_answer == "約300名"
    assert unsure.short_answer is None and unsure.quotes[0].span is None
    assert unsure.quotes[0].text == sure.quotes[0].text and not unsure.abstained  # the quote stays
    lenient = Answerer(fake_pipeline.retriever, config.with_(min_span_score=-6.0), _UnsureReader("約300名"))
    assert lenient.trace(question, role="answer").answer.short_answer == "約300名"


class _WholeMissesReader(_FakeReader):
    """Like _FakeReader, but a text of several sentences read whole gets its first character as the span."""

    def read(self, question, pieces):
        from qa.reader import Reading, split_sentences

        out = super().read(question, pieces)
        return [Reading(r.score, (0, 1), r.span_score) if len(split_sentences(text)) > 1 else r
                for r, (_, text) in zip(out, pieces)]


def test_the_short_answer_of_a_piece_of_several_sentences_is_read_sentence_by_sentence(fake_pipeline, monkeypatch):
    from qa import reader as R
    from qa.answer import Answerer
    from qa.reader import split_sentences

    monkeypatch.setattr(R, "SENTENCE_CHARS", 0)  # the deck's pieces are short; prose paragraphs are not

    reader = _WholeMissesReader("955億ユーロ")
    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, reader_threshold=0.5,
                                        reader_answer_threshold=0.5)
    answer = Answerer(fake_pipeline.retriever, config, reader).trace("EUによる研究開発支援プログラムの規模は？", role="answer").answer
    first = answer.quotes[0]
    assert len(split_sentences(first.text)) > 1  # the case under test: 「EUによる…。2021～2027年で955億ユーロ規模。」
    assert answer.short_answer == "955億ユーロ" and first.text[first.span[0]: first.span[1]] == "955億ユーロ"


class _LogitsReader:
    """Reads the i-th piece with the i-th logit and no span."""

    def __init__(self, *logits):
        self.logits = logits

    def read(self, question, pieces):
        from qa.reader import Reading

        return [Reading(self.logits[i], None, 0.0) for i in range(len(pieces))]


@pytest.mark.parametrize("second_logit, quotes", [(1.0, 1), (3.0, 2)])
def test_span_role_keeps_a_second_quote_only_near_the_first_in_reader_logit(fake_pipeline, second_logit, quotes):
    from qa.answer import Answerer

    # every probability 0.5, so only the logit gap (default 1.9) can drop the rule's second quote;
    # the asked part's words would widen the rule's own gap past its margin
    config = fake_pipeline.config.with_(reader_coefs=(0.0,) * 6, reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0, w_asked=0.0)
    # それぞれ: a question asking for several things, so the rule may quote a second slide
    question = "海外特別研究員事業では毎年それぞれ何名の若手研究者を派遣していますか？"
    assert len(Answerer(fake_pipeline.retriever, config).ask(question).quotes) == 2  # the rule alone quotes two
    answer = Answerer(fake_pipeline.retriever, config, _LogitsReader(4.0, second_logit)).ask(question)
    assert len(answer.quotes) == quotes


def test_span_role_puts_first_the_quote_of_one_slide_the_reader_reads_as_the_answer(fake_pipeline):
    from qa.answer import Answerer

    # no passage lift: the case needs the rule's two pieces within its margin
    config = fake_pipeline.config.with_(reader_coefs=(0.0,) * 6, reader_shift=0.0, abstain_kind_missing=False,
                                        abstain_coverage=0.0, abstain_unknown=2.0, w_passage=0.0)
    question = "STSフォーラムの理事長は誰ですか？"
    rule = Answerer(fake_pipeline.retriever, config).ask(question)
    assert len(rule.quotes) == 2 and len({c.slide for c in rule.citations}) == 1  # the case: two pieces of one slide
    same = Answerer(fake_pipeline.retriever, config, _LogitsReader(1.5, 0.0)).ask(question)
    swapped = Answerer(fake_pipeline.retriever, config, _LogitsReader(0.0, 1.5)).ask(question)
    assert [q.text for q in same.quotes] == [q.text for q in rule.quotes]
    assert [q.text for q in swapped.quotes] == [q.text for q in rule.quotes][::-1]
    assert swapped.confidence == same.confidence  # the rule's pick's calibrated probability either way
    close = Answerer(fake_pipeline.retriever, config, _LogitsReader(0.0, 0.5)).ask(question)
    assert [q.text for q in close.quotes] == [q.text for q in rule.quotes]  # within reader_first_gap: the rule's order


def test_reader_abstains_below_the_threshold(fake_pipeline):
    from qa.answer import Answerer

    config = fake_pipeline.config.with_(reader_coefs=(1.0, 0, 0, 0, 0, 0), reader_shift=0.0, reader_threshold=0.5,
                                        reader_answer_threshold=0.5)
    answerer = Answerer(fake_pipeline.retriever, config, _FakeReader("no such text"))
    answer = answerer.trace("海外特別研究員事業では毎年何名の若手研究者を派遣していますか？", role="answer").answer
    assert answer.abstained and not answer.quotes and answer.short_answer is None
    assert answer.citations and answer.confidence == pytest.approx(1 - 1 / (1 + np.exp(4.0)))


def _read(text, p, place):
    from qa.answer import Read

    return Read(_cand(text, p, ("d", place)), p, p, None)


@pytest.mark.parametrize(
    "reads, chosen",
    [
        ([("予算は955億ユーロ", 0.95, 1), ("予算は935億ユーロ", 0.92, 2)], 2),  # conflicting figures elsewhere
        ([("予算は955億ユーロ", 0.95, 1), ("予算は935億ユーロ", 0.1, 2)], 1),  # not probable enough
        ([("予算は955億ユーロ", 0.95, 1), ("予算は935億ユーロ", 0.95, 1)], 1),  # same slide: rows look alike
        ([("G20は2024年9月18日", 0.95, 1), ("G7は2024年7月9日～11日に開催", 0.93, 2)], 1),  # another subject
    ],
)
def test_reader_second_quote_only_for_a_conflicting_figure(reads, chosen):
    from qa.answer import choose_read

    got = choose_read([_read(*r) for r in reads], AnswerSettings())
    assert len(got) == chosen


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What is the annual budget of SATREPS?",  # English
        "？？ ＃＃ SATREPS 予算 ！！",  # symbols and a few words
        "SATREPSの実施国数は？" + "研究" * 990,  # a 2,000-character paste
        "火星探査機の着陸地点はどこですか？",  # something the deck never mentions
    ],
)
def test_bad_questions_get_an_answer_or_abstention_with_a_confidence(real_answerer, question):
    assert real_answerer.reader is not None  # the shipped reader is in the loop
    answer = real_answerer.ask(question)
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.abstained == (answer.answer == NOT_FOUND) and answer.abstained == (not answer.quotes)
    if question.startswith("火星"):
        assert answer.abstained
