"""The page's scripts (JavaScript run in the browser).

PAGE runs once on load and installs what the chat's HTML cannot carry itself (the
sanitizer drops event handlers and data-* attributes; turn and citation numbers ride
on class names, see render.py):

- a [n] in an answer, or a source's 「スライド全文を表示」, opens that source: its card
  in place, and its slide in the slide panel (under the chat on a phone);
- コピー copies the answer as plain text with its citations written out;
- a new answer is scrolled so its top is in view (Gradio's autoscroll is off);
- the chat's accessible labels are plain Japanese text, not HTML;
- a question past the limit is flagged under the box as it is typed.

The other snippets are the `js` of single events.
"""

from __future__ import annotations

import json

_PAGE = r"""
() => {
  const LIMIT = __LIMIT__, INPUT_LIMIT = __INPUT_LIMIT__;
  const number = (el, prefix) => {
    const name = [...el.classList].find((c) => c.startsWith(prefix));
    return name ? parseInt(name.slice(prefix.length), 10) : NaN;
  };

  // [n] and 「スライド全文を表示」: open the card in place, show the slide
  function openSource(el) {
    const msg = el.closest('.qa-msg');
    const turn = msg ? number(msg, 'qa-turn-') : NaN, n = number(el, 'qa-n-');
    if (isNaN(turn) || isNaN(n)) return;
    const card = msg.querySelector('details.qa-src.qa-n-' + n);
    if (card) card.open = true;
    window.__qaOpen = turn + ':' + n;
    const button = document.querySelector('#qa-open-btn');
    if (button) button.click();
  }

  // コピー: the answer's plain text
  async function copyAnswer(button) {
    const msg = button.closest('.qa-msg');
    const text = [...msg.querySelectorAll('.qa-plain > span')].map((s) => s.textContent).join('\n');
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); done = true; }
    } catch (e) { done = false; }
    if (!done) {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
      area.remove();
    }
    button.textContent = done ? 'コピーしました' : 'コピーできませんでした';
    setTimeout(() => { button.textContent = 'コピー'; }, 1800);
  }

  document.addEventListener('click', (event) => {
    const target = event.target.closest && event.target.closest('.qa-ref, .qa-open, .qa-copy');
    if (!target || !target.closest('#qa-chat')) return;
    event.preventDefault();
    if (target.classList.contains('qa-copy')) copyAnswer(target); else openSource(target);
  });

  // labels: text, not markup
  function label(el) {
    const msg = el.querySelector('.qa-msg, .qa-q');
    const plain = el.querySelector('.qa-plain');
    const text = plain ? [...plain.children].map((s) => s.textContent).join(' ')
                       : (msg ? msg.innerText : el.innerText);
    const who = el.getAttribute('data-testid') === 'user' ? '質問：' : '回答：';
    return who + text.replace(/\s+/g, ' ').trim().slice(0, 600);
  }
  function fixLabels() {
    const chat = document.querySelector('#qa-chat');
    if (!chat) return;
    const log = chat.querySelector('[role="log"]');
    if (log && log.getAttribute('aria-label') !== '会話') log.setAttribute('aria-label', '会話');
    chat.querySelectorAll('[data-testid="user"][aria-label], [data-testid="bot"][aria-label]').forEach((el) => {
      if (el.getAttribute('aria-label').includes('<')) el.setAttribute('aria-label', label(el));
    });
  }

  // keep the new answer's top in view
  let users = 0, answers = 0;
  function scrollTo(row, box) {
    const top = row.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    box.scrollTop = Math.max(0, top - 8);
  }
  function follow() {
    const box = document.querySelector('#qa-chat [role="log"]');
    if (!box) return;
    const rows = [...box.querySelectorAll('.message-row')];
    const userRows = rows.filter((r) => r.classList.contains('user-row'));
    const botRows = rows.filter((r) => r.classList.contains('bot-row') && r.querySelector('.qa-msg'));
    if (botRows.length > answers && botRows.length) {
      const row = botRows[botRows.length - 1];
      const question = row.previousElementSibling && row.previousElementSibling.classList.contains('user-row')
        ? row.previousElementSibling : null;
      // the question too, when it is short enough to leave the answer's start in view
      const gap = question ? row.getBoundingClientRect().top - question.getBoundingClientRect().top : 0;
      scrollTo(question && gap < box.clientHeight / 3 ? question : row, box);
    } else if (userRows.length > users && userRows.length) {
      scrollTo(userRows[userRows.length - 1], box);
    }
    users = userRows.length;
    answers = botRows.length;
  }

  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fixLabels(); follow(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label']});

  // a question past the limit is flagged as it is typed
  document.addEventListener('input', (event) => {
    if (!event.target.matches || !event.target.matches('#qa-input textarea')) return;
    const hint = document.querySelector('#qa-limit .qa-limit-text');
    if (!hint) return;
    const n = event.target.value.length;
    hint.textContent = n <= LIMIT ? '' :
      (n >= INPUT_LIMIT ? INPUT_LIMIT.toLocaleString() + ' 文字以上' : n.toLocaleString() + ' 文字') +
      '：質問は ' + LIMIT.toLocaleString() + ' 文字以内にしてください。知りたいことを一つに絞って短くしてください。';
  });
}
"""


def page_script(limit: int, input_limit: int) -> str:
    return _PAGE.replace("__LIMIT__", str(int(limit))).replace("__INPUT_LIMIT__", str(int(input_limit)))


# Before a question is sent: empty the box in the browser (so a late reply never wipes
# a newer question), unless the question is past the limit and will be refused: then it
# stays, to be shortened.
def take_question(limit: int) -> str:
    return """(text, saved, docs) => {
  const box = document.querySelector('#qa-input textarea');
  if (box && text && text.trim() && text.length <= %d) {
    box.value = '';
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  return [text, saved, docs];
}""" % int(limit)


# An example button: type the question into the box, then press 質問する.
def ask_example(question: str) -> str:
    return """() => {
  const box = document.querySelector('#qa-input textarea');
  box.value = %s;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => document.querySelector('#qa-send').click(), 0);
}""" % json.dumps(question)


# On load, once the page's events are wired up: say so (tests wait for it).
READY = "() => { document.documentElement.dataset.qaReady = '1'; }"

# The hidden open button: hand the page script's target ("turn:n") to the server.
OPEN_TARGET = "(target, saved) => [window.__qaOpen || '', saved]"

# After a slide opens: scroll its panel to the first marked piece, and bring the panel
# into view when it is off screen (on a phone it sits under the chat).
SHOW_SLIDE = """() => {
  setTimeout(() => {
    const box = document.querySelector('#qa-slide .qa-slide');
    if (!box) return;
    const mark = box.querySelector('mark');
    if (mark) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 60);
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.top > window.innerHeight - 120) box.scrollIntoView({block: 'start'});
  }, 60);
}"""

# Save the exported Markdown as a file.
DOWNLOAD = """(text) => {
  if (!text) return;
  const now = new Date(), pad = (n) => String(n).padStart(2, '0');
  const stamp = now.getFullYear() + pad(now.getMonth() + 1) + pad(now.getDate()) + '-' + pad(now.getHours()) + pad(now.getMinutes());
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], {type: 'text/markdown;charset=utf-8'}));
  link.download = '資料QA_会話_' + stamp + '.md';
  document.body.appendChild(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}"""
