"""What a question asks for (an amount, a share, a count, a duration, a date, an
organisation, a person, a place), whether a piece or a short answer is that kind of
thing, and what to do when the short answer is not (「6つ」 for 「何か国」): find one of
the asked kind beside it, or abstain and say why."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from .results import Answer, Quote
from .tokens import YEAR, is_country, normalize, squash, tokenize

_DURATION = re.compile(r"[0-9]+\s*(年間|か月|ヶ月|カ月|週間|日間)")  # 「2年間」, 「5か月」
# A count or amount asked by its noun at the end of a question (「参加者数は？」, 「予算はどのくらい」),
# not which of several things (「どちらが多い」, 「費用はどこから出た」, 「費用は何」) nor how it
# changes (「数はどう変化」); also asked as an object (「国の数を教えてください」).
_ASKED_LAST = r"(?:は|って)(?![^、。]*(?:どこ|誰|どれ|どの|どちら|どっち|どう[変なし]))[^、。]{0,12}。?$"
_ASKED_OBJECT = r"を(?:教えて|答えて|示して|知りたい)[^、。]{0,8}。?$"
_COUNT_NOUN = rf"[一-龥ァ-ヴー]の?数(?:{_ASKED_LAST}|{_ASKED_OBJECT})"
_AMOUNT_NOUN = r"(?:総額|予算|費用|経費|研究費|投資額|価格|値段)(?!\S*何(?!円))" + _ASKED_LAST
_SHARE_NOUN = r"(?:割合|比率|シェア)" + _ASKED_LAST  # 「国際共著論文の割合は？」, not 「割合が最も高い国は」
_CODE_NOUN = r"番号" + _ASKED_LAST  # 「相談窓口の電話番号は？」

# Expected answer kinds: question cue -> pattern that a fitting piece contains.
# Order matters: the first cue that matches decides.
_KINDS = {
    "amount": (
        re.compile(rf"いくら|金額|予算額|予算規模|資金規模|拠出額|how much|budget of|amount of|{_AMOUNT_NOUN}", re.I),
        re.compile(r"\d[\d,.]*\s*(兆|億|万|千)?\s*(円|ドル|ユーロ|ウォン|元|ポンド)|(円|ドル|ユーロ|ウォン)"),
    ),
    "percent": (
        re.compile(r"何\s*(%|％|割)|割合|比率|シェア|percent|share|proportion", re.I),
        re.compile(r"\d\s*(%|割)"),
    ),
    "count": (
        re.compile(rf"何\s*(名|人|件|か国|カ国|ヶ国|校|機関|分野|つ|項目|回|個|点|プロジェクト|倍|社)|いくつ|幾つ|人数|規模{_ASKED_LAST}|どれ(くらい|ほど)|どの(くらい|程度)|how many|number of"
                   rf"|{_COUNT_NOUN}", re.I),
        re.compile(r"\d|[一二三四五六七八九十百千万]+(つ|か国|カ国|名|人)"),
    ),
    "duration": (  # before date: 何年 may ask how long (「何年とどまって」)
        re.compile(r"期間は何年(?!から)|何年間|何\s*(か月|ヶ月|カ月|週間|日間)"
                   r"|何年(?=\s*(とどま|滞在|在籍|続|かか|勤め|務め|住|駐在|派遣))|how long", re.I),
        _DURATION,
    ),
    "clock": (  # a time of day: JaQuAD's 59 「何時」 questions (not 何時代, 何時間) all ask one
        re.compile(r"何時(?!代|点|間)|what time", re.I),
        re.compile(r"\d{1,2}\s*[:：時]"),
    ),
    "date": (
        re.compile(r"いつ|何年|何月|何日|日付|時期|日程|when|(what|which) (years?|dates?|months?)\b", re.I),
        re.compile(r"\d{4}\s*[年/.]|\d{1,2}\s*月|令和|平成|\d{4}|\d\s*(年間|か月|ヶ月|カ月)"),  # 何年 may ask how long
    ),
    "body": (  # an organisation: a compound name ending in 省, 機構, 大会 … (not 「体制と機構」)
        re.compile(r"どの(機関|組織|団体|省|庁|機構|会議|委員会)|どこの(機関|組織|団体|省)"
                   r"|which (agency|organi[sz]ation|body|ministry|institution)", re.I),
        re.compile(r"[一-龥ァ-ヴーA-Za-z0-9・]{2}(省|庁|院|大会|委員会|協会|財団|機構|研究所|センター|大学|会議|局|本部|評議会|理事会|機関)"),
    ),
    "person": (  # fits: a person's name (see fits); 「局長の名前は」 asks for one too; 「誰との会合」,
        # 「誰からの声」 need not (in JaQuAD 51 of 169 such answers are groups or roles: 「小市民層」, 「教皇」)
        re.compile(r"(誰|だれ)(?!と|から)|\bwho(m|se)?\b|(長|者|官|大臣|委員|理事|総裁|首相|大統領|代表|監督)の(名前|氏名)", re.I),
        None,
    ),
    "place": (
        re.compile(r"どこで(?!す)|場所|開催地|where|which (city|country)", re.I),
        re.compile(r"場所|開催地|所在地|[都道府県市州]\b|(?<=[・、])[ァ-ヴー]{2,}$"),
    ),
}
STRICT_KINDS = ("amount", "percent", "count", "duration", "date", "person")  # these need a fitting piece
_DURATION_ASKED = _KINDS["duration"][0]


def fits(kind: str, text: str) -> bool:
    """Whether `text` holds the kind of thing a question of `kind` asks for."""
    if kind not in _KINDS:
        return True
    pattern = _KINDS[kind][1]
    if pattern is None:  # person: unidic tags given and family names as 人名
        return any(t.pos3 == "人名" for t in tokenize(text))
    return bool(pattern.search(normalize(text)))


# Nouns that name a kind but need not be what is asked: 「割合を上げるためにどんな取組」 asks for a measure.
_NOUN_CUES = re.compile(r"金額|予算額|予算規模|資金規模|拠出額|割合|比率|シェア|人数|規模|日付|時期|日程|場所|開催地")
_OPEN_ASK = re.compile(r"どんな|どのような|どういった|どういう|何を|何が|何と")


def question_kind(question: str) -> str:
    if _OPEN_ASK.search(question):
        question = _NOUN_CUES.sub("＿", question)
    for kind, (cue, _) in _KINDS.items():
        if cue.search(question):
            return kind
    return "other"


_NUM = r"約?[0-9][0-9,.]*\s*"
# A point in time: 2024年9月, 2025.5.22, 令和6年, 4月28日
_POINT = (r"(19|20)[0-9]{2}\s*([年./]\s*[0-9]{1,2}\s*[月./]?(\s*[0-9]{1,2}\s*日?)?|年度?)"
          r"|(令和|平成)\s*([0-9]+|元)\s*年度?(\s*[0-9]{1,2}\s*月(\s*[0-9]{1,2}\s*日)?)?|[0-9]{1,2}\s*月(\s*[0-9]{1,2}\s*日)?")
# What a short answer of a strict kind looks like, to find one in the quote when the reader's isn't.
_VALUES = {
    "amount": re.compile(_NUM + r"(兆|億|万|千)*\s*(円|ドル|ユーロ|ウォン|元|ポンド)"),
    "percent": re.compile(_NUM + r"(%|％|割)"),
    "count": re.compile(r"(?<![0-9:：])" + _NUM + r"(か国|カ国|ヶ国|名|人|件|校|機関|分野|つ|項目|回|個|点|プロジェクト|倍|拠点)"
                        # a bare number, not a date or part of one
                        r"|(?<![0-9A-Za-z/:：])約?(?!(19|20)[0-9]{2})[0-9][0-9,.]*(?![0-9,.]*\s*[年月日/:：])"  # not G20, 3/24,
                        r"(?![0-9,.]*\s*(兆|億|万|千)?\s*(円|ドル|ユーロ|ウォン|元|ポンド))"),  # 10:00 nor 40億ドル
    "date": re.compile(_POINT + r"|[0-9]+\s*(年間|か月|ヶ月|カ月)"),  # 何年 may ask how long
    "duration": _DURATION,
    "clock": re.compile(r"(午前|午後)?\s*[0-9]{1,2}\s*(:\s*[0-9]{2}|時\s*([0-9]{1,2}\s*分|半)?)"),
}


def kind_span(question: str, text: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a question asking for an amount, share, count or date: the reader's span if
    it holds one, else the value of that kind in `text` nearest to it (「いつ」 read as
    a meeting's name -> the date beside it)."""
    if span is not None and _PERIOD_ASKED.search(question):  # 「いつからいつまで」: the whole period
        periods = [m.span() for m in _YEAR_RANGE.finditer(text)]
        period = next((p for p in periods if p[0] < span[1] and span[0] < p[1]), None) or _nearest(periods, span)
        if period:
            return period
    pattern = _when_values(question) or _VALUES.get(question_kind(question))
    if span is None or pattern is None:
        return span
    name = next((m.span() for m in _NAMED_NUMBER.finditer(text) if m.start() <= span[0] and span[1] <= m.end()), None)
    if name:  # the reader read 「20」 of 「G20」: the short answer is the name, a clash for a count
        return name
    if pattern.search(text[span[0]: span[1]]):
        counted = asked_value(question) if _counter_asked(question) else None  # 「第何回」: only values counting 回
        return _best_named(question, text, counted if counted and counted.search(text) else pattern, span)
    return _nearest([m.span() for m in _unnamed(pattern, text)], span) or span


