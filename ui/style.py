"""Look of the chat page: theme with system fonts only, CSS, header."""

from __future__ import annotations

# System fonts only: plain strings, so the theme adds no web-font stylesheet.
FONTS = ["Noto Sans CJK JP", "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic UI", "Meiryo", "sans-serif"]
MONO = ["Noto Sans Mono CJK JP", "monospace"]


def theme():
    """Gradio's Soft theme in blue, with the system fonts above (no font server)."""
    import gradio as gr  # the caller (app.py) has switched analytics off first

    return gr.themes.Soft(
        primary_hue="blue",
        secondary_hue="slate",
        neutral_hue="slate",
        font=FONTS,
        font_mono=MONO,
    ).set(
        body_background_fill="#f4f6fa",
        block_radius="10px",
        button_large_radius="8px",
        button_small_radius="6px",
    )


HEADER = """
<div class="qa-header">
  <div class="qa-brand">資料QA</div>
  <div class="qa-header-text">
    <div class="qa-header-title">資料に基づく質問応答</div>
    <div class="qa-header-sub">対象資料：{titles}　／　回答は資料の記載をそのまま引用し、出典のスライドを示します。</div>
  </div>
  {logout}
</div>
"""
LOGOUT = '<a class="qa-logout" href="logout" title="ログアウトしてログイン画面に戻ります">ログアウト</a>'


CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
footer { opacity: .6; }
.qa-hidden { display: none !important; }

/* header */
.qa-header { display: flex; align-items: center; gap: 14px; padding: 6px 2px 2px; }
.qa-brand { background: #1d4ed8; color: #fff; font-weight: 700; letter-spacing: .08em;
  padding: 8px 12px; border-radius: 8px; font-size: 15px; white-space: nowrap; }
