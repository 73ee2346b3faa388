"""The two things callers get back: passages and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: tuple[Passage, ...]
    notice: str = ""  # e.g. that the question was cut to the length limit

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
        }