def _unnamed(pattern: re.Pattern, text: str) -> list[re.Match]:
    """The values `pattern` finds in `text`, but for those in names or codes (「F-1」, 「[100]」 of a session)."""
    codes = [m.span() for m in _NAMED_NUMBER.finditer(text)]
    return [m for m in pattern.finditer(text) if not any(a <= m.start() < b for a, b in codes)]


def _lead(text: str, start: int, after: int) -> str:
    """What a value at `start` follows, back to the last 、。：【】 or the value before it
    (ending at `after`), without the brackets, spaces and particles between: 「インド」 of
    「インド33大学」, 「柱」 of 「柱の1つ」."""
    lead = re.split(r"[、。：:【】,，]", text[max(after, start - 20): start])[-1]
    return squash(lead).rstrip("(（「『 のはがでにをと")


def _trail(text: str, end: int) -> str:
    """What a value ending at `end` goes on with, up to the next 、。：【】: 「組織」 of 「78の組織が参加」."""
    return squash(re.split(r"[、。：:【】,，]", text[end: end + 12])[0]).lstrip(")）」』 の")  # not 「には斎藤…」


def _named_by(asked: str, lead: str, trail: str = "") -> int:
    """How many characters at the end of `lead`, and at the start of `trail`, the
    (squashed) question also says."""
    before = max((n for n in range(2, len(lead) + 1) if lead[-n:] in asked), default=0)
    return before + max((n for n in range(2, min(len(trail), 4) + 1) if trail[:n] in asked), default=0)  # what it counts


