"""Follow-up questions, read with the previous question's subject.

Right after 「SATREPSの実施国数は？」 the question 「それはいつからですか？」 means
「SATREPSはいつからですか？」, and 「予算は？」 means 「SATREPSの予算は？」. Retrieval
cannot know that, so a question that points back (それ / これ / その / この / 同 …) or
has no subject of its own is rewritten with the previous question's subject before it
is asked, and the reading is shown to the user so a wrong one is visible. A question
naming only a place (「ドイツは？」 after 「フランスの研究予算は？」) asks the previous one
about that place:

    reading = read_followup("それはいつからですか？", previous="SATREPSの実施国数は？")
    reading.question  # 'SATREPSはいつからですか？'
    reading.note      # '前の質問を踏まえて：SATREPSはいつからですか？'

Deterministic: fugashi tokens and fixed word lists, no model. A question with a subject
of its own and no pointing word is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokens import Token, tokenize

NOTE_PREFIX = "前の質問を踏まえて："
NOTE_CHARS = 80  # the reading shown in the note is cut after this many characters

# Pronouns that stand for the previous subject: 「それはいつから」 -> 「SATREPSはいつから」.
PRONOUNS = frozenset({"それ", "これ", "あれ", "そちら", "こちら", "あちら"})
# Words pointing back in front of a noun: 「その予算」 -> 「SATREPSの予算」.
DETERMINERS = frozenset({"その", "この", "あの", "同", "当該", "上記", "前述", "該当"})
# 「その後」「その他」「このため」…: fixed phrases, not a pointer to the subject.
# 「この資料」 is the deck itself.
NOT_POINTING = frozenset({"他", "ほか", "後", "あと", "ため", "上", "際", "よう", "度", "まま", "うち", "中", "資料",
                          "ように", "ような", "辺", "点"})
_TIME_AFTER = frozenset({"まで", "から", "ほど", "以降", "以前", "以来", "以外", "ら"})
# What the subject is an instance of: 「この事業の目的」 -> 「SATREPSの目的」, not 「SATREPSの事業の目的」.
KINDS = frozenset({
    "事業", "制度", "プログラム", "プロジェクト", "会合", "会議", "取組", "取り組み", "施策", "計画", "政策",
    "戦略", "拠点", "機関", "組織", "枠組み", "枠組", "協定", "件", "報告", "調査", "構想", "方針",
    "イニシアティブ", "ネットワーク", "基金", "ファンド", "枠", "仕組み", "国", "地域",
})
# Words asking for something: a question starting with one gets 「<subject>は」 in front.
ASKING = ("何", "なに", "なん", "いつ", "どこ", "誰", "だれ", "どれ", "どの", "どう", "いくら", "いくつ", "なぜ",
          "どんな", "どちら", "どなた")
# Nouns that name an attribute or are too general to be a subject on their own.
GENERAL = KINDS | frozenset({
    "予算", "規模", "期間", "時期", "開始", "終了", "目的", "目標", "対象", "件数", "数", "国数", "人数", "実績",
    "内容", "概要", "特徴", "割合", "比率", "金額", "額", "総額", "合計", "年", "年度", "場所", "理由", "方法",
    "課題", "成果", "結果", "現状", "状況", "詳細", "主体", "背景", "位置付け", "位置づけ", "具体", "例",
    "実施", "開催", "参加", "期限", "条件", "要件", "役割", "意義", "効果", "違い", "関係", "名前", "名称",
    "定義", "意味", "種類", "範囲", "上限", "下限", "平均", "推移", "傾向", "順位", "比較", "変化", "増加",
    "減少", "担当", "予定", "経緯", "歴史", "由来", "分野", "点", "ほか", "他", "以外", "以上", "以下", "中",
    "内", "うち", "前", "後", "今後", "最新", "最大", "最小", "主", "全体", "一覧", "こと", "もの", "ため",
    "場合", "時", "際", "方", "所", "各", "毎年", "費用", "人", "者", "名", "割", "位", "回", "件", "倍",
    "時点", "現在", "今", "今年", "昨年", "来年", "最初", "最後", "次", "概算", "総数", "人員", "参加国",
    "対象国", "実施国", "実施国数", "プロジェクト数", "支援", "体制", "仕組", "ポイント", "メリット",
    "特色", "狙い", "ねらい", "意図", "根拠", "出典", "数字", "数値", "データ", "資金", "規定", "手続き",
    "スケジュール", "期日", "日程", "開催地", "開催国", "都市", "場", "形", "形式", "様子", "よう",
    "略", "略称", "正式", "正式名称",
})
# Words that open a follow-up without pointing at anything: kept in front as they are.
_OPENING = re.compile(
    r"^\s*(?:それでは|それなら|それで|それから|では|じゃあ|じゃ|ちなみに|また|あと|さらに|なお|次に|ところで)[、，,\s]*"
)
_NOUNISH = frozenset({"名詞", "接頭辞", "接尾辞", "形状詞"})
_GLUE = frozenset({"・", "･", "－", "-", "‐", "＆", "&"})  # inside names: グローバル・サウス, R&D


@dataclass(frozen=True)
class Reading:
    """How a question is read: `question` is what to answer; `note` says so when it
    differs from what was typed ("" otherwise); `subject` is the borrowed subject."""

    question: str
    note: str = ""
    subject: str = ""

    @property
    def rewritten(self) -> bool:
        return bool(self.note)


def read_followup(question: str, previous: str | None) -> Reading:
    """`question` read in the light of `previous` (the question asked just before)."""
    unchanged = Reading(question)
    if not previous or not previous.strip() or not question.strip():
        return unchanged
    opening = _OPENING.match(question)
    lead, question = (question[: opening.end()], question[opening.end():]) if opening else ("", question)
    tokens = tokenize(question)
    if not any(t.pos not in ("補助記号", "空白", "記号") for t in tokens):
        return unchanged  # symbols only: nothing to read
    place, swapped = _other_place(question, previous)
    if swapped:
        rewritten = lead + swapped
        return Reading(rewritten, NOTE_PREFIX + _cut(rewritten), place)
    pointers = _pointers(tokens)
    if not pointers and _own_subject_ends(tokens) is not None:
        return unchanged  # a question of its own
    subject = subject_of(previous)
    if not subject or subject in question:
        return unchanged
    rewritten = _replace(question, tokens, pointers, subject) if pointers else _prefix(question, tokens, subject)
    if rewritten == question:
        return unchanged
    rewritten = lead + rewritten
    return Reading(rewritten, NOTE_PREFIX + _cut(rewritten), subject)


def _cut(reading: str) -> str:
    return reading if len(reading) <= NOTE_CHARS else reading[:NOTE_CHARS] + "…"


_ONLY_A_NAME = re.compile(r"\s*(.+?)(?:で|について|の場合)?は\s*[？?]?\s*")


def _other_place(question: str, previous: str) -> tuple[str, str]:
    """(the place, the previous question asked about it) when this one names only a
    place: 「ドイツは？」 after 「フランスの研究予算は？」 -> 「ドイツの研究予算は？」. ("", "")
    otherwise: 「アジアでは？」 after a question about SATREPS names no place it asked about."""
    m = _ONLY_A_NAME.fullmatch(question)
    place = m.group(1) if m else ""
    if not place or not _is_place(tokenize(place)):
        return "", ""
    asked = next((t for t in tokenize(previous) if _is_place([t])), None)
    if asked is None or asked.surface == place:
        return "", ""
    return place, previous[: asked.start] + place + previous[asked.end:]


def _is_place(tokens: list[Token]) -> bool:
    return len(tokens) == 1 and tokens[0].pos2 == "固有名詞" and tokens[0].pos3 == "地名"


def subject_of(question: str) -> str:
    """The subject of a question: the first noun phrase chain (「A の B の C」) that
    names something specific, without the attributes asked about at its end
    (「SATREPSの実施国数は？」 -> 「SATREPS」). "" when there is none."""
    tokens = tokenize(question)
    for chain in _chains(tokens):
        while chain and _is_general(chain[-1]):
            chain = chain[:-1]
        if chain:
            return question[chain[0][0].start:chain[-1][-1].end]
    return ""


# -- pointing words ---------------------------------------------------------------------


def _pointers(tokens: list[Token]) -> list[tuple[int, int]]:
    """(first, last) token indexes of each word pointing back to the previous question:
    a pronoun (それ), or a determiner (その, 同) with the kind noun after it when there is
    one (「この事業」). A pointer after a subject of the question's own refers to that
    subject instead, and is left alone."""
    out = []
    own_subject_before = _own_subject_ends(tokens)
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if own_subject_before is not None and tok.start >= own_subject_before:
            break
        if tok.surface in PRONOUNS and tok.pos == "代名詞":
            if nxt is None or nxt.surface not in _TIME_AFTER:  # 「これまで」「これから」 are about time
                out.append((i, i))
        elif tok.surface in DETERMINERS and tok.pos in ("連体詞", "名詞", "接頭辞"):
            if nxt is None or nxt.surface in NOT_POINTING:
                continue
            if tok.surface in ("上記", "前述", "該当"):
                if nxt.surface == "の":  # 「上記の件数」 points back; 「該当する」 does not
                    out.append((i, i))
                continue
            if nxt.pos not in _NOUNISH or nxt.start != tok.end:  # 「この「…」の資料」 names what it means
                continue
            out.append((i, i + 1) if nxt.surface in KINDS else (i, i))
    return out


def _own_subject_ends(tokens: list[Token]) -> int | None:
    """Where the question's first noun phrase of its own (not general) ends, or None."""
    for chain in _chains(tokens):
        for phrase in chain:
            if not _is_general(phrase):
                return phrase[-1].end
    return None


