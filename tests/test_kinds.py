"""What a question asks for, and whether a piece or a short answer is that (qa/kinds.py)."""

import pytest

from qa.kinds import (CLASH_CONFIDENCE, asked_value, counts_as_asked, fits, kind_span, other_year, part_missing,
                      question_kind, settle_type, type_clash, value_missing)
from qa.results import Answer, Quote


@pytest.mark.parametrize(
    "question, kind",
    [
        ("何名を派遣していますか", "count"),
        ("予算規模は？", "amount"),
        ("割合はどれくらい？", "percent"),
        ("地球規模生物多様性情報機構に日本はいつ加盟しましたか？", "date"),  # 地球規模 asks no size
        ("Horizon Europeの規模は？", "count"),
        ("どこですか", "other"),
        ("いつ開催されましたか", "date"),
        ("When was ERIA founded?", "date"),
        ("Which years does the ranking cover?", "date"),
        ("どこで開催されましたか", "place"),
        ("Where was it held?", "place"),
        ("SATREPSとは何ですか", "other"),
        ("自給率の割合を上げるためにどんな取組をしますか", "other"),  # 割合 names no answer here
        ("どんな国の割合は何%ですか", "percent"),
        ("派遣先に何年とどまれますか", "duration"),
        ("有効期間は何年ですか", "duration"),
        ("何年に設立されましたか", "date"),
        ("閉会式が始まったのは何時ですか", "clock"),
        ("江戸は何時代の都ですか", "other"),  # an era, not a time of day
        ("会議は何時間続きましたか", "other"),
        ("どの機関で決められますか", "body"),
        ("STSフォーラムの参加者数は？", "count"),  # a count asked by its noun
        ("ERIAに加わっている国の数を教えてください", "count"),  # or by 「Xの数」, asked as an object
        ("ERIAに加わっている国の数を知りたいです。", "count"),
        ("血小板の数はどう変化しますか？", "other"),  # how it changes, not how many
        ("論文数と特許数はどちらが多いですか？", "other"),  # asks which, not how many
        ("ドイツの研究費の総額は？", "amount"),  # an amount asked by its noun
        ("費用はどこから出ましたか？", "other"),
        ("OSTP局長の名前は？", "person"),  # a role's name asks for a person
        ("政務三役と誰との会合ですか？", "other"),  # a party: may be a group or a role (有識者議員)
        ("ERIAの正式な名前は？", "other"),
    ],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    "question, text, read, short",
    [
        ("この資料はいつの会議のものですか？", "基本計画専門調査会（第6回） 2025.5.22", "基本計画専門調査会", "2025.5.22"),
        ("いくつの取組を公表しましたか？", "2024年に72の取組を公表", "公表", "72"),  # a bare number, never the year
        ("何か国が加盟していますか？", "2021年時点で38か国が加盟", "加盟", "38か国"),
        ("予算はいくらですか？", "LPRは250億ユーロ、フランス2030は540億ユーロ", "フランス2030", "540億ユーロ"),  # the nearest
        ("何年とどまれますか？", "2024年の調査。2年間研究に専念", "研究", "2年間"),  # a duration fits 何年
        ("何か国が加盟していますか？", "38か国が加盟", "38か国", "38か国"),  # the reader's own span fits: kept
        ("誰が発案しましたか？", "尾身幸次元大臣の発案で2004年に創立", "尾身幸次", "尾身幸次"),  # not a strict value kind
        ("何件ありますか？", "件数は公表されていない", "公表", "公表"),  # nothing of the kind: kept
        ("何人が参加しましたか？", "10:00-11:00：全体会議 [100] 開会式", "全体会議", "全体会議"),  # no time or code counts
        ("いつからいつまでのプログラムですか？", "2021～2027年で955億ユーロ規模", "2027年", "2021～2027年"),  # the whole period
        ("Horizon Europeの期間は？", "2021～2027年で955億ユーロ規模", "2027年", "2021～2027年"),
        ("いつ終わるプログラムですか？", "2021～2027年で955億ユーロ規模", "2027年", "2027年"),
        ("カーボンニュートラル技術は何分野ですか？", "【国家戦略技術 (12分野)】カーボンニュートラル技術 (17分野)", "12分野",
         "17分野"),  # the value that follows what the question names
        ("インドの大学は何校参加しましたか？", "インド33大学、日本39大学の学長等が交流", "日本39大学", "33"),
        ("第3回日印大学等フォーラムに参加したインドの大学は何校ですか？", "第3回日印大学等フォーラム@インド インド33大学、日本39大学",
         "日本39大学", "33"),  # 第3回 is part of a name, however much of the question follows it
        ("合計でいくつの組織が参加していますか？", "科学アカデミー等で、合計52カ国、78の組織が参加", "78の組織",
         "78の組織"),  # the value followed by what is counted
        ("斎藤智恵子は何年に離婚した？", "1949年には斎藤智恵子の長女が誕生。1954年、夫の問題から離婚し", "1954年",
         "1954年"),  # the name after 1949年 is the sentence's subject, not what 1949年 counts
        ("インドで開かれたフォーラムは第何回でしたか？", "第3回日印大学等フォーラム@インド インド33大学", "3回",
         "3回"),  # only values counting 回 compete
        ("SATREPSは何か国で実施していますか？", "2025年4月現在、36か国で66のプロジェクトを実施", "36か国", "36か国"),
        ("事故で死亡した人は何人か。", "事故で列車の乗員乗客200名のうち、職員1名のあわせて90名が死亡した。", "90名", "90名"),  # not a label
        ("柱の一つにはいくつのクラスタがありますか？", "柱の1つ「課題」において、健康、環境等の6つのクラスタを設置", "6つ",
         "6つ"),  # 「柱の」 is no name
        ("招待国はいくつですか？", "・ G20：ブラジル（議長国）、インド", "20", "G20"),  # read inside a name: the name
        ("QDGには何か国が参加していますか", "● G 7プリア・サミットで立ち上げ", "7", "G 7"),  # a name spaced as on a slide
        ("F-1ロケットエンジンの数は?", "第1段S-ICに5基のF-1ロケットエンジンを搭載", "5基", "5基"),  # 「F-1」 counts nothing
        ("分科会は何月何日でしたか？", "2024年の世界 -- 10月7日 14:20 分科会", "2024年", "10月7日"),  # the date with a month
        ("マヌエルが帝位についたのは、何年のことですか?", "1391年に皇帝が没すると、マヌエルは帰還し帝位に就いた。マヌエルの帰還後に7か月の間",
         "1391年", "1391年"),  # when, not how long: a duration does not compete
        ("参加国はいくつですか？", "【開催時期、場所】2023/3/24、ワシントンDC", "ワシントンDC", "ワシントンDC"),  # 24 is a day
        ("仙台防災枠組は何年から何年までですか？", "「仙台防災枠組2015-2030」を策定、2015年第3回国連防災世界会議で採択",
         "2015年", "2015-2030"),  # the period nearby, though the reader read another year
    ],
)
def test_kind_span(question, text, read, short):
    a = text.index(read)
    span = kind_span(question, text, (a, a + len(read)))
    assert text[span[0]: span[1]] == short


