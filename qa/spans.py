"""Where in a quoted piece the short answer is: the rank, share or name a ranking row
gives for what is asked, the value of a 【field】 the question names, the whole of a
list it asks for, the row's label for 「最も多いのは」, the name an acronym stands
for, the start or end of a time range; and what a short answer must not be (brackets left open, an echo of the question).
qa.answer quotes whole pieces; `short_span` picks the span within one, and `extreme`
the row of a table that holds the most of what is asked."""

from __future__ import annotations

import re

from .kinds import kind_span
from .tokens import forms, normalize, squash, terms

_FIELD = re.compile(r"【([^】]{1,20})】\s*([^【]*?)\s*(?=【|$)")
_GENERIC_END = re.compile(r"(年|数|名称|時期)$")


_RANK_ASKED = re.compile(r"何\s*位|何番目|順位|\brank(ed)?\b|what place", re.I)
_SHARE_ASKED = re.compile(r"割合|シェア|比率|[%％]|パーセント|どれ(くらい|ぐらい|ほど)|\bshare\b|percent|proportion", re.I)
# 「【9位】日本 4.8%」 (rank, name, share) or 「日本 12位」 (name, rank)
_RANKED = re.compile(r"【\s*([0-9０-９]+\s*位)\s*】\s*([^\s【0-9０-９.,%％]+)\s*([0-9０-９.,]+\s*[%％])?"
                     r"|([^\s【】0-9０-９.,%％]+)\s*([0-9０-９]+\s*位)")


def ranking_span(question: str, text: str) -> tuple[int, int] | None:
    """In a ranking row, for the entry the question names: its rank when the question
    asks one (「日本は何位？」 -> 「9位」 of 「【9位】日本 4.8%」, 「12位」 of 「日本 12位」), its
    share when it asks that (「韓国の割合は？」 -> 「8.9%」); the name of the entry at a
    position it asks for (「トップはどこ」, 「2位は？」 -> 「ドイツ」); else None."""
    wants_rank, wants_share = bool(_RANK_ASKED.search(question)), bool(_SHARE_ASKED.search(question))
    if not (wants_rank or wants_share):
        return _at_position(question, text)
    asked = squash(question)
    for m in _RANKED.finditer(text):
        rank, name, share = (1, 2, 3) if m.group(1) else (5, 4, 0)
        if not any(f in asked for f in forms(squash(m.group(name)))):
            continue
        if wants_rank:
            return m.span(rank)
        return m.span(share) if share and m.group(share) else (m.start(), m.end())
    return None if wants_rank else _at_position(question, text)  # 「シェアが最も高い国は」


_RANK_NAMED = re.compile(r"([0-9０-９]+)\s*位")


def _at_position(question: str, text: str) -> tuple[int, int] | None:
    """The span of the name ranked where the question asks (「トップ」, 「最も多い」 are 1位), or None."""
    asked = normalize(question)
    m = _RANK_NAMED.search(asked)
    place = "1" if _MOST.search(asked) else m.group(1) if m else None
    if place is None:
        return None
    for entry in _RANKED.finditer(text):
        rank, name = (1, 2) if entry.group(1) else (5, 4)
        if normalize(entry.group(rank)).rstrip("位").strip() == place:
            return entry.span(name)
    return None


def field_span(question: str, text: str) -> tuple[int, int] | None:
    """In a 【field】value row, the span of the value of the field the question names
    (「プロジェクト数は？」 -> 「45プロジェクト」; 「いつ設置」 names 【設置年】), else None."""
    asked, best = _loose(question), None
    for m in _FIELD.finditer(text):
        name = _loose(m.group(1))
        stem = _GENERIC_END.sub("", name)
        if m.group(2) and (name in asked or (len(stem) >= 2 and stem in asked)):
            if best is None or len(name) > best[0]:
                best = (len(name), m.span(2))
    return best[1] if best else None


_MOST = re.compile(r"(最も|一番|いちばん)[^、。]{0,10}?(多|高|大|長|上)|最多|最大|最高|トップ|首位")
_LEAST = re.compile(r"(最も|一番|いちばん)[^、。]{0,10}?(少な|低|小|短)|最少|最小|最低")
# what is asked is the row (「どの地域」, 「地域は？」), not its figure (「何件」, 「数は」, 「割合は」)
_WHICH = re.compile(r"どこ|どの|どれ|誰|(地域|国|分野|機関|大学|都市|組織|企業|テーマ)(は|が|って)?(何|どこ)?(ですか|でしょうか)?[?？]?$")
_FIGURE = re.compile(r"何\s*(位|人|名|件|か国|カ国|つ|個|回|倍|%|％)|いくつ|いくら|(数|額|割合|比率|シェア)は")
_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")


