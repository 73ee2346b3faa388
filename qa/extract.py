"""File bytes -> the UTF-8 text a corpus file holds, within bounds.

- PDF: one page is one slide. The text holds, for page n, a line `# <title> p.<n>`
  and then the page's text as pypdf extracts it (line endings normalised, a text
  line starting with `#` gets a leading space so it cannot open a slide). A page
  without extractable text keeps its heading and `EMPTY_PAGE`.
- Markdown and plain text: decoded (UTF-8 with or without BOM, else CP932 /
  Shift_JIS), line endings normalised to `\\n`; `# ` headings split slides.

Costs are bounded whatever the file holds. A small PDF can decompress to gigabytes
of page content, and pypdf spends about a second per MB of it, so pypdf may decode
at most `MAX_STREAM_BYTES` and parse at most `MAX_STREAM_OPS` operations per content
stream (a page over that keeps `LEFT_OUT`), and a document's pages may hold at most
`MAX_DOC_CONTENT_BYTES` of decoded content in all. Text is kept up to
`MAX_PAGE_CHARS` per page and `MAX_DOC_CHARS` per document, and extraction stops
after `MAX_PDF_SECONDS` whatever else happens; pages past a limit keep `LEFT_OUT`.
A page's decoded content is released once its text is out, so memory stays bounded.
Embedded data (`data:` URIs, base64 runs of `MIN_BASE64_RUN`+ characters) is
dropped from every format. Each of these is reported as one note per file;
pypdf's own log lines go to the `qa.ingest` logger (shown with `qa -v`) instead of
standard error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field

from .corpus import clean_inline, split_slides

EMPTY_PAGE = "（このページには抽出できるテキストがありません）"
LEFT_OUT = "（このページのテキストは上限を超えたため取り込んでいません）"
MAX_STREAM_BYTES = 4_000_000  # decoded size of one content stream
MAX_STREAM_OPS = 400_000  # operands and operators parsed in one content stream
MAX_DOC_CONTENT_BYTES = 32_000_000  # decoded page content parsed per document
MAX_PAGE_CHARS = 100_000
MAX_DOC_CHARS = 2_000_000
MAX_PDF_SECONDS = 30.0
MIN_BASE64_RUN = 1024

log = logging.getLogger("qa.ingest")

_DATA_URI = re.compile(r"(?<![\w.+-])data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+(?:=[\w.+%-]*)?)*,[^\s\"'()<>\[\]]*", re.I)
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{%d,}={0,2}" % MIN_BASE64_RUN)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # Cc except \t \n \v \f \r
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JUNK_TITLES = {"untitled", "unknown", "anonymous", "none", "title", "no title", "無題"}
_FILE_NAME = re.compile(r"\.(pdf|docx?|pptx?|xlsx?|txt|md|rtf|odt|key|pages)$", re.I)
_APP_PREFIX = re.compile(r"^(microsoft\s+\w+|powerpoint|word)\s+-\s+", re.I)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


class Refused(Exception):
    """A file that cannot be added; the message says why and what to do."""


@dataclass
class Extracted:
    text: str
    title: str
    pages: int
    encoding: str | None = None
    date: str | None = None
    empty: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- text and markdown ----------------------------------------------------------


def text_document(data: bytes, name: str, stem: str) -> Extracted:
    encoding, text = decode(data, name)
    text, note = drop_embedded_data(text)
    if not text.strip():
        raise Refused(f"{name} holds only embedded data ({note}); nothing to add")
    return Extracted(text, _text_title(text, stem), len(split_slides(text)), encoding, notes=[note] if note else [])


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(encoding, text) of a text file: UTF-8 (BOM or not), else CP932, else refused."""
    if b"\x00" in data:
        raise Refused(f"{name} holds NUL bytes, so it is not a text file; add text, markdown or PDF files only")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8-sig", data[3:]
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        if encoding == "utf-8-sig":
            raise Refused(f"{name} starts with a UTF-8 mark but is not valid UTF-8; re-save it as UTF-8") from None
        try:
            encoding, text = "cp932", data.decode("cp932")
        except UnicodeDecodeError:
            raise Refused(f"{name} is neither UTF-8 nor Shift_JIS (CP932) text; re-save it as UTF-8") from None
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 100):
        raise Refused(f"{name} looks binary ({controls} control characters); add text, markdown or PDF files only")
    text = normalise_lines(text)
    if not text.strip():
        raise Refused(f"{name} has no text in it (only blank lines); nothing to add")
    return encoding, text


def normalise_lines(text: str) -> str:
    """Every line break the loader recognises (CRLF, CR, form feed, U+2028 ...) as `\\n`."""
    lines = text.splitlines()
    return "\n".join(lines) + ("\n" if lines else "")