def _ordinal(text: str, start: int) -> bool:
    """Whether the value at `start` is an ordinal (「3回」 of 「第3回」)."""
    return text[max(0, start - 1): start] == "第"


def _best_named(question: str, text: str, pattern: re.Pattern, span: tuple[int, int]) -> tuple[int, int]:
    """`span`, unless another value of the asked kind sits between more of what the
    question says than the one in `span` does, and than any other value: 「カーボンニュートラル技術は
    何分野」 reads 「カーボンニュートラル技術 (17分野)」, not the 「(12分野)」 after 「国家戦略技術」;
    「いくつの組織」 keeps 「78の組織」 over the 「52カ国」 after 「合計」."""
    asked = squash(question)
    values = [m for m in _unnamed(pattern, text) if not _ordinal(text, m.start())]  # not 「第3回…」
    ends = [0] + [m.end() for m in values]
    named = {m.span(): _named_by(asked, _lead(text, m.start(), end), _trail(text, m.end())) for m, end in zip(values, ends)}
    mine = max((n for (a, b), n in named.items() if a < span[1] and span[0] < b), default=None)
    if mine is None:
        return span
    best = max(named.values())
    top = [v for v, n in named.items() if n == best]
    return top[0] if best >= mine + 3 and len(top) == 1 else span  # clearly more: 「斎藤智恵子は…1954年に離婚」 stays