@pytest.mark.parametrize(
    "question, short, clash",
    [
        ("Horizon Europeに準参加している国は何か国ですか？", "6つ", True),  # counts something else
        ("何か国で実施していますか？", "36か国", False),
        ("IBMの量子コンピュータは何量子ビットですか？", "Google", True),  # no number at all
        ("SATREPSの予算はいくらですか？", "約146億円", False),
        ("入場料はいくらですか？", "無料", False),
        ("サフランを使って食すのは何人？", "イラン人", False),  # 何人 read as nationality
        ("何回かの戦闘の後、どの国の勢力下に置かれたか？", "フランス", False),  # 何回か: several times
        ("協力覚書の有効期間は何年ですか？", "2025年", True),  # a year for a duration
        ("何年間研究に専念できますか？", "2年間", False),
        ("執行副委員長の出身国はどこですか？", "城内大臣", True),
        ("協力趣意書を結んだのはどの国・地域ですか？", "E U", False),
        ("覚書を締結したのはどの国ですか？", "英国", False),
        ("どの国際的な枠組みと連携していますか？", "G7", False),  # 国際 is one word: no country asked
        ("ヨロイザメの中国名は何？", "黒鮫", False),
        ("日EUデジタルパートナーシップが締結されたのはいつですか？", "日・E Uデジタルパートナーシップに基づく協力", True),
        ("日EU先端材料対話はいつ発足しましたか？", "2024年4月", False),
        ("平日の開館日はいつ？", "水曜日", False),
        ("対抗手段として思いついたのは何か？", "猛りの滄我の力", False),  # 思いついた: no いつ asked
        ("何名ですか？", None, False),
        ("STSフォーラムの参加者数は？", "ノーベル賞受賞者", True),  # 「X数は」 asks for a number
        ("WPIの拠点数は？", "7～10人程度以上", True),  # counts people, not 拠点
        ("SATREPSの実施国数は？", "14か国", False),
        ("論文数と特許数はどちらが多いですか？", "論文数", False),
        ("ドイツの研究費の総額は？", "教育研究省", True),
        ("ベスパとタクトでは、価格はどちらが高いですか？", "ベスパ", False),
        ("日本の大学は何位ですか？", "2019-2021年", True),  # a year for a rank
        ("日本は何位ですか？", "2019年に9位", False),
        ("Horizon Europeに準参加している国は何か国ですか？", "第三国", True),  # an ordinal names, it counts none
        ("ワイン輸出量は世界で何位でしたか？", "第6位", False),  # but it is a rank
        ("何回のカンヌ国際映画祭で発表されましたか。", "第62回", False),
        ("EUの研究セキュリティ勧告はいつ採択されましたか？", "2021～2027年", True),  # a period dates no one-off event
        ("OECDの勧告はいつ改定されましたか？", "2021年", False),
        ("交流事業は何年にスタートしましたか？", "最大1年間", True),  # how long, for when
        ("分科会が行われたのは何月何日ですか？", "2024年", True),  # no month, for 「何月」
        ("分科会が行われたのは何月何日ですか？", "10月7日", False),
        ("分科会が行われたのは何月何日ですか？", "2024/10/7", False),
        ("分科会が行われたのは何月何日ですか？", "2.19", True),  # a decimal is no date
        ("派遣先に何年とどまれますか？", "2年間", False),  # how long, asked
        ("結婚生活は何年続いた？", "14年間", False),
        ("卵は何日後に孵化するの？", "約3週間", False),
        ("何年から何年までの戦争により成立したのですか？", "1701年から1714年", False),  # a period asked for
        ("G20の会合はいつ開催されましたか？", "2024年9月18日～19日", False),
        ("仙台防災枠組はいつ採択されましたか？", "2015-2030", True),  # a period without 年 is one too
        ("ERIAの本部はどこの都市にありますか？", "日本", True),  # a country for a city
        ("ERIAの本部はどこの都市にありますか？", "ジャカルタ", False),
        ("次のG20会合の開催都市を知りたいです。", "英国", True),  # a city asked by its noun, as an object
        ("次のG20会合の開催都市は？", "ブラジル", True),
        ("次のG20会合の開催都市は？", "リオデジャネイロ", False),
        ("海峡付近での最大の港湾都市はどこ?", "シンガポール", False),  # a city-state
        ("日本の国際共著論文の割合は？", "数字(%)", True),  # a share asked by its noun needs a number
        ("日本の国際共著論文の割合は？", "5.7%", False),
        ("割合が最も高い国はどこですか？", "中国", False),  # asks which country
        ("相談窓口の電話番号は？", "Research Security Center", True),
        ("WPIの拠点は全部でいくつありますか？", "7～10人程度以上", True),  # 拠点はいくつ counts 拠点
        ("分野はいくつありますか？", "6つ", False),  # つ counts anything asked いくつ
        ("最もプロジェクトが多い地域はどこですか？", "45プロジェクト", True),  # a count for どこ
        ("どこまで削減する意向ですか？", "約23%", False),
        ("どこで何人が参加しましたか？", "300人", False),  # asks a number too
        ("G20会合の招待国はいくつですか？", "G20", True),  # a name's number counts nothing
        ("参加国の数は？", "G 2 0", True),  # spaced as on a slide, too
        ("参加国の数は？", "日本", True),  # 「国の数」 counts countries
        ("参加国の数は？", "38か国", False),
        ("何件ありますか？", "In 2024", False),  # a word before a number names nothing; a lone capital does
        ("何か国から何人が参加しましたか？", "[100]", True),  # nor a session's code
        ("いくつのグローバルターゲットがありますか？", "4万人", True),  # people, not targets
        ("いくつのグローバルターゲットがありますか？", "7つ", False),
        ("アロサウルスの標本番号は何?", "AMNH680", False),  # unless a code is asked
        ("長さはいくらですか?", "200nm", False),  # a unit is no name
        ("上位何％に入る論文ですか？", "Top10%", False),  # nor is a share
        ("導入している企業は何社ありますか？", "株式会社Preferred Networks", True),  # 社 counts companies
        ("導入している企業は何社ありますか？", "約30社", False),
        ("予算総額はいくらですか？", "六つ", True),  # a count of things is no sum of money
        ("予算総額はいくらですか？", "10億ユーロ", False),
        ("目標金額の何倍以上を集めましたか。", "10倍以上", False),  # 何倍 asks a count, 金額 or not
        ("理論演算性能は何ペタフロップスですか？", "２位", True),  # a rank for a unit
        ("理論演算性能は何ペタフロップスですか？", "66.8ペタフロップス", False),
        ("富士山の標高は何メートルですか？", "3,776m", False),  # the unit written otherwise: no clash
    ],
)
def test_type_clash(question, short, clash):
    assert (type_clash(question, short) is not None) is clash


