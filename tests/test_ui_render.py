"""The chat page's HTML, plain text and Markdown, without a server."""

from __future__ import annotations

import re
from datetime import datetime

from qa.results import Answer, Passage, Quote
from qa.ui import conversation, render

TEXT = "前文。研究者の30%以上が外国からの研究者。後文。"


def _passage(rank=1, text=TEXT, slide=13, title="WPI <b>拠点</b>", doc_id="deck"):
    return Passage(rank, 0.0321, doc_id, "corpus/deck.txt", slide, title, text, 0, len(text))


def _answer(confidence=0.9, **changes):
    quote = Quote("研究者の30%以上が外国からの研究者。", 1, (4, 9), "拠点")
    fields = dict(question="q", abstained=False, quotes=(quote,), citations=(_passage(), _passage(2, slide=7, title="他")),
                  short_answer="30%以上", confidence=confidence)
    fields.update(changes)
    return Answer(**fields)


def test_esc_makes_markup_and_markdown_inert():
    out = render.esc('<script>alert(1)</script> <img src=x onerror="f()"> **太字** [リンク](http://x) $x$\x00\x07')
    assert "<" not in out and ">" not in out.replace("<br>", "") and '"' not in out
    assert "*" not in out and "[" not in out and "$" not in out and "\x00" not in out and "\x07" not in out
    assert out.startswith("&#60;script&#62;")
    assert render.esc("一行目\n二行目") == "一行目<br>二行目"


def test_answer_comes_first_then_sources_collapsed_to_one_line():
    out = render.answer_html(_answer(), turn=3)
    assert 'class="qa-msg qa-answer qa-turn-3"' in out and "\n" not in out
    # the short answer, then the quote with its [n] button, then the sources
    order = [out.index(s) for s in ("qa-short-answer", "qa-quote", "qa-ref qa-n-1", "qa-copy", "<details")]
    assert order == sorted(order)
    assert '<mark class="qa-short">30%以上</mark>' in out
    title = render.esc("出典 1（p.13 WPI <b>拠点</b>）のスライドを開く")
    assert f'<button type="button" class="qa-ref qa-n-1" title="{title}">&#91;1&#93;</button>' in out
    # each source is a closed <details> whose summary is one line: number, page, title
    cards = re.findall(r'<details class="qa-src qa-n-(\d)">(.*?)</details>', out)
    assert [n for n, _ in cards] == ["1", "2"] and " open" not in out
    summary = re.search(r"<summary.*?</summary>", cards[0][1]).group(0)
    assert "p.13" in summary and "&#60;b&#62;拠点" in summary and "<mark>" not in summary
    assert "前文。<mark>研究者の30%以上が外国からの研究者。</mark>後文。" in cards[0][1]
    assert '<button type="button" class="qa-open qa-n-1">スライド全文を表示</button>' in cards[0][1]
    assert "<b>" not in out  # the title is escaped


def test_confidence_is_a_word_and_low_confidence_is_marked():
    assert [conversation.confidence_word(c) for c in (0.95, 0.8, 0.79, 0.5, 0.49, 0.0)] == ["高", "高", "中", "中", "低", "低"]
    high = render.answer_html(_answer(0.9))
    assert "確信度：高" in high and "qa-low" not in high and "スコア" not in high and "0.9" not in high
    assert "確信度：中" in render.answer_html(_answer(0.6))
    low = render.answer_html(_answer(0.2))
    assert "qa-answer qa-turn-0 qa-low" in low and "確信度：低" in low and "必ずご確認ください" in low


def test_abstention_is_a_different_state_with_related_passages():
    answer = Answer("q", True, (), (_passage(), _passage(2, slide=7)))
    assert answer.answer == "資料には該当する記載が見つかりませんでした。"
    out = render.answer_html(answer, turn=1)
    assert "qa-abstain qa-turn-1" in out and "qa-answer" not in out
    assert "資料には記載がありません" in out and "関連する箇所" in out and "p.7" in out
    assert "<mark>" not in out and "確信度" not in out


