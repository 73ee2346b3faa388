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

QUESTION_PREVIEW = 600  # characters of a question shown in the chat


def clean(text: str) -> str:
    """Text without control characters or lone surrogates."""
    return _JUNK.sub("", str(text))


def esc(text: str) -> str:
    """Plain text -> inert HTML: escaped, Markdown-proof, newlines as <br>."""
    out = clean(text).translate(_ENTITIES)
    return out.replace("\n", "<br>").replace("\t", " ")


def answer_pieces(answer: Answer) -> dict[int, list[str]]:
    """Quoted texts of an answer by citation number."""
    out: dict[int, list[str]] = {}
    for q in answer.quotes:
        out.setdefault(q.citation, []).append(q.text)
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
        "</div>"
        f'<div class="qa-src-text">{highlight(p.text, pieces)}</div>'
        "</div>"
    )


def confidence_word(confidence: float) -> str:
    """The answer's confidence for staff: 高 / 中 / 低."""
    return "高" if confidence >= 0.8 else "中" if confidence >= 0.5 else "低"


def _quote_html(q) -> str:
    """A quote with its short answer (if any) marked, its label and its [n]."""
    if q.span:
        a, b = q.span
        body = f"{esc(q.text[:a])}<strong class=\"qa-short\">{esc(q.text[a:b])}</strong>{esc(q.text[b:])}"
    else:
        body = esc(q.text)
    label = f'<span class="qa-quote-label">{esc(q.label)}</span>' if q.label else ""
    return f'<div class="qa-quote">{label}{body} <span class="qa-ref">&#91;{q.citation}&#93;</span></div>'


def answer_html(answer: Answer, doc_titles: dict | None = None) -> str:
    """An answer (short answer, quotes with [n] markers, then its sources) or an
    abstention. With several documents, each source names its document."""
    if answer.abstained:
        return abstention_html(answer, doc_titles)
    pieces = answer_pieces(answer)
    word = confidence_word(answer.confidence)
    short = f'<div class="qa-short-answer">{esc(answer.short_answer)}</div>' if answer.short_answer else ""
    cards = "".join(_source_card(p, pieces.get(p.rank, []), doc_titles) for p in answer.citations)
    low = " qa-low" if word == "低" else ""
    return (
        f'<div class="qa-msg qa-answer{low}">'
        f'<div class="qa-confidence">確信度：{word}'
        + ("（資料の該当箇所を必ずご確認ください）" if word == "低" else "")
        + "</div>"
        f"{_reading(answer)}{short}"
        '<div class="qa-label">資料からの引用</div>'
        + "".join(_quote_html(q) for q in answer.quotes)
        + f'<div class="qa-label">出典</div>{cards}'
        "</div>"
    )


def _reading(answer: Answer) -> str:
    return f'<div class="qa-notice">{esc(answer.notice)}</div>' if answer.notice else ""


def abstention_html(answer: Answer, doc_titles: dict | None = None) -> str:
    cards = "".join(_source_card(p, [], doc_titles) for p in answer.citations)
    related = f'<div class="qa-label">関連する箇所</div>{cards}' if cards else ""
    return (
        '<div class="qa-msg qa-abstain">'
        f"{_reading(answer)}"
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
    elif "the limit is" in message:
        limit = message.split("the limit is ", 1)[1].split(".")[0]
        hint = f"質問が長すぎます。{limit} 文字以内で、知りたいことを一つずつ質問してください。"
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


def slide_text(store, doc_id: str, slide: int) -> str:
    """A slide's full text: its chunks' texts in order."""
    try:
        chunks = store.doc_chunks(doc_id)
    except KeyError:  # the document left the index since the answer was given
        return ""
    return "\n".join(c.text for c in chunks if c.slide == slide)


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