NEAR = "1390年4月に即位したが、在位は5か月余りで、6つの州を治めた。"


FAR = "1390年4月に即位し、6つの州を治めた。" + "その後の経緯は長く続いた。" * 4 + "在位は5か月余り。"


@pytest.mark.parametrize(
    "question, text, short, settled",
    [
        ("在位期間は何か月でしたか？", NEAR, "1390年4月", "5か月"),  # a duration beside the year the reader read
        ("在位期間は何か月でしたか？", FAR, "1390年4月", None),  # too far off to be about the same thing
        ("何か国を治めましたか？", NEAR, "6つ", None),  # counts something else, and no Nか国 in the quote
        ("即位したのは何年ですか？", FAR, "1390年4月", "1390年4月"),  # no clash: kept
        # a programme's period for a one-off event: the year inside it is no answer either
        ("準参加協定はいつ署名されましたか？", "研究開発支援プログラム。2021～2027年で955億ユーロ規模。", "2021～2027年", None),
        # an ordinal or an amount beside it counts no targets either
        ("いくつのグローバルターゲットがありますか？", "2015年第3回国連防災世界会議で採択。4万人の育成、40億ドルの協力", "4万人", None),
    ],
)
def test_settle_type(question, text, short, settled):
    at = text.index(short)
    answer = Answer(question, False, (Quote(text, 1, (at, at + len(short))),), (), short_answer=short, confidence=0.9)
    got = settle_type(question, answer)
    assert got.short_answer == settled
    if settled:
        first = got.quotes[0]
        assert first.text[first.span[0]: first.span[1]] == settled and got.confidence == 0.9
    else:
        assert got.abstained and got.confidence == CLASH_CONFIDENCE and got.notice