def _nearest(found: list[tuple[int, int]], span: tuple[int, int]) -> tuple[int, int] | None:
    """The span of `found` nearest to `span` by the gap between them; on a tie the one
    after (「フランス2030は540億ユーロ」)."""
    a, b = span
    return min(found, key=lambda f: (max(f[0] - b, a - f[1], 0), f[0] < a)) if found else None


# What a 「何X」 question counts, by the counter X; an answer counting something else
# (「何か国」 -> 「6つ」) is not its answer. つ counts what 個 counts.
_COUNTERS = {"か国": "国", "カ国": "国", "ヶ国": "国", "人": "人", "名": "人", "件": "件", "回": "回", "個": "個",
             "つ": "個", "位": "位", "倍": "倍", "校": "校", "機関": "機関", "分野": "分野", "拠点": "拠点", "量子ビット": "量子ビット",
             "社": "社"}
_COUNTER = "|".join(sorted(_COUNTERS, key=len, reverse=True))
_COUNT_ASKED = re.compile(rf"何\s*({_COUNTER})(?![かも])")  # not 「何回か」 (several times)
_NOUN_COUNTERS = {"者": "人", "員": "人", "国": "か国"}  # 「参加者数」 counts 人, 「参加国の数」 か国
_COUNTED_NOUN = re.compile(rf"({_COUNTER}|{'|'.join(_NOUN_COUNTERS)})の?数(?:{_ASKED_LAST}|{_ASKED_OBJECT})")  # 「拠点数は」, 「参加国の数は」
_NUMBER_ASKED = re.compile(rf"いくつ(?![かも])|幾つ(?![かも])|いくら(?!い)|何\s*[%％]|{_COUNT_NOUN}|{_AMOUNT_NOUN}|{_SHARE_NOUN}|{_CODE_NOUN}")
_NUMERAL = "[0-9一二三四五六七八九十百千万]|ゼロ|無料|ひとつ|ふたつ|みっつ|よっつ|いつつ|ひとり|ふたり"
_COUNTED = re.compile(rf"(?:{_NUMERAL})\s*({_COUNTER})")
_ORDINAL = re.compile(rf"第\s*(?:{_NUMERAL})+")
# A one-off event asked 「いつ」 (「いつ署名されましたか」) is not dated by a span of years
# (「2021～2027年」 is a programme's period); not 「何年から何年まで」.
_EVENT_ASKED = re.compile(r"^(?!.*(から|まで|期間)).*(署名|締結|採択|設立|創立|創設|発足|設置|発表|公表|制定|改定|合意|開始|始ま|始め"
                          r"|調印|批准|成立|施行)")
_PERIOD_ASKED = re.compile(r"いつから\S*いつまで|何年から\S*何年まで|期間(はいつ|は[？?]?$|を教)|いつの期間|what period|from when", re.I)
_YEAR_RANGE = re.compile(r"\d{4}\s*年?\s*(?:～|~|〜|-|－|―|から)\s*(?:\d{2,4}\s*年|(?:19|20)\d{2}(?!\d))")  # 「仙台防災枠組2015-2030」
_WHEN_ASKED = re.compile(r"(?<![つ思強])いつ(?![もかきな])|何\s*[年月日](?![か間])")
_WHEN_LIKE = re.compile(r"[0-9一二三四五六七八九十]|時代|世紀|紀|頃|ごろ|時期|期|以降|以前|当初|末|初頭|前半|後半|[春夏秋冬雨乾]季?"
                        r"|明治|大正|昭和|平成|令和|元年|[昨今去来毎翌前同]年|[昨今先来毎翌]月|[昨今明毎翌前同当]日|曜日|近世|近代|古代|中世|現代"
                        r"|とき|場合|時|後|前|中|間|朝|夜|昼|晩|週")


