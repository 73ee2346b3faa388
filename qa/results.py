"""The things callers get back: passages, quotes and answers. Answers are data; the
readable text is rendered from them and never parsed back."""

from __future__ import annotations

from dataclasses import asdict, dataclass

NOT_FOUND = "資料には該当する記載が見つかりませんでした。"


@dataclass(frozen=True)
class Passage:
    """A cited span of a corpus file, as the command-line contract describes it."""

    rank: int
    score: float
    doc_id: str
    source: str  # corpus file, relative to the project root
    slide: int  # slide or page number, from 1
    title: str  # the slide's heading
    text: str  # the passage as shown to people
    start: int  # character offsets of the raw span in the source file
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Quote:
    """A piece of a cited passage, verbatim: `text` occurs in citation `citation`'s text."""

    text: str
    citation: int  # 1-based number of the passage it is quoted from
    span: tuple[int, int] | None = None  # the short answer inside `text`, if known
    label: str = ""  # what the quote is about: the slide title and, for a table row, its row label

    def to_dict(self) -> dict:
        return {"text": self.text, "citation": self.citation, "span": list(self.span) if self.span else None,
                "label": self.label}


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    quotes: tuple[Quote, ...]
    citations: tuple[Passage, ...]
    short_answer: str | None = None
    confidence: float = 0.0  # 0-1, how likely the answer (or the abstention) is right
    notice: str = ""  # e.g. how a follow-up question was read
    reading: str = ""  # the question as it was answered, when it differs from the one asked

    @property
    def answer(self) -> str:
        """The readable answer: each quote followed by its citation marker."""
        if self.abstained:
            return NOT_FOUND
        return "\n".join(f"{q.text} [{q.citation}]" for q in self.quotes)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "short_answer": self.short_answer,
            "confidence": round(float(self.confidence), 4),
            "quotes": [q.to_dict() for q in self.quotes],
            "reading": self.reading or None,
            "notice": self.notice or None,
        }