GPAI = "2022年11月には年次総会であるGPAIサミットが東京において開催され、2023年11月まで日本が議長国を務めました。"


@pytest.mark.parametrize(
    "question, text, short, clash",
    [
        ("2024年のGPAIサミットはどの都市で開催されましたか？", GPAI, "東京", True),  # its quote is about 2022 and 2023
        ("2022年のGPAIサミットはどの都市で開催されましたか？", GPAI, "東京", False),
        ("GPAIサミットはどの都市で開催されましたか？", GPAI, "東京", False),  # no year asked
        ("2024年の会合はどこで開かれましたか？", "開催場所：イタリア・ボローニャ", "ボローニャ", False),  # no year stated
        ("2018年に発表された戦略は何年に改定されましたか？", "戦略は2023年に改定された。", "2023年", False),  # the year answers
        # the year names the subject in an earlier sentence of the quote
        ("2022年に始めたチャレンジの賞金の総額はいくらですか？", "チャレンジを2022年7月に開始しました。2023年3月に受賞者が発表され、130万ポンドが賞金として与えられました。",
         "130万ポンド", False),
    ],
)
def test_other_year(question, text, short, clash):
    at = text.index(short)
    assert (other_year(question, text, (at, at + len(short))) is not None) is clash
    answer = Answer(question, False, (Quote(text, 1, (at, at + len(short))),), (), short_answer=short, confidence=0.9)
    assert settle_type(question, answer).abstained is clash