def extreme(question: str, chosen: list, candidates: list) -> list:
    """For 「最もプロジェクトが多い地域は」: of qa.answer's candidates, the row of the best
    piece's table whose value of the field the question names is the largest (or
    smallest), alone; else `chosen`."""
    most, least = _MOST.search(question), _LEAST.search(question)
    if not chosen or bool(most) == bool(least):
        return chosen
    valued = []
    for cand in candidates:
        span = field_span(question, cand.text) if cand.chunk_id == chosen[0].chunk_id else None
        number = _NUMBER.search(cand.text[span[0]: span[1]]) if span else None
        if number:
            valued.append((float(number.group().replace(",", "")), cand))
    if len({v for v, _ in valued}) < 2:
        return chosen
    top = (max if most else min)(valued, key=lambda vc: vc[0])[1]
    return chosen if top is chosen[0] else [top]


def label_span(question: str, text: str) -> tuple[int, int] | None:
    """The row's label when the question asks which row holds the most or least of
    something (「最も多い地域はどこ」 -> 「アジア」 of 「【地域名】アジア 【実施国数】14か国 …」)."""
    if not (_MOST.search(question) or _LEAST.search(question)) or not _WHICH.search(question) or _FIGURE.search(question):
        return None
    if _RANKED.search(text):
        return None  # a ranking row: its label names the field, not the entry (ranking_span)
    label = row_label(text)
    start = text.find(label) if label else -1
    return (start, start + len(label)) if start >= 0 else None


_EXPAND_ASKED = re.compile(r"何の略|略称|(?<![一-龥])略(は|を|って)|正式な?[^\s、。はがを]{0,4}?(名称|名前|名)|フルネーム|stand for|full name", re.I)  # 正式な事業名
_PARTICLE_CUT = re.compile(r".*[はがをにでと](?=.)")  # 「内閣府は戦略的…」 -> 「戦略的…」


_DATED = re.compile(r"[0-9]\s*[年月日]")  # 「会合（2024年7月9日－11日）」 gives a date, not a name


def expansion_span(question: str, text: str) -> tuple[int, int] | None:
    """For 「WPIとは何の略」: the name the question's short name stands for in `text`,
    written before it in brackets (「世界トップレベル研究拠点プログラム(WPI)」,
    「国際青少年サイエンス交流事業 (さくらサイエンスプログラム)」) or after it
    (「ASPIRE (先端国際共同研究推進事業)」)."""
    if not _EXPAND_ASKED.search(question):
        return None
    asked = normalize(question)

    def named(name: str) -> bool:  # as a word of its own: 「PI」 is not named by 「WPIの…」
        return bool(re.search(rf"(?<![a-z0-9]){re.escape(normalize(name).strip())}(?![a-z0-9])", asked))

    pairs = list(re.finditer(r"([^\s、。：:「」()（）【】]+)\s*[（(]\s*([^()（）]{2,40}?)\s*[）)]", text))
    for m in pairs:
        if named(m.group(2)):
            cut = _PARTICLE_CUT.match(m.group(1))
            return m.start(1) + (cut.end() if cut else 0), m.end(1)
    return next((m.span(2) for m in pairs if named(m.group(1)) and not _DATED.search(m.group(2))), None)


# 「SATREPSって何？」, 「オープンサイエンスとは何ですか」, 「WPIの目的は？」: what is asked is the
# piece, not a span of it
_DEFINE = re.compile(r"^([^、。]{1,29}[^、。ぁ-ん])(とは|って|の(?:概要|目的|狙い|ねらい)は?)\s*(何|なに|なん|どんな|どういう|？|\?|$)")  # not 「…によって」
_DEFINE_EN = re.compile(r"[Ww]hat\s+(?:is|are)\s+(?:the\s+(?:purpose|aim|goal|outline)\s+of\s+)?(?:the\s+)?"
                        r"([A-Z][\w&-]*(?:\s+[\w&-]+){0,3})\s*\??$")  # a name: it begins with a capital
# 「AとBのどちら」, 「賛成か、反対か」: the answer is one of the question's own words
_CHOICE = re.compile(r"どちら|どっち|中で|うち|いずれ|どれ|番目|か、|なの、|比較|最も|もっと|より")


def defined(question: str) -> str:
    """The term a definition question asks about (「SATREPS」 of 「SATREPSって何？」, of its
    outline or purpose: 「WPIの目的は？」, 'What is SATREPS?'), or "":
    a name, not a phrase (「本種の臓器とは何ですか」 asks for an organ, 'What is the budget?' a figure)."""
    english = _DEFINE_EN.match(question.strip())
    if english:
        return english.group(1)
    m = _DEFINE.match(question.strip())
    term = m.group(1).strip() if m and not _EXPAND_ASKED.search(question) else ""
    return term if len(term) <= 20 and not re.search(r"[のがをにではとも]", term) else ""


# 「…に参加していますか？」, 'Does Japan take part…?': asked yes or no, with no question word;
# a span is no answer to it (the quote, which says yes or no, is)
_QUESTION_WORD = re.compile(r"何|なに|なん|いつ|どこ|誰|だれ|どの|どう|どんな|どれ|どちら|どっち|いくつ|いくら|なぜ|幾|いか[がに]"
                            r"|\b(what|when|where|who|whom|whose|which|why|how)\b", re.I)
_POLAR = re.compile(r"(ますか|ですか|ましたか|でしたか|でしょうか|ませんか)\s*[?？]?\s*$"
                    r"|^\s*(is|are|does|do|did|was|were|has|have|had|can|will)\b", re.I)


