"""Questions that ask the same thing of two named subjects: 「G7とG20の大臣会合の開催地を
比べてください」 is answered as two questions, one per subject, each with its own quote.
Asked whole, the best piece is about one of them and the other goes unanswered."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, NamedTuple

from .results import Answer, Passage, Quote
from .tokens import squash, tokenize

# What marks a question about two subjects at once; not 「ともに」: 「日本とEUがともに」 is one
# thing done together.
_FRAME = re.compile(r"比べ|比較|どちら|違い|それぞれ|両方|両者|共通|各々")
# The frame's words, dropped from the question asked of each subject; 「…の予算を比べて」
# becomes 「…の予算は」, which asks for an amount as plainly as 「英国の予算は？」 does.
_COMPARE_ASKED = re.compile(r"を(?:比べ|比較し)て(?:ください|下さい)?|の違いは")
_FRAME_WORDS = re.compile(r"それぞれ|どちらが|どちらの|どちらも|両方|両者|各々")
_FIRST = re.compile(r"(?:先|早く|最初)に")
# A closing sentence that only asks to compare: 「…ですか？年月で比べてください。」
_ONLY_COMPARE = re.compile(r"(?<=[。？?])[^。？?]{0,12}(?:比べ|比較し)て(?:ください|下さい)?$")
_WHICH_MORE = re.compile(r"(?:は|では)?どちらが[^、。？?]*[？?]?$")
_HOW_DIFFER = re.compile(r"(?:どう|どのように)違(?:います|う)か?")
_NOUNISH = ("名詞", "接頭辞")


class Pair(NamedTuple):
    first: str  # the subjects as the question writes them
    second: str
    questions: tuple[str, str]  # the question asked of each


def split_pair(question: str, names_of: Callable[[str], set[str]]) -> Pair | None:
    """The two subjects of 「AとBの…」 with a question for each, when the question
    compares them or asks of each and A and B are both among its names (`names_of`,
    e.g. qa.answer.subjects, squashed; only called for a question that compares); else None."""
    if not _FRAME.search(question):
        return None
    names = names_of(question)
    if len(names) < 2:
        return None
    tokens = tokenize(question)
    for i, tok in enumerate(tokens):
        if tok.surface != "と" or tok.pos != "助詞":
            continue
        a, b = _nouns_from(tokens, i, -1), _nouns_from(tokens, i, 1)
        if a == i or b == i or b + 1 >= len(tokens) or tokens[b + 1].pos != "助詞":
            continue
        first = question[tokens[a].start: tok.start]
        second = question[tok.end: tokens[b].end]
        if _named(first, names) and _named(second, names):
            whole = question[tokens[a].start: tokens[b].end]
            return Pair(first, second, (_ask_of(question, whole, first), _ask_of(question, whole, second)))
    return None


def _nouns_from(tokens, at: int, step: int) -> int:
    """The last token of the run of nouns written next to token `at`, walking left
    (step -1) or right (step 1); `at` itself when there is none."""
    i = at
    while 0 <= i + step < len(tokens) and tokens[i + step].pos in _NOUNISH:
        left, right = sorted((tokens[i], tokens[i + step]), key=lambda t: t.start)
        if left.end != right.start:
            break
        i += step
    return i


def _named(phrase: str, names: set[str]) -> bool:
    key = squash(phrase)
    return any(n == key or (len(n) >= 2 and n in key) for n in names)


def _ask_of(question: str, whole: str, subject: str) -> str:
    asked = question.replace(whole, subject, 1)
    asked = _ONLY_COMPARE.sub("", asked.rstrip("。"))  # 「…ですか？年月で比べてください。」
    # 「どちらが先に始まった」, 「先に始めたのはどちら」: when each began
    if "どちら" in asked and _FIRST.search(asked):
        asked = _FIRST.sub("", asked).replace("どちらが", "いつ").replace("どちら", "いつ")
    asked = _WHICH_MORE.sub("はどれくらいですか？", asked)  # 「どちらが多い」: how many each has
    asked = _HOW_DIFFER.sub("どうなっていますか", asked)  # 「どう違いますか」: what each is like
    asked = _COMPARE_ASKED.sub("は", asked)
    return _FRAME_WORDS.sub("", asked).replace("、、", "、").strip("、 ")


def merge(question: str, pair: Pair, answers: list[Answer]) -> Answer:
    """One answer from the answers about each subject, at least one not an abstention:
    the first quote of each, renumbered onto one list of citations, a notice for a
    subject the documents do not answer for, and the confidence of the less certain."""
    names = (pair.first, pair.second)
    answered = [(s, a) for s, a in zip(names, answers) if not a.abstained]
    citations: list[Passage] = []
    quotes: list[Quote] = []
    for _, answer in answered:
        quote = answer.quotes[0]
        cited = answer.citations[quote.citation - 1]
        at = next((n for n, c in enumerate(citations, 1) if (c.source, c.start, c.end) == (cited.source, cited.start, cited.end)), 0)
        if not at:
            citations.append(replace(cited, rank=len(citations) + 1))
            at = len(citations)
        if all(quote.text != seen.text for seen in quotes):
            quotes.append(replace(quote, citation=at))
    shorts = [(s, a.short_answer) for s, a in answered if a.short_answer]
    # No short answer when one reads the other subject's figure (「インド：日本39大学」) or
    # repeats its own (「米国：米国が…」), or one value off one line stands for both.
    named = [squash(s) for s in names]
    clean = (bool(shorts) and len(shorts) == len(answered) and len({a for _, a in shorts}) == len(shorts)
             and not any(n in squash(a) for _, a in shorts for n in named))
    missing = [s for s, a in zip(names, answers) if a.abstained]
    notice = (f"「{missing[0]}」については、資料に質問にあたる記載が見つかりませんでした" if missing
              else f"「{pair.first}」と「{pair.second}」について、それぞれの記載を示します")
    return Answer(question, False, tuple(quotes), tuple(citations),
                  short_answer="、".join(f"{s}：{a}" for s, a in shorts) if clean else None,
                  confidence=min(a.confidence for _, a in answered), notice=notice)
