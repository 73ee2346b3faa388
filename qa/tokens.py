"""Japanese tokenization with fugashi (MeCab + unidic-lite).

Two jobs: exact token spans for the chunker (surfaces plus white space rebuild the
input, so spans never drift), and normalised terms for BM25 and answer matching.
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


class Token(NamedTuple):
    surface: str
    start: int
    end: int
    pos: str  # unidic pos1, e.g. 名詞
    lemma: str
    pos3: str = ""  # unidic pos3, e.g. 人名 for a person's name


_local = threading.local()


def _tagger():
    """One MeCab tagger per thread: a tagger is not safe to share between threads."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import fugashi  # imported here: only tokenizing code pays for it

        tagger = _local.tagger = fugashi.Tagger()
    return tagger


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with character spans into it."""
    tokens, pos = [], 0
    for word in _tagger()(text):
        pos += len(word.white_space)
        end = pos + len(word.surface)
        feature = word.feature
        lemma = getattr(feature, "lemma", None) or word.surface
        tokens.append(Token(word.surface, pos, end, feature.pos1 or "", lemma, feature.pos3 or ""))
        pos = end
    return tokens


def count_tokens(text: str) -> int:
    return len(_tagger()(text)) if text else 0


def normalize(text: str) -> str:
    """NFKC, lower case, and short spaced-out Latin runs joined ("A I" -> "ai")."""
    text = unicodedata.normalize("NFKC", text).lower()
    previous = None
    while previous != text:
        previous = text
        text = _SPACED_RIGHT.sub("", _SPACED_LEFT.sub(r"\1", text))
    return text


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