# 「何年にスタート」 asks when, and 「1年間」 is how long; 「何年続いた」, 「何日後」, 「何年に短縮」 ask how long
_ONLY_DURATION = re.compile(r"(?:約|およそ|最大|最長)?[0-9]+(?:年間|か月|ヶ月|カ月|週間|日間)(?:以上|以内|程度|ほど)?")
_LENGTH_ASKED = re.compile(r"続|わた|後|間|かか|短縮|延長")
_POINT_IN_TIME = re.compile(_POINT)
# 「何月何日」 asks for a month (all 405 such JaQuAD questions have one in their answer)
_MONTH_ASKED = re.compile(r"何\s*月")
_WITH_MONTH = re.compile(r"((19|20)[0-9]{2}\s*年\s*)?[0-9]{1,2}\s*月(\s*[0-9]{1,2}\s*日)?"  # 2024年10月7日, 10月
                         r"|((19|20)[0-9]{2}\s*/\s*)?[0-9]{1,2}\s*/\s*[0-9]{1,2}|(19|20)[0-9]{2}\s*\.\s*[0-9]{1,2}\s*\.\s*[0-9]{1,2}")


def _when_values(question: str) -> re.Pattern | None:
    """What answers a question asking when: a date with its month for 「何月」, else any point
    in time; None for a question that does not ask when (or asks how long)."""
    if not _asks_when(question):
        return None
    return _WITH_MONTH if _MONTH_ASKED.search(question) else _POINT_IN_TIME


def _asks_when(question: str) -> bool:
    """Whether the question asks when (「何年に」, 「いつ」), not how long (「何年続いた」)."""
    return bool(_WHEN_ASKED.search(question)) and not (_DURATION_ASKED.search(question) or _LENGTH_ASKED.search(question))


# A number that is part of a name counts nothing: 「G20」, 「COP28」, 「F-1」, spaced 「G 7」 (「200nm」 is a number,
# and so is a share named 「Top10%」), nor does a session's code: 「全体会議 [100]」
_NAMED_NUMBER = re.compile(r"[A-Za-z]+[-‐]?[0-9]+(?![0-9.]*\s*%)[A-Za-z]*|(?<![A-Za-z])[A-Z]\s(?:[0-9]\s?)*[0-9]|\[\s*[0-9]+\s*\]")


def _cardinal(question: str, counted: str | None, text: str) -> str:
    """`text` without the numbers that count nothing: those in names (「G20」), unless a
    code is asked (「標本番号は」 -> 「AMNH680」), and ordinals when the question counts
    countries or people (「第三国」 names a kind of country; an ordinal does answer 「何位」)."""
    if not re.search(_CODE_NOUN, question):
        text = _NAMED_NUMBER.sub("", text)
    return _ORDINAL.sub("", text) if counted and _COUNTERS[counted] in ("国", "人") else text


# 「何ペタフロップス」, 「何メートル」: a unit the counters above do not know
_UNIT_ASKED = re.compile(r"何\s*([ァ-ヴー]{2,})")

# 「いくつのグローバルターゲット」 counts targets, not people (「4万人」)
_THINGS_COUNTED = re.compile(r"(?:いくつ|幾つ)の([一-龥ァ-ヴーA-Za-z]{2,})")
_PEOPLE = re.compile(r"(者|員|人|生|家|手|官|師|士|陣|団|国民|市民)$")

# 「拠点は全部でいくつ」 counts 拠点 as 「何拠点」 would
_COUNTED_SUBJECT = re.compile(rf"(?<![一-龥ァ-ヴー])({_COUNTER})(?:は|が)[^、。]{{0,8}}(?:いくつ|幾つ)")


def _counter_asked(question: str) -> str | None:
    """The counter a 「何X」, 「X数は」 or 「Xはいくつ」 question counts by (「何か国」 -> か国,
    「参加者数は」 -> 人, 「拠点は全部でいくつ」 -> 拠点)."""
    m = _COUNT_ASKED.search(question)
    if m:
        return m.group(1)
    m = _COUNTED_NOUN.search(question) or _COUNTED_SUBJECT.search(question)
    if not m:
        return None
    return _NOUN_COUNTERS.get(m.group(1), m.group(1))


