"""Where the short answer is in a quoted piece (qa/spans.py): tables, lists, acronyms, trimming."""

from collections import namedtuple

import pytest

from qa.spans import (asks_yes_no, clock_span, defined, echoes, expansion_span, extreme, field_span, label_span,
                      list_span, ranking_span, row_label, trim)


@pytest.mark.parametrize(
    "text, label",
    [
        ("化学：【1位】中国 35.3%", "化学"),
        ("【国・地域】日本 【顧問名称・設置時期】外務大臣 科学技術顧問", "日本"),
        ("【国際会議名称】G7科学技術顧問ラウンドテーブル 【開催時期、場所】2023/3/24", "G7科学技術顧問ラウンドテーブル"),
        ("予算：【複数年研究計画法（LPR）】250億ユーロ", "予算"),
        ("毎年約300名の若手研究者を派遣。", ""),
    ],
)
def test_row_label(text, label):
    assert row_label(text) == label


@pytest.mark.parametrize(
    "question, text, short",
    [
        ("アフリカでのプロジェクト数は？", "【地域名】アフリカ 【実施国数】21か国 【プロジェクト数】45プロジェクト", "45プロジェクト"),
        ("アフリカの実施国数は？", "【地域名】アフリカ 【実施国数】21か国 【プロジェクト数】45プロジェクト", "21か国"),
        ("日本の顧問はいつ設置されましたか", "【国・地域】日本 【設置年】2015 2022 【所属機関】外務省", "2015 2022"),
        ("化学分野の2位は？", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7%", "ドイツ 9.7%"),
        ("予算はいくら？", "【地域名】アフリカ 【実施国数】21か国", None),  # no field named
        ("日本から参加したのは誰？", "【開催時期、場所】2023/3/24 【日本からの参加】橋本内閣官房科学技術顧問",
         "橋本内閣官房科学技術顧問"),  # named without の
    ],
)
def test_field_span(question, text, short):
    span = field_span(question, text)
    assert (text[span[0]: span[1]] if span else None) == short


PRINCIPLES = "政策のビジョン 国際的なアプローチ4原則： ①オープン、②責任のある、③安全、④レジリエント"


@pytest.mark.parametrize(
    "question, text, read, short",
    [
        ("英国の国際的なアプローチの4原則は何ですか？", PRINCIPLES, "オープン", "①オープン、②責任のある、③安全、④レジリエント"),
        ("英国のアプローチで最初に挙がる原則は？", PRINCIPLES, "オープン", "オープン"),  # the label is not named
        ("優先技術領域は？", "優先技術領域： A I、量子科学、半導体 優先施策： 専門技術センター", "A I、量子科学",
         "A I、量子科学、半導体"),  # up to the next label
        ("開催日程は？", "開催日程：2024年7月9日～11日 開催場所：イタリア・ボローニャ", "2024年7月", "2024年7月"),  # no list
        ("G20の議長国はどこですか？", "G20：ブラジル（議長国）、インド（前年議長国）、南アフリカ（来年議長国）", "ブラジル",
         "ブラジル"),  # the question asks for one item of the list
    ],
)
def test_list_span(question, text, read, short):
    a = text.index(read)
    span = list_span(question, text, (a, a + len(read)))
    assert text[span[0]: span[1]] == short


@pytest.mark.parametrize(
    "question, text, short",
    [
        ("化学分野で日本は何位ですか？", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7% 【9位】日本 4.8%", "9位"),
        ("What was Japan's rank in chemistry?", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7% 【9位】日本 4.8%", "9位"),
        ("What share does Germany have in chemistry?", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7% 【9位】日本 4.8%", "9.7%"),
        ("計算機・数学で日本は何位？", "計算機・ 数学：【1位】中国 38.6% 【10位】スペイン 3.1% 日本 12位", "12位"),  # outside the top 10
        ("アメリカの順位は？", "臨床医学：【1位】英国 18.6% 【2位】米国 16.7%", "2位"),  # by another name
        ("日本は何位ですか？", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7%", None),  # not in the row
        ("化学分野の2位は？", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7%", "ドイツ"),  # who is at that rank
        ("物理学で米国の共著相手のトップはどこですか？", "物理学：【1位】中国 27.1% 【2位】ドイツ 24.2%", "中国"),
        ("臨床医学で一番多い共著相手国は？", "臨床医学：【1位】英国 18.6% 【2位】カナダ 16.7%", "英国"),
        ("材料科学で最もシェアが高い国は？", "材料科学：【1位】中国 49.8% 【2位】韓国 8.9%", "中国"),  # share, no entry named
        ("化学分野の11位は？", "化学：【1位】中国 35.3% 【2位】ドイツ 9.7%", None),  # not in the row
        ("材料科学で韓国の割合は？", "材料科学：【1位】中国 49.8% 【2位】韓国 8.9%", "8.9%"),  # its share
        ("計算機・数学で日本の割合は？", "計算機・ 数学：【1位】中国 38.6% 【10位】スペイン 3.1% 日本 12位", "日本 12位"),  # no share given
        ("韓国の研究者は？", "材料科学：【1位】中国 49.8% 【2位】韓国 8.9%", None),  # neither rank nor share asked
    ],
)
def test_ranking_span(question, text, short):
    span = ranking_span(question, text)
    assert (text[span[0]: span[1]] if span else None) == short


@pytest.mark.parametrize(
    "short, trimmed",
    [
        ("(2023)", "2023"),  # round brackets around the whole answer
        (" (2023年8月", "2023年8月"),  # one that closes after it
        ("PPST）", "PPST"),  # one that opened before it
        ("【1位】中国", "【1位】中国"),  # a pair inside it stays
        ("「CRAFT」", "「CRAFT」"),  # a name's own quotation marks stay
        ("オープンイノベーション」", "オープンイノベーション"),  # a quotation that opened before it
    ],
)
def test_trim(short, trimmed):
    a, b = trim(short, (0, len(short)))
    assert short[a:b] == trimmed


@pytest.mark.parametrize(
    "question, text, short",
    [
        ("WPIとは何の略ですか？", "世界トップレベル研究拠点プログラム(WPI)", "世界トップレベル研究拠点プログラム"),
        ("SIPの正式名称は？", "原則：内閣府は戦略的イノベーション創造プログラム（SIP）を通じて", "戦略的イノベーション創造プログラム"),
        ("ASPIREは何の略？", "● ASPIRE (先端国際共同研究推進事業) 先端分野において", "先端国際共同研究推進事業"),  # written after it
        ("WPIの予算は？", "世界トップレベル研究拠点プログラム(WPI)", None),  # not asked
        ("SIPとは何の略ですか？", "世界トップレベル研究拠点プログラム(WPI)", None),  # another acronym
        ("さくらサイエンスプログラムの正式な事業名は？", "国際青少年サイエンス交流事業 (さくらサイエンスプログラム)での取組",
         "国際青少年サイエンス交流事業"),  # a short name that is no acronym
        ("PIとは何の略？", "世界トップレベル研究拠点プログラム(WPI)", None),  # part of another word
        ("G7会合の略称は？", "G7会合（2024年7月9日－11日）", None),  # a date in brackets names nothing
        ("What does the abbreviation AISI stand for?", "AISI（Japan AI Safety Institute）事務局", "Japan AI Safety Institute"),
        ("欧州が戦略を公表したのは？", "欧州標準化戦略 (ESS)", None),  # 戦略を asks for no abbreviation
    ],
)
def test_expansion_span(question, text, short):
    span = expansion_span(question, text)
    assert (text[span[0]: span[1]] if span else None) == short


@pytest.mark.parametrize(
    "question, term",
    [
        ("SATREPSって何？", "SATREPS"),
        ("オープンサイエンスとは何ですか？", "オープンサイエンス"),
        ("さくらサイエンスプログラムとは？", "さくらサイエンスプログラム"),
        ("WPIの目的は？", "WPI"),  # its purpose or outline: the line that introduces it
        ("WPIの予算は？", ""),
        ("WPIとは何の略ですか？", ""),  # asks for the full name, a span
        ("本種の臓器とは何ですか？", ""),  # a phrase: asks for an organ
        ("海外からの働きかけによってどんな心配がありますか？", ""),  # 「よって」 is no 「って」
        ("What is SATREPS?", "SATREPS"),
        ("What is the purpose of Horizon Europe?", "Horizon Europe"),
        ("What is the STS forum?", "STS forum"),
        ("What is the budget?", ""),  # a figure, not a name
        ("What is Japan's rank in chemistry?", ""),
    ],
)
def test_defined(question, term):
    assert defined(question) == term


@pytest.mark.parametrize(
    "question, short, echo",
    [
        ("オープンサイエンスとは何ですか？", "オープンサイエンス", True),
        ("斎藤智恵子の長男の名前は何？", "斎藤智恵子", True),
        ("賛成でしたか、反対でしたか。", "反対", False),  # a choice: its answer is one of its words
        ("ブロートとカフカはどちらが年上ですか？", "カフカ", False),
        ("長男の名前は何？", "斎藤恒久", False),
        ("サターンIBの初期モデルは何ですか？", "サターンI", False),  # part of a longer name
    ],
)
def test_echoes(question, short, echo):
    assert echoes(question, short) is echo


@pytest.mark.parametrize(
    "question, polar",
    [
        ("日本はHorizon Europeに参加していますか？", True),
        ("Does Japan take part in Horizon Europe?", True),
        ("武装蜂起は成功しましたか?", True),
        ("WPIの予算は？", False),  # asks for a figure
        ("ERIAはいつ設立されましたか？", False),  # a question word
        ("What is WPI?", False),
        ("魚は白身魚ですか、青身魚ですか", False),  # which of two
    ],
)
def test_asks_yes_no(question, polar):
    assert asks_yes_no(question) is polar


Row = namedtuple("Row", "chunk_id text score")  # what extreme reads of qa.answer's candidates
SATREPS_ROWS = ["【地域名】アジア 【実施国数】14か国 【プロジェクト数】106プロジェクト",
                "【地域名】アフリカ 【実施国数】21か国 【プロジェクト数】45プロジェクト",
                "【地域名】中南米 【実施国数】10か国 【プロジェクト数】27プロジェクト"]


@pytest.mark.parametrize(
    "question, row",
    [
        ("最もプロジェクトが多い地域はどこですか？", 0),
        ("プロジェクト数が最も少ない地域は？", 2),
        ("実施国数が一番多い地域は？", 1),
        ("アフリカのプロジェクト数は？", 1),  # no superlative: the best piece stays
        ("最も多い地域は？", 1),  # no field named: nothing to compare
    ],
)
def test_extreme_picks_the_row_with_the_most_or_least(question, row):
    rows = [Row("c", text, score) for text, score in zip(SATREPS_ROWS, (0.80, 0.90, 0.85))]
    candidates = sorted(rows, key=lambda c: -c.score)
    assert extreme(question, candidates[:1], candidates) == [rows[row]]


@pytest.mark.parametrize(
    "question, short",
    [
        ("最もプロジェクトが多い地域はどこですか？", "アジア"),
        ("プロジェクト数が最も多い地域は？", "アジア"),
        ("最もプロジェクトが多い地域のプロジェクト数は？", None),  # asks the figure
        ("アジアのプロジェクト数は？", None),  # no superlative
    ],
)
def test_label_span(question, short):
    span = label_span(question, SATREPS_ROWS[0])
    assert (SATREPS_ROWS[0][span[0]: span[1]] if span else None) == short


@pytest.mark.parametrize(
    "question, short",
    [
        ("閉会式は何時に始まりましたか？", "11:40"),  # 閉会 names the session, it asks for no end
        ("全体会議は何時に終わりますか？", "12:30"),
        ("全体会議は何時から何時までですか？", "11:40-12:30"),
        ("全体会議の時間は？", "11:40-12:30"),
        ("When does the plenary end?", "12:30"),
    ],
)
def test_clock_span(question, short):
    text = "11:40-12:30：全体会議 [301] 閉会式"
    span = clock_span(question, text, (6, 11))  # the reader's pick: the end time
    assert text[span[0]: span[1]] == short


def test_clock_span_keeps_a_span_outside_any_range():
    assert clock_span("何時から？", "2024年7月 11:40-12:30", (0, 7)) == (0, 7)
