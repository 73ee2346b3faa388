"""Japanese tokenization with fugashi (MeCab + unidic-lite).

Two jobs: exact token spans for the chunker (surfaces plus white space rebuild the
input, so spans never drift), and normalised terms for BM25 and answer matching.

MeCab is only ever handed a bounded window of text: a line of a few hundred KB with
no break in it (a base64 image, say) crashes it (segfault), and a long run of one
character class (digits, emoji, one repeated kana) costs time growing with the
square of the run. Long texts are cut into windows of at most `MAX_WINDOW`
characters, after white space or punctuation when there is some, and tokenized
window by window; spans are shifted back, so they still index the whole text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import NamedTuple

# Parts of speech that carry no content for keyword matching.
_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})
# "A I", "G 7", "E U": the deck spaces out short Latin tokens; join them for matching.
_SPACED_LEFT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]) (?=[A-Za-z0-9])")
_SPACED_RIGHT = re.compile(r"(?<=[A-Za-z0-9]) (?=[A-Za-z0-9](?![A-Za-z0-9]))")


MAX_WINDOW = 2048  # characters per MeCab call
# A window ends after one of these when one lies in its second half.
_BREAK = re.compile(r"[\s。．！？!?、，,.;；:：)）」』】〕］\]]")


class Token(NamedTuple):
    surface: str
    start: int
    end: int
    pos: str  # unidic pos1, e.g. 名詞
    lemma: str
    pos3: str = ""  # unidic pos3, e.g. 人名 for a person's name
    pos2: str = ""  # unidic pos2, e.g. 固有名詞 for a proper noun
    pos4: str = ""  # unidic pos4, e.g. 国 for a country's name


_local = threading.local()


def _tagger():
    """One MeCab tagger per thread: a tagger is not safe to share between threads."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import fugashi  # imported here: only tokenizing code pays for it

        tagger = _local.tagger = fugashi.Tagger()
    return tagger


def windows(text: str, size: int | None = None) -> list[tuple[int, int]]:
    """(start, end) spans that cover `text` in order, each at most `size`
    (`MAX_WINDOW`) characters. A window ends after the last white space or
    punctuation in its second half; with none there it is cut at `size`, but never
    just before a combining mark or a zero-width joiner."""
    size = size or MAX_WINDOW
    n = len(text)
    spans, start = [], 0
    while n - start > size:
        end = start + size
        cut = None
        for match in _BREAK.finditer(text, start + size // 2, end):
            cut = match.end()
        if cut is None:
            cut = end
            while cut > start + 1 and _joins_left(text[cut]):
                cut -= 1
        spans.append((start, cut))
        start = cut
    spans.append((start, n))
    return spans


def _joins_left(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == "\u200d"


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with character spans into it."""
    tagger, tokens = _tagger(), []
    for start, stop in windows(text):
        pos = start
        for word in tagger(text[start:stop]):
            pos += len(word.white_space)
            end = pos + len(word.surface)
            feature = word.feature
            lemma = getattr(feature, "lemma", None) or word.surface
            tokens.append(Token(word.surface, pos, end, feature.pos1 or "", lemma,
                                feature.pos3 or "", feature.pos2 or "", feature.pos4 or ""))
            pos = end
    return tokens


def count_tokens(text: str) -> int:
    if not text:
        return 0
    tagger = _tagger()
    return sum(len(tagger(text[a:b])) for a, b in windows(text))


def normalize(text: str) -> str:
    """NFKC, lower case, and short spaced-out Latin runs joined ("A I" -> "ai")."""
    text = unicodedata.normalize("NFKC", text).lower()
    previous = None
    while previous != text:
        previous = text
        text = _SPACED_RIGHT.sub("", _SPACED_LEFT.sub(r"\1", text))
    return text


# A year as written in a question or a line: 2024, not 1930年代 nor part of a longer number.
YEAR = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])(?!\s*年代)")


def is_country(name: str) -> bool:
    """Whether `name` is one country's name and nothing else (「日本」, 「フランス」), by unidic."""
    tokens = tokenize(name)
    return len(tokens) == 1 and tokens[0].pos4 == "国"


def squash(text: str) -> str:
    """Normalised text with all white space removed, for substring matching."""
    return "".join(normalize(text).split())


def terms(text: str, form: str = "surface") -> list[str]:
    """Content terms for BM25: normalised, function words and punctuation dropped."""
    out = []
    for tok in tokenize(normalize(text)):
        if tok.pos in _FUNCTION_POS or not tok.surface.strip():
            continue
        out.append(tok.lemma.split("-")[0] if form == "lemma" else tok.surface)
    return out


# Countries as an English question names them, written as the deck writes them ("South
# Korea's" -> 韓国); an upper-case name counts only in upper case ("US", not "us").
ENGLISH_PLACES = {"korea": "韓国", "china": "中国", "japan": "日本", "germany": "ドイツ", "france": "フランス",
                  "UK": "英国", "britain": "英国", "united kingdom": "英国", "US": "米国", "USA": "米国",
                  "united states": "米国", "america": "米国", "india": "インド", "italy": "イタリア", "brazil": "ブラジル"}

# Names the deck writes one way and people another (アメリカ for 米国): any form counts, the
# English names included (squashed: lower case, no spaces; not "us", which is inside words).
_ALIASES = (("米国", "アメリカ", "アメリカ合衆国", "合衆国"), ("英国", "イギリス"), ("eu", "欧州連合"),
            ("中国", "中華人民共和国"), ("韓国", "大韓民国"), ("日本", "我が国", "わが国"),
            ("asean", "東南アジア諸国連合"), ("oecd", "経済協力開発機構"))


def _alias_groups() -> list[tuple[str, ...]]:
    groups = {group[0]: list(group) for group in _ALIASES}
    for english, name in ENGLISH_PLACES.items():
        if not english.isupper():
            groups.setdefault(name, [name]).append(english.replace(" ", ""))
    return [tuple(group) for group in groups.values()]


_FORMS = {name: group for group in _alias_groups() for name in group}


def forms(name: str) -> tuple[str, ...]:
    return _FORMS.get(name, (name,))