# 「どの国際的な枠組み」 asks for no country: 国 there begins a longer word
_WHICH_COUNTRY = r"どの国(?![際内民立家会土産策語])"
_COUNTRY_ASKED = re.compile(rf"出身国|議長国|{_WHICH_COUNTRY}|どこの国|国はどこ|(?<![中和英])国名は")
# EU, ASEAN, 米, 唐; a name in katakana alone may be a state the dictionary does not know (カラマン)
_COUNTRY_LIKE = re.compile(r"(国|朝|州)$|^[A-Z]{2,6}$|^[一-龥]$|^[ァ-ヴー・]+$")


# 「最もプロジェクトが多い地域はどこ」 is not answered by 「45プロジェクト」 (「どこまで削減」 may be)
_WHERE_WHO = re.compile(rf"どこ(?!まで)|誰|だれ|{_WHICH_COUNTRY}|どの(地域|機関|組織|都市|大学)")
_NUMBER_TOO = re.compile(r"何|いくつ|幾つ|いくら|どれ(くらい|ほど)|どの(くらい|程度)")
_CITY_ASKED = re.compile(rf"(どこ|どの|何という)の?(都市|市|町|街)|(都市|首都)は(どこ|何)|何市|(都市|首都)(?:{_ASKED_LAST}|{_ASKED_OBJECT})")
_CITY_STATES = frozenset({"シンガポール", "モナコ", "バチカン", "サンマリノ"})


# How sure an abstention for a type clash is: on dev all 6 such answers were wrong, and
# the rule of succession puts the chance of such an answer being right at (0+1)/(6+2).
CLASH_CONFIDENCE = 0.875
# A value of the asked kind replaces a clashing short answer only this many characters
# from it; further off in a long row it is about something else (a 【EU】 field's name
# for 「いつ」, and the row's only date belongs to another project).
REPAIR_GAP = 40


def type_clash(question: str, short: str | None) -> str | None:
    """Why the short answer cannot be what the question asks for, or None: no number for
    「何か国」 or 「いくら」, another counter (「6つ」 for 「何か国」), a year for a count (「2019-2021年」
    for 「何位」) or a duration (「2025年」 for 「有効期間は何年」), a head count for things (「4万人」 for
    「いくつのグローバルターゲット」), no time for 「いつ」, no country for 「どの国」. Such an
    answer means the documents name the subject but not the thing asked (on JaQuAD's
    gold answers it fires for 0.05% of dev and 0.07% of train questions)."""
    if not short:
        return None
    shown = short if len(short) <= 30 else short[:29] + "…"  # a whole list read as the answer
    text = normalize(short)
    counted = _counter_asked(question)
    if (counted or _NUMBER_ASKED.search(question)) and not re.search(_NUMERAL, _cardinal(question, counted, text)):
        if not (counted == "人" and text.endswith("人")):  # 何人 read as nationality
            return f"質問は数を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は数ではありません"
    found = {_COUNTERS[m.group(1)] for m in _COUNTED.finditer(text)}  # what the answer counts
    if counted:
        any_thing = "個" in found and not _COUNT_ASKED.search(question)  # 「分野はいくつ」: 「6つ」
        if found and _COUNTERS[counted] not in found and not any_thing:
            return f"質問は「何{counted}」を尋ねていますが、資料の該当しそうな箇所は「{shown}」と別のものを数えています"
        if not found and re.search(r"\d{4}\s*年", text):
            return f"質問は「何{counted}」を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は年です"
    if found and not counted and _KINDS["amount"][0].search(question) and not _KINDS["amount"][1].search(text):
        return f"質問は金額を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は金額ではありません"
    unit = _UNIT_ASKED.search(question)
    if unit and found and unit.group(1) not in text:
        return f"質問は「何{unit.group(1)}」を尋ねていますが、資料の該当しそうな箇所は「{shown}」と別のものを数えています"
    things = _THINGS_COUNTED.search(question)
    if things and not _PEOPLE.search(things.group(1)) and found == {"人"}:
        return f"質問は「{things.group(1)}」の数を尋ねていますが、資料の該当しそうな箇所の「{shown}」は人数です"
    if _DURATION_ASKED.search(question) and re.search(r"\d{4}\s*年(?!間)", text) and not re.search(r"年間|か月|ヶ月|カ月", text):
        return f"質問は期間を尋ねていますが、資料の該当しそうな箇所にあるのは年「{shown}」です"
    if _WHEN_ASKED.search(question) and not _WHEN_LIKE.search(text):
        return f"質問は時期を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は時期ではありません"
    if _MONTH_ASKED.search(question) and not _WITH_MONTH.search(text):
        return f"質問は月日を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」には月がありません"
    if _asks_when(question) and _ONLY_DURATION.fullmatch(squash(text)):
        return f"質問は時期を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は期間です"
    if _WHEN_ASKED.search(question) and _EVENT_ASKED.search(question) and _YEAR_RANGE.search(text):
        return f"質問はできごとの時期を尋ねていますが、資料の該当しそうな箇所にあるのは期間「{shown}」です"
    if (_WHERE_WHO.search(question) and not _NUMBER_TOO.search(question)
            and any(v.fullmatch(squash(short)) for v in (_VALUES["count"], _VALUES["amount"], _VALUES["percent"]))):
        return f"質問は場所や名前を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は数です"
    if _CITY_ASKED.search(question) and is_country(text) and text not in _CITY_STATES:
        return f"質問は都市を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は国名です"
    if _COUNTRY_ASKED.search(question) and not (
            _COUNTRY_LIKE.search("".join(unicodedata.normalize("NFKC", short).split())) or any(t.pos3 == "地名" for t in tokenize(text))):
        return f"質問は国を尋ねていますが、資料の該当しそうな箇所の答え「{shown}」は国名ではありません"
    return None