.qa-header-text { flex: 1 1 auto; min-width: 0; }
.qa-header-title { font-size: 20px; font-weight: 700; color: #0f172a; }
.qa-header-sub { font-size: 13px; color: #475569; margin-top: 2px; }
.qa-logout { font-size: 13px; color: #1e3a8a !important; border: 1px solid #cbd5e1; border-radius: 6px;
  padding: 5px 10px; text-decoration: none !important; white-space: nowrap; background: #fff; }
.qa-logout:hover { background: #eff6ff; }

/* long text never breaks the layout */
#qa-chat .message, #qa-chat .message *, .qa-msg, .qa-q, .qa-slide, #qa-input textarea {
  overflow-wrap: anywhere; word-break: break-word; }
#qa-chat .message-wrap { padding-bottom: 8px; }
#qa-chat .message-row.panel { padding: 14px 18px 8px !important; }
#qa-chat .user-row .qa-q { font-weight: 600; color: #0f172a; }

.qa-empty { text-align: center; color: #475569; line-height: 1.9; font-size: 15px; }
.qa-q { white-space: normal; line-height: 1.7; }
.qa-note { font-size: 12px; color: #64748b; margin-top: 4px; }
.qa-detail { font-size: 11px; color: #94a3b8; margin-top: 4px; }

/* answer: head, short answer, quotes */
.qa-msg { line-height: 1.75; }
.qa-msg button { font: inherit; }
.qa-answer-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 4px; }
.qa-head-label { font-size: 12px; font-weight: 700; color: #64748b; letter-spacing: .06em; }
.qa-confidence { font-size: 12px; font-weight: 700; border-radius: 999px; padding: 1px 10px;
  background: #dcfce7; color: #166534; }
.qa-low-note { font-size: 12.5px; color: #b91c1c; font-weight: 600; }
.qa-low { border-left: 4px solid #dc2626; padding-left: 12px; }
.qa-low .qa-confidence { background: #fee2e2; color: #b91c1c; }
.qa-label { font-size: 12px; font-weight: 700; color: #64748b; letter-spacing: .06em; margin: 10px 0 4px; }
.qa-short-answer { font-size: 19px; font-weight: 700; color: #0f172a; margin: 2px 0 6px; }
.qa-quote { border-left: 4px solid #2563eb; background: #eff6ff; color: #0f172a; padding: 8px 12px;
  border-radius: 0 8px 8px 0; margin: 4px 0; font-size: 15.5px; }
.qa-quote-label { display: block; font-size: 11.5px; color: #64748b; }
.qa-quote mark.qa-short { background: #fde68a; font-weight: 700; }
.qa-ref { background: none !important; border: 0 !important; padding: 0 2px !important; margin: 0 !important;
  color: #1d4ed8 !important; font-weight: 700; font-size: 13px !important; cursor: pointer; white-space: nowrap;
  text-decoration: underline dotted; text-underline-offset: 3px; box-shadow: none !important; }
.qa-ref:hover, .qa-ref:focus-visible { background: #dbeafe !important; border-radius: 4px; }
.qa-notice { background: #f1f5f9; color: #334155; border: 1px solid #cbd5e1; border-radius: 6px;
  padding: 4px 10px; font-size: 12.5px; margin-bottom: 8px; }
.qa-actions { display: flex; gap: 8px; margin: 6px 0 2px; }
.qa-copy, .qa-open { font-size: 12px !important; color: #1e3a8a !important; background: #fff !important;
  border: 1px solid #cbd5e1 !important; border-radius: 6px !important; padding: 2px 10px !important;
  cursor: pointer; line-height: 1.6 !important; }
.qa-copy:hover, .qa-open:hover { background: #eff6ff !important; }

/* sources: one line each until opened */
.qa-src { border: 1px solid #e2e8f0; background: #fff; color: #1e293b; border-radius: 8px;
  padding: 0 12px; margin: 5px 0; }
.qa-src > summary { display: flex; align-items: baseline; gap: 8px; padding: 6px 0; cursor: pointer;
  list-style: none; white-space: nowrap; overflow: hidden; }
.qa-src > summary::-webkit-details-marker { display: none; }
.qa-src > summary::before { content: "▸"; color: #64748b; font-size: 12px; }
.qa-src[open] > summary::before { content: "▾"; }
.qa-src > summary .qa-title { overflow: hidden; text-overflow: ellipsis; flex: 1 1 0; width: 0; }
.qa-src[open] > summary { white-space: normal; }
.qa-src[open] { padding-bottom: 8px; }
.qa-num { display: inline-flex; align-items: center; justify-content: center; min-width: 20px; height: 20px;
  border-radius: 10px; background: #1d4ed8; color: #fff; font-size: 12px; font-weight: 700; padding: 0 5px;
  flex: none; }
.qa-page { font-weight: 700; color: #1d4ed8; white-space: nowrap; flex: none; }
.qa-doc { font-size: 0.8em; color: #334155; background: #e2e8f0; border-radius: 4px; padding: 1px 6px; flex: none; }
.qa-title { font-weight: 600; color: #0f172a; }
.qa-src-text { font-size: 13.5px; color: #334155; max-height: 11em; overflow-y: auto; margin-bottom: 6px; }
.qa-msg mark, .qa-slide mark { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 3px; }

/* abstention: a different state, not an answer */
.qa-abstain { border: 1px solid #fcd34d; background: #fffbeb; color: #451a03; border-radius: 10px; padding: 10px 14px; }
.qa-abstain-head { font-weight: 700; font-size: 16px; color: #92400e; }
.qa-abstain-head::before { content: "ⓘ"; margin-right: 6px; }
.qa-abstain-body { font-size: 13.5px; color: #78350f; margin: 2px 0 6px; }
.qa-abstain .qa-label { color: #92400e; }
.qa-abstain .qa-num { background: #b45309; }
.qa-abstain .qa-page { color: #b45309; }

/* input errors and failures */
.qa-hint { border: 1px dashed #94a3b8; background: #f8fafc; color: #334155; border-radius: 10px; padding: 8px 12px; }
.qa-hint-head { font-weight: 600; }

/* input, tools, examples */
#qa-input-row { align-items: stretch; }
#qa-input textarea::placeholder { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#qa-send { white-space: nowrap; }
#qa-limit .qa-limit-text:empty { display: none; }
#qa-limit .qa-limit-text { color: #b91c1c; font-size: 13px; font-weight: 600; padding: 0 4px; }
#qa-tools { gap: 8px; flex-wrap: wrap; }
#qa-tools > * { flex: 0 1 auto !important; min-width: 0 !important; }
#qa-examples { gap: 4px !important; }
#qa-example-row { flex-wrap: wrap; gap: 6px; }
#qa-example-row > * { flex: 0 1 auto !important; min-width: 0 !important; }
.qa-examples-label { font-size: 12px; font-weight: 700; color: #64748b; padding-left: 2px; }
.qa-example { font-size: 12.5px !important; white-space: normal !important; text-align: left !important;
  background: #fff !important; border: 1px solid #dbe3ef !important; color: #1e3a8a !important; }
.qa-example:hover { background: #eff6ff !important; }
#qa-feedback { border: 1px solid #dbe3ef; background: #fff; gap: 6px; }
#qa-feedback-note { font-size: 13.5px; color: #334155; }
#qa-remark-send { white-space: nowrap; }

/* slide panel */
#qa-side { position: sticky; top: 8px; }
.qa-side-title { font-size: 14px; font-weight: 700; color: #0f172a; padding: 2px 2px 0; }
.qa-slide-empty { color: #64748b; font-size: 13.5px; padding: 24px 16px; text-align: center;
  border: 1px dashed #cbd5e1; border-radius: 10px; background: #fff; }
.qa-slide { background: #fff; color: #1e293b; border: 1px solid #e2e8f0; border-radius: 10px; padding: 12px 16px;
  max-height: 60vh; overflow-y: auto; }
.qa-slide-head { display: flex; gap: 8px; align-items: baseline; border-bottom: 1px solid #e2e8f0;
  padding: 12px 0 6px; margin: -12px 0 8px; position: sticky; top: -12px; background: #fff; }
.qa-slide-text { font-size: 13.5px; line-height: 1.8; }

/* phone: the slide opens right under the chat, the input follows */
@media (max-width: 760px) {
  .qa-header-sub { display: none; }
  .qa-header-title { font-size: 17px; }
  #qa-main { flex-direction: column !important; flex-wrap: nowrap !important; }
  #qa-left { display: contents !important; }
  #qa-chat { order: 1; }
  #qa-feedback { order: 2; }
  #qa-side { order: 3; position: static; min-width: 0 !important; }
  #qa-input-row { order: 4; }
  #qa-limit { order: 5; }
  #qa-tools { order: 6; }
  #qa-examples { order: 7; }
  #qa-slide-box:has(.qa-slide-empty) { display: none !important; }
  #qa-chat .message-row.panel { padding: 10px 10px 6px !important; }
  .qa-slide { max-height: 70vh; }
}
"""