def asks_yes_no(question: str) -> bool:
    """Whether a question asks yes or no, not which of two things (「Aですか、Bですか」)."""
    return bool(_POLAR.search(question)) and not _QUESTION_WORD.search(question) and not _CHOICE.search(question)


def echoes(question: str, short: str) -> bool:
    """Whether a short answer only repeats the question (「オープンサイエンス」 for
    「オープンサイエンスとは何ですか」); a choice question's answer is one of its words."""
    word = r"[a-z0-9ァ-ヴー一-龥]"  # 「サターンI」 is not a word of 「サターンIBの…」
    whole = re.search(rf"(?<!{word}){re.escape(squash(short))}(?!{word})", squash(question))
    return len(short) >= 2 and bool(whole) and not _CHOICE.search(question)


def _loose(text: str) -> str:
    """Squashed, without の: 「日本からの参加」 is named by 「日本から参加した」."""
    return squash(text).replace("の", "")


_LABEL = re.compile(r"([^\s：:【】。、()（）]{2,20})\s*：\s*")  # 「優先技術領域： 」


def _is_list(value: str) -> bool:
    """Three or more short items between 、 (「A I、量子科学、半導体」), not sentences or fields."""
    items = value.split("、")
    return "【" not in value and len(items) >= 3 and all(0 < len(i.strip()) <= 15 for i in items)


def list_span(question: str, text: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """When the short answer is part of a list that a label the question names heads
    (「4原則は何」 in 「国際的なアプローチ4原則： ①オープン、②責任のある、…」), the whole list;
    else `span`."""
    if span is None:
        return None
    labels = list(_LABEL.finditer(text))
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        value = text[m.end(): end].rstrip()
        inside = m.end() <= span[0] and span[1] <= m.end() + len(value)
        asks_one = any(len(w) >= 2 and w in squash(value) for w in terms(question))  # 「G20の議長国は」
        if inside and _is_list(value) and _loose(m.group(1)) in _loose(question) and not asks_one:
            return m.end(), m.end() + len(value)
    return span


def row_label(text: str) -> str:
    """A table row's label: 「化学：【1位】中国…」 -> 「化学」, 「【国・地域】日本 【設置年】…」 -> 「日本」."""
    head, sep, _ = text.partition("：")
    if sep and len(head) <= 30 and not head.startswith("【"):
        return head
    first = _FIELD.match(text)
    return first.group(2) if first and len(first.group(2)) <= 30 else ""


_PAIRS = {"(": ")", "（": "）", "[": "]", "【": "】", "「": "」", "『": "』"}
_OPENING = {close: open_ for open_, close in _PAIRS.items()}


def trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """`span` without brackets that open or close outside it, nor a pair of round
    brackets around the whole of it: 「2023」 of 「(2023)」 or of 「(2023」."""
    a, b = span
    while b - a > 2 and text[a] in _PAIRS and text[b - 1] == _PAIRS[text[a]] and text[a] in "(（":
        a, b = a + 1, b - 1
    while a < b and (text[a].isspace() or (text[a] in _PAIRS and _PAIRS[text[a]] not in text[a + 1: b])):
        a += 1
    while b > a and (text[b - 1].isspace() or (text[b - 1] in _OPENING and _OPENING[text[b - 1]] not in text[a: b - 1])):
        b -= 1
    return (a, b) if a < b else span


_CLOCK_RANGE = re.compile(r"(\d{1,2}:\d{2})\s*[-－–~～〜]\s*(\d{1,2}:\d{2})")
# (not 開会/閉会: they name sessions, as in 「閉会式は何時に始まりましたか」)
_FROM = re.compile(r"始ま|開始|から|start|begin", re.I)
_UNTIL = re.compile(r"終わ|終了|まで|\bend|finish", re.I)


def clock_span(question: str, text: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a time of day inside a range (「11:40-12:30：全体会議」): its start when the
    question asks when something begins (「何時に始まりましたか」), its end when it asks
    when it ends, the whole range for both or neither (「何時から何時まで」); else `span`."""
    if span is None:
        return None
    for m in _CLOCK_RANGE.finditer(text):
        if span[0] < m.end() and m.start() < span[1]:
            start, end = bool(_FROM.search(question)), bool(_UNTIL.search(question))
            return m.span(1) if start and not end else m.span(2) if end and not start else m.span()
    return span


def short_span(question: str, text: str, read: tuple[int, int] | None) -> tuple[int, int] | None:
    """The short answer's span in `text`, whoever picked the piece: what the piece's
    structure answers first, else the reader's span `read` settled by qa.kinds; None when
    nothing short answers (a definition, punctuation). An echo of the question is
    dropped later, after the type check it may still fail (qa.answer.Answerer.trace)."""
    span = expansion_span(question, text)
    if span is None and not defined(question):
        span = (ranking_span(question, text) or label_span(question, text) or field_span(question, text)
                or list_span(question, text, clock_span(question, text, kind_span(question, text, read))))
    if span is None or not any(ch.isalnum() for ch in text[span[0]: span[1]]):
        return None  # 「「」 alone answers nothing
    return trim(text, span)