def counts_as_asked(question: str, text: str) -> bool:
    """Whether `text` counts what a 「何X」 question counts (「何人」: 「270人程度」, 「約300名」,
    not 「80か国」); True for a question that names no counter."""
    counted = _counter_asked(question)
    return not counted or bool(asked_value(question).search(normalize(text)))


def asked_value(question: str) -> re.Pattern | None:
    """What a value of the kind the question asks for looks like, where that is a number,
    a duration or a date (「何か国」 -> 「36か国」, 「何か月」 -> 「5か月」): a short answer
    that clashes is replaced by such a value in its quote, if the quote has one."""
    counted = _counter_asked(question)
    if counted:
        same = [c for c, kind in _COUNTERS.items() if kind == _COUNTERS[counted]]
        return re.compile(rf"(?:{_NUMERAL})[0-9,.]*\s*(?:{'|'.join(same)})")
    if _DURATION_ASKED.search(question):
        return _VALUES["duration"]
    if _WHEN_ASKED.search(question):
        return _when_values(question) or _VALUES["date"]
    if _NUMBER_ASKED.search(question):
        return _VALUES.get(question_kind(question))
    return None


def other_year(question: str, quote: str, span: tuple[int, int] | None) -> str | None:
    """Why the quote cannot answer, or None: the question is about a year (「2024年のGPAI
    サミット」) and the quote names other years but never that one (「2022年11月には…サミットが
    東京において開催」). Years inside the short answer do not count: they may be what is
    asked. The whole quote is read, not only the answer's sentence: the year may name the
    subject in an earlier sentence (「2022年に始めたチャレンジ」 … 「2023年3月に…賞金」)."""
    asked = set(YEAR.findall(normalize(question)))
    if not asked or span is None:
        return None
    named = set(YEAR.findall(normalize(quote[: span[0]] + " " + quote[span[1]:])))
    if named and not named & asked:
        return (f"質問は{'・'.join(sorted(asked))}年について尋ねていますが、"
                f"資料の該当しそうな箇所は{'・'.join(sorted(named))}年のことです")
    return None


# 「どの程度」, 「どれくらい」 may be answered in words (「十分に」), not only by a number
_VAGUE_MEASURE = re.compile(r"どの(くらい|程度)|どれ(くらい|ほど)")
_WANTED = {"amount": "金額", "percent": "割合", "count": "数", "duration": "期間", "date": "時期"}


def value_missing(question: str, quote: str) -> str | None:
    """Why the quote cannot answer, or None: the question asks for a sum, a share, a count,
    a length of time or a date, and the quote holds no value of that kind (「ドイツがAI戦略に
    投じる予算の総額は」, quoted with a line that names no sum)."""
    kind = question_kind(question)
    if kind not in _WANTED or _VAGUE_MEASURE.search(question) or fits(kind, quote):
        return None
    return f"質問は{_WANTED[kind]}を尋ねていますが、資料の該当しそうな箇所にはそれが書かれていません"


