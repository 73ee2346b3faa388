"""HTML for the chat page: questions, answers, abstentions, sources and slides.

Every piece of text from the user or the corpus passes through `esc`, which escapes
HTML and neutralises Markdown, so the chat shows it as typed. The only markup in the
output is the fixed set of tags and classes written here. Output has no newlines, so
Markdown treats each message as one raw HTML block and leaves it alone.

The chat sanitizer drops data-* and aria-* attributes, so what the page's script needs
rides on class names: `qa-turn-<i>` on a message (its turn in the conversation) and
`qa-n-<n>` on a citation marker or source card.
"""

from __future__ import annotations

import re

from qa.results import Answer, Passage

from .conversation import confidence_word, plain_lines

# C0/C1 controls (tab and newline kept), and lone surrogates that browsers may send.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# HTML's special characters, and those Markdown (or LaTeX, emoji shortcodes) would act
# on, as numeric entities: one pass, so no entity is escaped twice.
_ENTITIES = {ord(ch): f"&#{ord(ch)};" for ch in "&<>\"'\\`*_[]{}()#+-.!|~$:="}
_TOO_LONG = re.compile(r"is ([\d,]+) characters long; the limit is ([\d,]+)")

QUESTION_PREVIEW = 600  # characters of a question shown in the chat
SLIDE_PLACEHOLDER = (
    '<div class="qa-slide-empty">回答の [1] などの番号か、出典の「スライド全文を表示」を押すと、'
    "そのスライドの全文をここに表示します。</div>"
)


def clean(text: str) -> str:
    """Text without control characters or lone surrogates."""
    return _JUNK.sub("", str(text))


def esc(text: str) -> str:
    """Plain text -> inert HTML: escaped, Markdown-proof, newlines as <br>."""
    out = clean(text).translate(_ENTITIES)
    return out.replace("\n", "<br>").replace("\t", " ")


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


def answer_pieces(answer: Answer) -> dict[int, list[str]]:
    """Quoted texts of an answer by citation number."""
    out: dict[int, list[str]] = {}
    for q in answer.quotes:
        out.setdefault(q.citation, []).append(q.text)
    return out


# -- questions ------------------------------------------------------------------------------


def question_html(question: str, chars: int | None = None, capped: bool = False) -> str:
    """The user's question as typed; a long one shortened, with its length (`chars`, when
    only a preview was kept; `capped` when the input box stopped taking more)."""
    text = clean(question)
    chars = chars or len(text)
    if chars <= QUESTION_PREVIEW:
        return f'<div class="qa-q">{esc(text)}</div>'
    total = f"{chars:,} 文字以上" if capped else f"全 {chars:,} 文字"
    note = f"長い質問のため先頭だけを表示しています（{total}）。"
    return f'<div class="qa-q">{esc(text[:QUESTION_PREVIEW])}…<div class="qa-note">{note}</div></div>'


# -- answers ------------------------------------------------------------------------------------


def answer_html(answer: Answer, turn: int = 0, doc_titles: dict | None = None) -> str:
    """An answer, short answer and quotes first, then its sources collapsed to one line
    each; or an abstention. `turn` is the answer's place in the conversation."""
    if answer.abstained:
        return abstention_html(answer, turn, doc_titles)
    pieces = answer_pieces(answer)
    word = confidence_word(answer.confidence)
    low = word == "低"
    titles = {p.rank: f"p.{p.slide} {p.title}" for p in answer.citations}
    head = (
        '<div class="qa-answer-head"><span class="qa-head-label">回答</span>'
        f'<span class="qa-confidence">確信度：{word}</span>'
        + ('<span class="qa-low-note">確信度が低い回答です。出典の該当箇所を必ずご確認ください。</span>' if low else "")
        + "</div>"
    )
    short = f'<div class="qa-short-answer">{esc(answer.short_answer)}</div>' if answer.short_answer else ""
    quotes = "".join(_quote_html(q, titles.get(q.citation, "")) for q in answer.quotes)
    cards = "".join(_source_card(p, pieces.get(p.rank, []), doc_titles) for p in answer.citations)
    return (
        f'<div class="qa-msg qa-answer qa-turn-{int(turn)}{" qa-low" if low else ""}">'
        f"{head}{_notice(answer)}{short}{quotes}{_actions()}"
        + (f'<div class="qa-label">出典（押すと開きます）</div>{cards}' if cards else "")
        + _plain(answer)
        + "</div>"
    )


def abstention_html(answer: Answer, turn: int = 0, doc_titles: dict | None = None) -> str:
    cards = "".join(_source_card(p, [], doc_titles) for p in answer.citations)
    related = f'<div class="qa-label">関連する箇所（押すと開きます）</div>{cards}' if cards else ""
    return (
        f'<div class="qa-msg qa-abstain qa-turn-{int(turn)}">'
        f"{_notice(answer)}"
        '<div class="qa-abstain-head">資料には記載がありません</div>'
        f'<div class="qa-abstain-body">{esc(answer.answer)}'
        "質問の言い方を変えるか、参考として下の関連する箇所をご覧ください。</div>"
        f"{_actions()}{related}{_plain(answer)}"
        "</div>"
    )


