"""The login page, in Japanese. Gradio checks the password (POST login) and sets the
session cookie; this page only asks for it, says what went wrong, keeps the user name
after a wrong password, and shows the wait after too many failures (HTTP 429)."""

from __future__ import annotations

from .render import esc

PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ログイン｜資料QA</title>
<style>
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
    background: #f4f6fa; color: #0f172a;
    font-family: "Noto Sans CJK JP", "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic UI", Meiryo, sans-serif; }
  main { background: #fff; border: 1px solid #dbe3ef; border-radius: 12px; padding: 28px 28px 22px;
    width: min(380px, calc(100vw - 32px)); box-sizing: border-box; box-shadow: 0 4px 18px rgba(15,23,42,.06); }
  .brand { display: inline-block; background: #1d4ed8; color: #fff; font-weight: 700; letter-spacing: .08em;
    padding: 6px 10px; border-radius: 8px; font-size: 14px; }
  h1 { font-size: 19px; margin: 14px 0 4px; }
  p.lead { font-size: 13.5px; color: #475569; margin: 0 0 18px; line-height: 1.7; }
  label { display: block; font-size: 13px; font-weight: 700; color: #334155; margin: 12px 0 4px; }
  input { width: 100%; box-sizing: border-box; font-size: 16px; padding: 9px 11px; border: 1px solid #cbd5e1;
    border-radius: 8px; }
  input:focus { outline: 2px solid #93c5fd; border-color: #2563eb; }
  button { width: 100%; margin-top: 18px; padding: 10px; font-size: 15px; font-weight: 700; color: #fff;
    background: #1d4ed8; border: 0; border-radius: 8px; cursor: pointer; }
  button:disabled { background: #94a3b8; cursor: wait; }
  #message { min-height: 1.6em; margin: 12px 0 0; font-size: 13.5px; color: #b91c1c; line-height: 1.6; }
</style>
</head>
<body>
<main>
  <div class="brand">資料QA</div>
  <h1>ログイン</h1>
  <p class="lead">{message}</p>
  <form id="login" method="post" action="login" novalidate>
    <label for="username">ユーザー名</label>
    <input id="username" name="username" autocomplete="username" required autofocus>
    <label for="password">パスワード</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button id="submit" type="submit">ログイン</button>
    <p id="message" role="alert" aria-live="assertive"></p>
  </form>
</main>
<script>
(() => {
  const form = document.getElementById('login');
  const user = document.getElementById('username');
  const pass = document.getElementById('password');
  const button = document.getElementById('submit');
  const message = document.getElementById('message');
  let timer = null;
  function wait(seconds) {
    clearInterval(timer);
    button.disabled = true;
    const tick = () => {
      if (seconds <= 0) { clearInterval(timer); button.disabled = false; message.textContent = ''; return; }
      message.textContent = 'ログインの失敗が続いたため、一時的に受け付けを止めています。あと ' + seconds +
        ' 秒お待ちください。';
      seconds -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!user.value.trim() || !pass.value) {
      message.textContent = 'ユーザー名とパスワードを入力してください。';
      (user.value.trim() ? pass : user).focus();
      return;
    }
    button.disabled = true;
    message.textContent = '';
    let response = null;
    try {
      response = await fetch('login', {method: 'POST', body: new URLSearchParams(new FormData(form)),
                                       credentials: 'same-origin'});
    } catch (e) {
      message.textContent = 'サーバーに接続できませんでした。しばらくしてからもう一度お試しください。';
      button.disabled = false;
      return;
    }
    if (response.ok) { window.location.reload(); return; }
    pass.value = '';
    if (response.status === 429) {
      wait(parseInt(response.headers.get('Retry-After') || '60', 10));
    } else {
      message.textContent = 'ユーザー名またはパスワードが違います。';
      button.disabled = false;
    }
    pass.focus();
  });
})();
</script>
</body>
</html>
"""


def page(message: str) -> bytes:
    """The login page with `message` under its heading, as UTF-8."""
    return PAGE.replace("{message}", esc(message)).encode("utf-8")
