"""Questions that ask the same thing of two named subjects: 「G7とG20の大臣会合の開催地を
比べてください」 is answered as two questions, one per subject, each with its own quote.
Asked whole, the best piece is about one of them and the other goes unanswered."""

from __future__ import annotations

import re
from typing import NamedTuple

from .tokens import squash, tokenize

# What marks a question about two subjects at once.
_FRAME = re.compile(r"比べ|比較|どちら|違い|それぞれ|両方|両者|共通|ともに|共に|各々")
# The frame's words, dropped from the question asked of each subject.
_FRAME_WORDS = re.compile(r"を(?:比べ|比較し)て(?:ください|下さい)?|(?:の)?違いは|それぞれ|どちらが|どちらの|どちらも|両方|両者|ともに|共に|各々")
_WHICH_FIRST = re.compile(r"どちらが(?:先|早く|最初)に?")
_WHICH_MORE = re.compile(r"(?:は|では)?どちらが[^、。？?]*[？?]?$")
_NOUNISH = ("名詞", "接頭辞")


class Pair(NamedTuple):
    first: str  # the subjects as the question writes them
    second: str
    questions: tuple[str, str]  # the question asked of each


def split_pair(question: str, names: set[str]) -> Pair | None:
    """The two subjects of 「AとBの…」 with a question for each, when A and B are both
    among the question's `names` (squashed, as qa.answer.subjects gives them) and the
    question compares them or asks of each; else None."""
    if not _FRAME.search(question) or len(names) < 2:
        return None
    tokens = tokenize(question)
    for i, tok in enumerate(tokens):
        if tok.surface != "と" or tok.pos != "助詞" or not 0 < i < len(tokens) - 1:
            continue
        a, b = _run(tokens, i - 1, -1), _run(tokens, i + 1, 1)
        if not (a and b) or b[1] >= len(tokens) or tokens[b[1]].pos != "助詞":
            continue
        first = question[tokens[a[0]].start: tokens[a[1]].end]
        second = question[tokens[b[0]].start: tokens[b[1] - 1].end]
        if _named(first, names) and _named(second, names):
            whole = question[tokens[a[0]].start: tokens[b[1] - 1].end]
            return Pair(first, second, (_ask_of(question, whole, first), _ask_of(question, whole, second)))
    return None


def _run(tokens, at: int, step: int) -> tuple[int, int] | None:
    """The run of nouns next to the と at `at` - step: (first, last) token indexes when
    walking left, (first, one past last) when walking right."""
    i = at
    while 0 <= i < len(tokens) and tokens[i].pos in _NOUNISH and (
            i == at or tokens[i].start == tokens[i - step].end if step > 0 else tokens[i].end == tokens[i + 1].start):
        i += step
    if i == at:
        return None
    return (i + 1, at) if step < 0 else (at, i)


def _named(phrase: str, names: set[str]) -> bool:
    key = squash(phrase)
    return any(n == key or (len(n) >= 2 and n in key) for n in names)


def _ask_of(question: str, whole: str, subject: str) -> str:
    asked = question.replace(whole, subject, 1)
    asked = _WHICH_FIRST.sub("いつ", asked)  # 「どちらが先に始まった」: when each began
    asked = _WHICH_MORE.sub("はどれくらいですか？", asked)  # 「どちらが多い」: how many each has
    return _FRAME_WORDS.sub("", asked).replace("、、", "、").strip("、 ")