@pytest.mark.parametrize(
    "question, quote, missing",
    [
        ("ドイツがAI戦略に投じる予算の総額はいくらですか？", "ドイツは2018年に「AI戦略」を発表し、研究資金配分スキームの再考を掲げた。", True),
        ("ドイツがAI戦略に投じる予算の総額はいくらですか？", "AI戦略には30億ユーロが投じられる。", False),
        ("最長何年間の支援を受けられますか？", "トップ研究者との国際共同研究を実施", True),
        ("どの程度の水準まで高めようとしていますか？", "諸外国と同等レベルの研究セキュリティを確保", False),  # words may answer
        ("どの国と協力していますか？", "英国と協力", False),  # no value asked
    ],
)
def test_value_missing(question, quote, missing):
    assert (value_missing(question, quote) is not None) is missing


LEAGUE = "加盟は日本、ケニア、ペルー、ガーナ等の研究機関で、合計40か国、61の組織が参加"


@pytest.mark.parametrize(
    "question, quote, short, missing",
    [
        ("連盟に加盟している国のうち、アフリカの国はいくつですか？", LEAGUE, "40か国", True),  # counts the whole
        ("連盟に加盟している国のうち、アフリカの国はいくつですか？", "アフリカからは12か国が加盟", "12か国", False),
        ("連盟の予算のうち、量子技術にはいくら充てますか？", "連盟の予算は540億ユーロ", "540億ユーロ", True),
        ("連盟の予算のうち、量子技術にはいくら充てますか？", "予算540億ユーロのうち量子技術に18億ユーロ", "18億ユーロ", False),
        ("加盟国のうち、人数が多いのはどちらですか？", LEAGUE, "日本", False),  # a choice, not a part
        ("加盟国のうち、加盟国の数はいくつですか？", LEAGUE, "40か国", False),  # nothing narrows the whole
        ("加盟国のうち、アフリカの国はどこですか？", LEAGUE, "ケニア", False),  # no count asked
        ("課徴金のうち、A社に課せられた金額はいくらですか？", "A社には120万ユーロが課せられた", "120万ユーロ", False),  # 金額 is counted
    ],
)
def test_part_missing(question, quote, short, missing):
    assert (part_missing(question, quote) is not None) is missing
    at = quote.index(short)
    answer = Answer(question, False, (Quote(quote, 1, (at, at + len(short))),), (), short_answer=short, confidence=0.9)
    got = settle_type(question, answer)
    assert got.abstained is missing
    if missing:
        assert got.confidence == CLASH_CONFIDENCE and "に限った" in got.notice