def test_follow_up_reading_is_shown_above_the_answer():
    out = render.answer_html(_answer(notice="前の質問を踏まえて：SATREPSはいつからですか？"))
    assert out.index("qa-notice") < out.index("qa-quote")
    assert "前の質問を踏まえて：SATREPSはいつからですか？" in out


def test_plain_text_writes_the_citations_out():
    lines = conversation.plain_lines(_answer(notice="前の質問を踏まえて：X"))
    assert lines == ["前の質問を踏まえて：X", "30%以上", "研究者の30%以上が外国からの研究者。 [1] p.13 WPI <b>拠点</b>"]
    out = render.answer_html(_answer())
    hidden = re.search(r'<div class="qa-plain" hidden>(.*?)</div>', out).group(1)
    assert hidden.count("<span>") == 2 and "&#91;1&#93; p&#46;13" in hidden
    abstained = conversation.plain_lines(Answer("q", True, (), (_passage(),)))
    assert abstained == ["資料には該当する記載が見つかりませんでした。", "関連する箇所：", "[1] p.13 WPI <b>拠点</b>"]


def test_long_question_is_shown_shortened_with_its_length():
    out = render.question_html("あ" * 100_000)
    assert "全 100,000 文字" in out and len(out) < 2_000
    assert "10,000 文字以上" in render.question_html("あ" * 700, chars=10_000, capped=True)
    assert "入力欄" not in render.question_html("あ" * 10_000, capped=True)


def test_too_long_refusal_says_the_limit_and_what_to_do():
    message = "the question is 30,000 characters long; the limit is 2,000. Ask about one thing at a time"
    out = render.input_error_html(message)
    assert "質問が長すぎます（30,000 文字）" in out and "2,000 文字以内" in out and "一つに絞り" in out
    assert "10,000 文字以上" in render.input_error_html(message.replace("30,000", "10,000"), capped=True)
    assert "言葉で質問" in render.input_error_html("the question has no words in it")


def test_turns_round_trip_and_bad_browser_data_is_dropped():
    answer = _answer(notice="前の質問を踏まえて：X", reading="X")
    turn = conversation.answer_turn("それは？", answer)
    back = conversation.answer_of(turn)
    assert back == Answer(**{**answer.__dict__, "question": "q"})
    kept = conversation.checked([
        turn, {"question": "？？？", "error": "no words", "kind": "input"},
        "junk", {"question": 5}, {"question": "x", "answer": {"citations": [{"rank": "x"}]}}, None,
    ])
    assert [t["question"] for t in kept] == ["それは？", "？？？"]
    assert conversation.checked("not a list") == []
    many = [conversation.error_turn(str(i), "e") for i in range(conversation.MAX_TURNS + 5)]
    assert conversation.checked(many)[0]["question"] == "5"
    assert conversation.previous_question(kept) == "X"  # the reading, so follow-ups chain
    long = conversation.error_turn("あ" * 5000, "too long")
    assert len(long["question"]) == conversation.PREVIEW and long["chars"] == 5000


def test_markdown_export_has_every_citation():
    turns = [
        conversation.answer_turn("WPIの比率は？", _answer()),
        conversation.answer_turn("オーストラリアの首都は？", Answer("q", True, (), (_passage(3, slide=9, title="別"),))),
        conversation.error_turn("？？？", "the question has no words in it"),
    ]
    md = conversation.markdown(turns, {"deck": "グローバル戦略"}, now=datetime(2026, 11, 28, 14, 3))
    assert md.startswith("# 資料QA 会話の記録（2026-11-28 14:03）\n\n対象資料：グローバル戦略\n")
    assert "## 質問 1\n\n> WPIの比率は？" in md
    assert "**回答**（確信度：高）" in md and "**30%以上**" in md
    assert "> 研究者の30%以上が外国からの研究者。 [1]" in md
    assert "1. p.13 WPI <b>拠点</b>\n\n   > " + TEXT in md  # slide, title and the quoted passage
    assert "2. p.7 他" in md
    assert "## 質問 2" in md and "資料には該当する記載が見つかりませんでした。" in md and "**関連する箇所**" in md
    assert "3. p.9 別" in md
    assert "## 質問 3" in md and "**回答できませんでした**：the question has no words in it" in md