def drop_embedded_data(text: str) -> tuple[str, str | None]:
    """`text` without `data:` URIs and long base64 runs, and a note saying what went
    (None when nothing did). A markdown image `![図](data:...)` keeps `![図]()`."""
    counts = {"data: URI": [0, 0], "base64 run": [0, 0]}

    def drop(kind):
        def sub(match: re.Match) -> str:
            counts[kind][0] += 1
            counts[kind][1] += len(match.group())
            return ""
        return sub

    text = _DATA_URI.sub(drop("data: URI"), text)
    text = _BASE64_RUN.sub(drop("base64 run"), text)
    parts = [f"{n} {kind}{'s' if n > 1 else ''} ({chars:,} characters)" for kind, (n, chars) in counts.items() if n]
    return text, ("dropped embedded data: " + " and ".join(parts)) if parts else None


def _text_title(text: str, stem: str) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    heading = next((clean_inline(ln[2:]) for ln in lines if ln.startswith("# ")), "")
    return shorten(heading or (clean_inline(lines[0].lstrip("#")) if lines else "") or stem)


def shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- PDF ------------------------------------------------------------------------


def pdf_document(data: bytes, name: str, stem: str) -> Extracted:
    """The corpus text of a PDF, one slide per page, with caps on cost and size."""
    heard: list[str] = []
    with _pypdf_log_to(heard, name):
        try:
            reader, pages = _open_pdf(data, name)
        except Refused as exc:
            said = f"; pypdf: {heard[0]}" if heard and heard[0] not in str(exc) else ""
            raise Refused(f"{exc}{said}") from None
        texts, notes = _page_texts(pages)
        info = _pdf_info(reader)
    title = _pdf_title(info.get("/Title"), texts, stem)
    empty = [n for n, t in enumerate(texts, start=1) if t == ""]
    parts = []
    for n, body in enumerate(texts, start=1):
        if body is None:
            body = LEFT_OUT
        elif not body:
            body = EMPTY_PAGE
        else:
            body = "\n".join(" " + ln if ln.startswith("#") else ln for ln in body.split("\n"))
        parts.append(f"# {title} p.{n}\n{body}\n")
    return Extracted("\n".join(parts), title, len(pages), None, _pdf_date(info.get("/CreationDate")), empty, notes)


def _open_pdf(data: bytes, name: str):
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # e.g. AES needs the `cryptography` package
                raise Refused(f"{name} is encrypted and cannot be opened ({_one_line(exc)}); decrypt it first "
                              "(e.g. `qpdf --decrypt in.pdf out.pdf`) and add the decrypted file") from None
            if not opened:
                raise Refused(f"{name} is encrypted with a password; decrypt it first "
                              "(e.g. `qpdf --password=... --decrypt in.pdf out.pdf`) and add the decrypted file")
        pages = list(reader.pages)
    except Refused:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise Refused(f"{name} cannot be read as a PDF ({type(exc).__name__}: {_one_line(exc)}); "
                      "the file may be damaged; re-export or re-download it") from None
    if not pages:
        raise Refused(f"{name} has no pages; nothing to add")
    return reader, pages


def _page_texts(pages) -> tuple[list[str | None], list[str]]:
    """Each page's text ("" when it has none, None when left out) and notes on caps."""
    from pypdf import apply_configuration

    limits = dict(
        zlib_maximum_output_length=MAX_STREAM_BYTES, lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES, brotli_maximum_output_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
        stream_decoding_work_maximum_length=4 * MAX_STREAM_BYTES, stream_parsing_work_maximum_count=MAX_STREAM_OPS,
    )
    texts: list[str | None] = []
    too_big, cut, scrubbed, stop = [], [], [], None
    deadline = time.monotonic() + MAX_PDF_SECONDS
    chars = content = 0
    for n, page in enumerate(pages, start=1):
        why = _stop_reason(chars, deadline)
        if why is None:
            with apply_configuration(**limits):
                streams, size = _content(page)
                if content + (size or 0) > MAX_DOC_CONTENT_BYTES:
                    why = f"the document limit of {MAX_DOC_CONTENT_BYTES // 1_000_000} MB of page content was reached"
                else:
                    content += size or 0
                    raw = _extract(page) if size is not None else None
        if why is not None:
            texts.extend([None] * (len(pages) - n + 1))
            stop = (n, why)
            break
        for stream in streams:  # release the decoded content
            with contextlib.suppress(AttributeError):
                stream.decoded_self = None
        if raw is None:
            too_big.append(n)
            texts.append(None)
            continue
        text = _SURROGATE.sub("\ufffd", normalise_lines(raw)).strip("\n")
        text, dropped = drop_embedded_data(text)
        if dropped:
            scrubbed.append(n)
        limit = min(MAX_PAGE_CHARS, MAX_DOC_CHARS - chars)
        if len(text) > limit:
            text = _cut(text, limit)
            cut.append(n)
        chars += len(text)
        texts.append(text if text.strip() else "")
    notes = []
    if too_big:
        notes.append(f"{page_list(too_big)} left out (content over {MAX_STREAM_BYTES // 1_000_000} MB or "
                     f"{MAX_STREAM_OPS:,} operations when decompressed)")
    if cut:
        notes.append(f"text of {page_list(cut)} cut to keep at most {MAX_PAGE_CHARS:,} characters a page "
                     f"and {MAX_DOC_CHARS:,} a document")
    if scrubbed:
        notes.append(f"embedded data (data: URIs, base64) dropped from {page_list(scrubbed)}")
    if stop is not None:
        notes.append(f"{page_list(range(stop[0], len(pages) + 1))} left out: {stop[1]}")
    return texts, notes