def test_a_later_quote_about_the_year_asked_takes_the_place_of_the_first():
    question = "防災分野のうち2023年度に始まった案件は、何という研究テーマですか？"
    rows = ["【テーマ】交通マネジメントに関する研究 【相手国・年度】タイ (2024)",
            "【テーマ】広域火山災害リスク軽減プロジェクト 【相手国・年度】トンガ (2023)"]
    quotes = tuple(Quote(t, n, (t.index("】") + 1, t.index(" 【相"))) for n, t in enumerate(rows, start=1))
    got = settle_type(question, Answer(question, False, quotes, (), short_answer="交通マネジメントに関する研究", confidence=0.9))
    assert not got.abstained and got.quotes == quotes[1:] and got.short_answer == "広域火山災害リスク軽減プロジェクト"


@pytest.mark.parametrize(
    "question, text, values",
    [
        ("何か国で実施？", "36か国で66のプロジェクト、6つのクラスタ", ["36か国"]),
        ("何名を派遣？", "約300名の若手研究者、147人を調査、2018年度", ["300名", "147人"]),
        ("在位期間は何か月？", "1390年4月に即位、5か月余り", ["5か月"]),
        ("いつ署名？", "2025年5月に署名", ["2025年5月"]),
        ("どの国？", "英国と2025年に署名", None),  # no value stands in for a country
        ("プロジェクト数は？", "採択数(2006～2016)は45", ["45"]),  # never the tail of a year
    ],
)
def test_asked_value(question, text, values):
    pattern = asked_value(question)
    assert (None if pattern is None else [m.group(0) for m in pattern.finditer(text)]) == values


@pytest.mark.parametrize(
    "kind, text, ok",
    [
        ("person", "2021年より、元東大総長の小宮山宏氏が理事長", True),
        ("person", "大統領秘書室 科学技術首席秘書官", False),
        ("amount", "2021～2027年で955億ユーロ規模", True),
        ("amount", "約23%削減", False),
        ("percent", "研究者の３０％以上", True),
        ("date", "2024年7月9日～11日", True),
        ("date", "相談窓口を設置", False),
        ("date", "海外の大学等において2年間研究に専念", True),  # 何年 may ask how long
        ("duration", "海外の大学等において2年間研究に専念", True),
        ("duration", "2024年に開始", False),
        ("body", "立法機関である全国人民代表大会で決定", True),
        ("body", "体制と機構の完備", False),
        ("other", "何でも", True),
    ],
)
def test_fits_the_kind_asked_for(kind, text, ok):
    assert fits(kind, text) is ok


@pytest.mark.parametrize(
    "question, text, ok",
    [
        ("インドの大学院生を何人受け入れますか？", "支援人数は270人程度とし", True),
        ("インドの大学院生を何人受け入れますか？", "約300名の若手研究者", True),  # 名 counts people too
        ("インドの大学院生を何人受け入れますか？", "トップ大学の大学院生を2年間招へい", False),
        ("何か国で実施していますか？", "36か国でプロジェクトを実施", True),
        ("予算はいくらですか？", "約146億円", True),  # no counter asked: any text
    ],
)
def test_counts_as_asked(question, text, ok):
    assert counts_as_asked(question, text) is ok


def test_a_long_short_answer_is_cut_short_in_the_notice():
    why = type_clash("招待国はいくつですか？", "ブラジル（議長国）、インド（前年議長国）、南アフリカ（来年議長国）、アフリカ連合")
    assert "南アフリカ（来年…」" in why and "アフリカ連合" not in why