def _quote_html(q, where: str) -> str:
    """A quote with its short answer (if any) marked, its label and its [n] button."""
    if q.span:
        a, b = q.span
        body = f'{esc(q.text[:a])}<mark class="qa-short">{esc(q.text[a:b])}</mark>{esc(q.text[b:])}'
    else:
        body = esc(q.text)
    label = f'<span class="qa-quote-label">{esc(q.label)}</span>' if q.label else ""
    return f'<div class="qa-quote">{label}{body} {_ref(q.citation, where)}</div>'


def _ref(n: int, where: str) -> str:
    title = esc(f"出典 {n}（{where}）のスライドを開く" if where else f"出典 {n} のスライドを開く")
    return f'<button type="button" class="qa-ref qa-n-{int(n)}" title="{title}">&#91;{int(n)}&#93;</button>'


def _source_card(p: Passage, pieces: list[str], doc_titles: dict | None = None) -> str:
    """A source as one line (number, page, title) that opens to its passage."""
    doc = (doc_titles or {}).get(p.doc_id) if doc_titles and len(doc_titles) > 1 else None
    return (
        f'<details class="qa-src qa-n-{int(p.rank)}">'
        '<summary class="qa-src-head">'
        f'<span class="qa-num">{int(p.rank)}</span>'
        + (f'<span class="qa-doc">{esc(doc)}</span>' if doc else "")
        + f'<span class="qa-page">p.{int(p.slide)}</span>'
        f'<span class="qa-title">{esc(p.title)}</span>'
        "</summary>"
        f'<div class="qa-src-text">{highlight(p.text, pieces)}</div>'
        f'<button type="button" class="qa-open qa-n-{int(p.rank)}">スライド全文を表示</button>'
        "</details>"
    )


def _notice(answer: Answer) -> str:
    return f'<div class="qa-notice">{esc(answer.notice)}</div>' if answer.notice else ""


def _actions() -> str:
    return (
        '<div class="qa-actions"><button type="button" class="qa-copy" '
        'title="回答を出典付きのテキストとしてコピーします">コピー</button></div>'
    )


def _plain(answer: Answer) -> str:
    """The answer as plain text lines, hidden: what the copy button copies."""
    return '<div class="qa-plain" hidden>' + "".join(f"<span>{esc(line)}</span>" for line in plain_lines(answer)) + "</div>"


# -- refusals and failures ----------------------------------------------------------------------


def input_error_html(message: str, turn: int = 0, capped: bool = False) -> str:
    """A friendly note for a question that was refused (InputError's message)."""
    too_long = _TOO_LONG.search(message)
    if "empty" in message:
        hint = "質問が空でした。資料について知りたいことを文章で入力してください。"
    elif "no words" in message:
        hint = "記号や絵文字だけでは検索できません。言葉で質問を入力してください。"
    elif too_long:
        chars, limit = too_long.groups()
        length = f"{chars} 文字以上" if capped else f"{chars} 文字"
        hint = (f"質問が長すぎます（{length}）。質問は {limit} 文字以内にしてください。"
                "知りたいことを一つに絞り、短い文で質問してください。入力欄の文章はそのまま残してあります。")
    else:
        hint = "この質問は受け付けられませんでした。文章で質問を入力してください。"
    return (
        f'<div class="qa-msg qa-hint qa-turn-{int(turn)}">'
        f'<div class="qa-hint-head">{hint}</div>'
        '<div class="qa-note">例：「WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？」</div>'
        f'<div class="qa-detail">{esc(message)}</div>'
        "</div>"
    )


def failure_html(turn: int = 0) -> str:
    return (
        f'<div class="qa-msg qa-hint qa-turn-{int(turn)}">'
        '<div class="qa-hint-head">申し訳ありません。回答の作成中に問題が発生しました。</div>'
        '<div class="qa-note">しばらくしてからもう一度お試しください。</div>'
        "</div>"
    )


# -- slides ---------------------------------------------------------------------------------------


def slide_text(store, doc_id: str, slide: int) -> str:
    """A slide's full text: its chunks' texts in order."""
    try:
        chunks = store.doc_chunks(doc_id)
    except KeyError:  # the document left the index since the answer was given
        return ""
    return "\n".join(c.text for c in chunks if c.slide == slide)


def slide_html(passage: Passage, text: str, pieces: list[str]) -> str:
    """The whole slide a source comes from, with the answer's pieces marked."""
    body = highlight(text, pieces) if text else "このスライドは現在の索引にありません（資料が更新された可能性があります）。"
    return (
        '<div class="qa-slide">'
        '<div class="qa-slide-head">'
        f'<span class="qa-num">{int(passage.rank)}</span>'
        f'<span class="qa-page">p.{int(passage.slide)}</span>'
        f'<span class="qa-title">{esc(passage.title)}</span>'
        "</div>"
        f'<div class="qa-slide-text">{body}</div>'
        "</div>"
    )