# 「参加国のうち、アフリカの国はいくつ」 asks for a part of a whole; 「AとBのうち、どちらが」 for a choice
_PART_OF = re.compile(r"のうち、?")
_CHOICE = re.compile(r"どちら|どっち|どれ|最も|一番|より多|より少")
# what is counted (人数, 金額) or a light noun (「防災分野のもの」), not which part
_NOT_PARTS = frozenset("人数 件数 回数 金額 総額 割合 売上 売り上げ もの こと ところ".split())


def part_missing(question: str, quote: str) -> str | None:
    """Why the quote cannot answer, or None: the question asks how many or how much of a
    part of a whole (「OECD加盟国のうち、アジアの国はいくつ」) and the quote names none of
    the words that pick the part out, so whatever it counts is the whole."""
    kind = question_kind(question)
    whole = _PART_OF.search(question)
    if kind not in ("amount", "count") or not whole or _CHOICE.search(question):
        return None
    ask = _NUMBER_TOO.search(question, whole.end())
    before = {form for pair in _nouns(question[: whole.start()]) for form in pair}
    text = normalize(quote)
    picks = [pair for pair in _nouns(question[whole.end(): ask.start() if ask else len(question)])
             if not before & set(pair)]
    if not picks or any(form in text for pair in picks for form in pair):
        return None
    return (f"質問は「{'・'.join(dict.fromkeys(s for s, _ in picks))}」に限った{_WANTED[kind]}を尋ねていますが、"
            "資料の該当しそうな箇所はそれに触れていません")


def _nouns(text: str) -> list[tuple[str, str]]:
    """(as written, lemma) of the content nouns of two characters or more."""
    return [(t.surface, t.lemma.split("-")[0]) for t in tokenize(normalize(text))
            if t.pos == "名詞" and t.pos2 != "数詞" and len(t.surface) > 1
            and t.surface not in _NOT_PARTS]


def off_quote(query: str, quote: Quote) -> str | None:
    """Why a quote cannot answer whatever its short answer is, or None: it is about other
    years, it holds no value of the kind asked for, or it counts a whole where a part is asked."""
    return (other_year(query, quote.text, quote.span) or value_missing(query, quote.text)
            or part_missing(query, f"{quote.label} {quote.text}"))


def settle_type(query: str, answer: Answer) -> Answer:
    """`answer` unchanged when its short answer is the kind of thing asked for and its
    first quote can answer; a first quote that cannot (off_quote) gives way to the
    later ones that can (a table's row for the year asked); a short answer of another kind
    gives way to a value of that kind beside it in the first quote. Else an abstention
    that says why and offers the passages it would have cited."""
    if answer.abstained or not answer.quotes:
        return answer
    why = type_clash(query, answer.short_answer)
    if why is None:
        why = off_quote(query, answer.quotes[0])
        if why is None:
            return answer
        later = tuple(q for q in answer.quotes[1:] if q.span and off_quote(query, q) is None)
        if later:
            return replace(answer, quotes=later, short_answer=later[0].text[later[0].span[0]: later[0].span[1]])
        return Answer(answer.question, True, (), answer.citations, confidence=CLASH_CONFIDENCE, notice=why)
    first = answer.quotes[0]
    pattern = asked_value(query)
    a, b = first.span
    ordinal = "第何" in query  # else 「第3回国連防災世界会議」 counts nothing
    beside = [m.span() for m in pattern.finditer(first.text) if (m.end() <= a or m.start() >= b)
              and (ordinal or not _ordinal(first.text, m.start()))] if pattern else []
    span = _nearest(beside, first.span)
    if span and max(span[0] - first.span[1], first.span[0] - span[1]) <= REPAIR_GAP:
        quotes = (replace(first, span=span),) + answer.quotes[1:]
        return replace(answer, quotes=quotes, short_answer=first.text[span[0]: span[1]])
    return Answer(answer.question, True, (), answer.citations, confidence=CLASH_CONFIDENCE, notice=why)