def _replace(question: str, tokens: list[Token], pointers, subject: str) -> str:
    """Each pointing phrase replaced by the subject (a determiner becomes 「<subject>の」)."""
    out, pos = [], 0
    for first, last in pointers:
        head, tail = tokens[first], tokens[last]
        out.append(question[pos:head.start])
        following = tokens[last + 1].surface if last + 1 < len(tokens) else ""
        if head.surface in PRONOUNS or last > first or following == "の":
            out.append(subject)  # それ / この事業 / 上記(の) -> the subject itself
        else:
            out.append(subject + "の")  # その予算 -> SATREPSの予算
        pos = tail.end
    out.append(question[pos:])
    return "".join(out)


# -- questions without a subject ----------------------------------------------------------


def _prefix(question: str, tokens: list[Token], subject: str) -> str:
    """The subject put in front: 「予算は？」 -> 「SATREPSの予算は？」, 「いつから？」 -> 「SATREPSはいつから？」."""
    first = next((t for t in tokens if t.pos not in ("接続詞", "感動詞", "補助記号", "空白")), None)
    if first is None:
        return question
    at = first.start
    topic = question[at:].startswith(ASKING) or first.pos in ("動詞", "形容詞", "副詞", "助動詞", "助詞")
    return question[:at] + subject + ("は" if topic else "の") + question[at:]


