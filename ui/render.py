"""HTML for the chat page: questions, answers, abstentions, sources and slides.

Every piece of text from the user or the corpus passes through `esc`, which escapes
HTML and neutralises Markdown, so the chat shows it as typed. The only markup in the
output is the fixed set of tags and classes written here. Output has no newlines, so
Markdown treats each message as one raw HTML block and leaves it alone.
"""

from __future__ import annotations

import re

from qa.results import Answer, Passage

# C0/C1 controls (tab and newline kept), and lone surrogates that browsers may send.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# HTML's special characters, and those Markdown (or LaTeX, emoji shortcodes) would act
# on, as numeric entities: one pass, so no entity is escaped twice.
_ENTITIES = {ord(ch): f"&#{ord(ch)};" for ch in "&<>\"'\\`*_[]{}()#+-.!|~$:="}
_PIECE = re.compile(r"(.+?) \[(\d+)\](?:\n|$)", re.S)

QUESTION_PREVIEW = 600  # characters of a question shown in the chat


def clean(text: str) -> str:
    """Text without control characters or lone surrogates."""
    return _JUNK.sub("", str(text))


def esc(text: str) -> str:
    """Plain text -> inert HTML: escaped, Markdown-proof, newlines as <br>."""
    out = clean(text).translate(_ENTITIES)
    return out.replace("\n", "<br>").replace("\t", " ")


def answer_pieces(answer: Answer) -> dict[int, list[str]]:
    """Quoted pieces of an answer by citation number: "piece [1]\\npiece [2]"."""
    out: dict[int, list[str]] = {}
    if answer.abstained:
        return out
    for m in _PIECE.finditer(answer.answer):
        out.setdefault(int(m.group(2)), []).append(m.group(1).strip())
    return out


def highlight(text: str, pieces: list[str]) -> str:
    """`text` as HTML with each piece found in it wrapped in <mark>."""
    spans = []
    for piece in pieces:
        at = text.find(piece) if piece else -1
        if at >= 0 and not any(at < e and s < at + len(piece) for s, e in spans):
            spans.append((at, at + len(piece)))
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def question_html(question: str, input_limit: int | None = None) -> str:
    """The user's question as typed; very long ones shortened, with their length."""
    text = clean(question)
    if len(text) <= QUESTION_PREVIEW:
        return f'<div class="qa-q">{esc(text)}</div>'
    note = f"長い質問のため先頭だけを表示しています（全 {len(text):,} 文字）。"
    if input_limit and len(question) >= input_limit:
        note += f"入力欄は {input_limit:,} 文字までのため、それより後は入力されていません。"
    return f'<div class="qa-q">{esc(text[:QUESTION_PREVIEW])}…<div class="qa-note">{note}</div></div>'


def _source_card(p: Passage, pieces: list[str], doc_titles: dict | None = None) -> str:
    doc = (doc_titles or {}).get(p.doc_id) if doc_titles and len(doc_titles) > 1 else None
    return (
        '<div class="qa-src">'
        '<div class="qa-src-head">'
        f'<span class="qa-num">{p.rank}</span>'
        + (f'<span class="qa-doc">{esc(doc)}</span>' if doc else "")
        + f'<span class="qa-page">p.{p.slide}</span>'
        f'<span class="qa-title">{esc(p.title)}</span>'
        f'<span class="qa-score">スコア {p.score:.3f}</span>'
        "</div>"
        f'<div class="qa-src-text">{highlight(p.text, pieces)}</div>'
        "</div>"
    )


def _notice(answer: Answer, max_chars: int) -> str:
    if not answer.notice:
        return ""
    return (
        f'<div class="qa-notice" title="{esc(answer.notice)}">'
        f"質問が長いため、先頭の {max_chars:,} 文字だけを使って回答しました。</div>"
    )


def answer_html(answer: Answer, max_chars: int, doc_titles: dict | None = None) -> str:
    """An answer (quotes with [n] markers, then its sources) or an abstention. With
    several documents, each source names its document (`doc_titles`: id -> title)."""
    if answer.abstained:
        return abstention_html(answer, max_chars, doc_titles)
    pieces = answer_pieces(answer)
    quotes = "".join(
        f'<div class="qa-quote">{esc(m.group(1).strip())} <span class="qa-ref">&#91;{m.group(2)}&#93;</span></div>'
        for m in _PIECE.finditer(answer.answer)
    ) or f'<div class="qa-quote">{esc(answer.answer)}</div>'
    cards = "".join(_source_card(p, pieces.get(p.rank, []), doc_titles) for p in answer.citations)
    return (
        '<div class="qa-msg qa-answer">'
        f"{_notice(answer, max_chars)}"
        '<div class="qa-label">資料からの引用</div>'
        f"{quotes}"
        f'<div class="qa-label">出典</div>{cards}'
        "</div>"
    )


def abstention_html(answer: Answer, max_chars: int, doc_titles: dict | None = None) -> str:
    cards = "".join(_source_card(p, [], doc_titles) for p in answer.citations)
    related = f'<div class="qa-label">関連する箇所</div>{cards}' if cards else ""
    return (
        '<div class="qa-msg qa-abstain">'
        f"{_notice(answer, max_chars)}"
        '<div class="qa-abstain-head">資料には記載がありません</div>'
        f'<div class="qa-abstain-body">{esc(answer.answer)}'
        "質問の言い方を変えるか、参考として下の関連する箇所をご覧ください。</div>"
        f"{related}"
        "</div>"
    )


def input_error_html(message: str) -> str:
    """A friendly note for a question the answerer refused (InputError)."""
    if "empty" in message:
        hint = "質問が空でした。資料について知りたいことを文章で入力してください。"
    elif "no words" in message:
        hint = "記号や絵文字だけでは検索できません。言葉で質問を入力してください。"
    else:
        hint = "この質問は受け付けられませんでした。文章で質問を入力してください。"
    return (
        '<div class="qa-msg qa-hint">'
        f'<div class="qa-hint-head">{hint}</div>'
        '<div class="qa-note">例：「WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？」</div>'
        f'<div class="qa-detail">{esc(message)}</div>'
        "</div>"
    )


def failure_html() -> str:
    return (
        '<div class="qa-msg qa-hint">'
        '<div class="qa-hint-head">申し訳ありません。回答の作成中に問題が発生しました。</div>'
        '<div class="qa-note">しばらくしてからもう一度お試しください。</div>'
        "</div>"
    )


def slide_text(chunks, doc_id: str, slide: int) -> str:
    """A slide's full text: its chunks' texts in order."""
    return "\n".join(c.text for c in chunks if c.doc_id == doc_id and c.slide == slide)


def slide_html(passage: dict, text: str, pieces: list[str]) -> str:
    """The whole slide a source comes from, with the answer's pieces marked."""
    return (
        '<div class="qa-slide">'
        '<div class="qa-slide-head">'
        f'<span class="qa-page">p.{int(passage["slide"])}</span>'
        f'<span class="qa-title">{esc(passage["title"])}</span>'
        "</div>"
        f'<div class="qa-slide-text">{highlight(text, pieces)}</div>'
        "</div>"
    )


SLIDE_PLACEHOLDER = '<div class="qa-slide-empty">回答の出典を選ぶと、そのスライドの全文をここに表示します。</div>'