def _stop_reason(chars: int, deadline: float) -> str | None:
    if chars >= MAX_DOC_CHARS:
        return f"the document limit of {MAX_DOC_CHARS:,} characters was reached"
    if time.monotonic() > deadline:
        return f"extraction took over {MAX_PDF_SECONDS:.0f} s"
    return None


def _content(page) -> tuple[list, int | None]:
    """The page's content streams and their decoded size (None when over a limit)."""
    from pypdf.errors import LimitReachedError

    streams = []
    try:
        contents = page.get("/Contents")
        obj = contents.get_object() if contents is not None else None
        for item in obj if isinstance(obj, list) else [obj]:
            stream = item.get_object() if item is not None else None
            if hasattr(stream, "get_data"):
                streams.append(stream)
        return streams, sum(len(s.get_data()) for s in streams)
    except LimitReachedError:
        return streams, None
    except Exception:  # a damaged page: extraction will find nothing or fail on its own
        return streams, 0


def _extract(page) -> str | None:
    """The page's raw text; None when a limit stopped pypdf; "" when it failed."""
    from pypdf.errors import LimitReachedError

    try:
        return page.extract_text() or ""
    except LimitReachedError:
        return None
    except Exception:  # one unreadable page is reported like an empty one
        return ""


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a line end when one is near."""
    head = text[:limit]
    newline = head.rfind("\n")
    return head[:newline] if newline > limit * 0.9 else head


def page_list(numbers) -> str:
    """"page 3", "pages 2, 5-9"."""
    numbers = list(numbers)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"page{'s' if len(numbers) > 1 else ''} {text}"


@contextlib.contextmanager
def _pypdf_log_to(heard: list[str], name: str):
    """While reading one PDF, pypdf's log lines are kept in `heard` and passed to our
    logger at INFO (shown with `qa -v`), never printed on their own."""
    pypdf_log = logging.getLogger("pypdf")

    class Keep(logging.Handler):
        def emit(self, record):
            message = _one_line(record.getMessage())
            heard.append(message)
            log.info("%s: pypdf: %s", name, message)

    handler, propagate = Keep(), pypdf_log.propagate
    pypdf_log.addHandler(handler)
    pypdf_log.propagate = False
    try:
        yield
    finally:
        pypdf_log.removeHandler(handler)
        pypdf_log.propagate = propagate


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _pdf_info(reader) -> dict:
    try:
        info = reader.metadata or {}
        return {k: str(info[k]) for k in ("/Title", "/CreationDate") if info.get(k) is not None}
    except Exception:  # a damaged info dictionary only costs the title and date
        return {}


def _pdf_title(meta_title: str | None, texts: list[str | None], stem: str) -> str:
    title = " ".join((meta_title or "").split())
    title = _APP_PREFIX.sub("", title)
    sensible = (
        title and title.lower() not in _JUNK_TITLES and not _FILE_NAME.search(title)
        and any(unicodedata.category(ch)[0] in "LN" for ch in title)
        and not any(unicodedata.category(ch) in ("Cc", "Co", "Cs") or ch == "\ufffd" for ch in title)
    )
    if sensible:
        return shorten(title)
    first_page = (texts[0] or "") if texts else ""
    first = next((ln.strip() for ln in first_page.split("\n") if ln.strip()), "")
    return shorten(first.lstrip("#").strip() or stem)


def _pdf_date(raw: str | None) -> str | None:
    match = _PDF_DATE.match((raw or "").strip())
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None