# -- noun phrases -----------------------------------------------------------------------------


def _phrases(tokens: list[Token]) -> list[tuple[list[Token], int]]:
    """Noun phrases (runs of nouns, prefixes, suffixes and na-adjective stems, with 「・」
    inside names) as (tokens, index of the token after the phrase)."""
    out, run = [], []
    for i, tok in enumerate(tokens):
        if tok.pos in _NOUNISH and tok.surface not in DETERMINERS:
            run.append(tok)
            continue
        if tok.surface in _GLUE and run and i + 1 < len(tokens) and tokens[i + 1].pos in _NOUNISH:
            run.append(tok)
            continue
        if run:
            out.append((run, i))
        run = []
    if run:
        out.append((run, len(tokens)))
    return out


def _chains(tokens: list[Token]) -> list[list[list[Token]]]:
    """Noun phrases joined by one 「の」 each: 「日本の研究者の派遣」 is one chain of three."""
    chains: list[list[list[Token]]] = []
    joined_at = -1  # index of the phrase a 「の」 continues
    for run, after in _phrases(tokens):
        if chains and run[0].start == joined_at:
            chains[-1].append(run)
        else:
            chains.append([run])
        nxt = tokens[after] if after < len(tokens) else None
        joined_at = tokens[after + 1].start if nxt is not None and nxt.surface == "の" and after + 1 < len(tokens) else -1
    return chains


def _is_general(phrase: list[Token]) -> bool:
    """True when every word of the phrase is a number, a counter, a question word, a
    suffix or prefix, or a general noun (予算, 目的, 事業 …)."""
    return all(_general_word(t) for t in phrase)


def _general_word(tok: Token) -> bool:
    surface = tok.surface
    return (
        surface in GENERAL
        or surface in _GLUE
        or surface.startswith(ASKING)
        or tok.pos in ("代名詞", "接頭辞", "接尾辞")
        or tok.pos3 in ("助数詞可能", "副詞可能")
        or all(ch.isdigit() or ch in ",.%％" for ch in surface)
    )
