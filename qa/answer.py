"""Extractive answers: pick the piece (sentence, bullet, table row) that answers the
question from the top passages, quote it with [n] markers, or abstain.

Nothing here writes text of its own: an answer is one or two quotes of the corpus,
verbatim as shown in the passages, each with the number of the passage it cites.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from itertools import zip_longest

import numpy as np

from .compare import merge, split_pair
from .config import AnswerSettings, Config
from .kinds import CLASH_CONFIDENCE, STRICT_KINDS, counts_as_asked, fits, question_kind, settle_type
from .results import Answer, Passage, Quote
from .retrieve import Hit, Retriever, prepare_query
from .spans import asks_yes_no, defined, echoes, expansion_span, extreme, row_label, short_span
from .tokens import ENGLISH_PLACES, YEAR, forms, is_country, normalize, squash, terms, tokenize

log = logging.getLogger(__name__)

# Words that make up the question rather than its topic.
_QUESTION_WORDS = frozenset(
    "何 なに なん どこ いつ 誰 だれ どの どう どれ どんな いくら いくつ 幾つ 教える 知る ある いる する なる "
    "れる られる ます です こと もの ため 的 について とは ください 下さい 方 くらい ぐらい 程度 所 略 略称 正式 名称 "
    "what which who whom where when how many much is are was were the a an of in on at to for by did do does "
    "and or with from as that this it its be been tell me about".split()
)

_PAGE_LABEL = re.compile(r"^\S{1,4}\s*[0-9０-９]{1,3}$")
_DIGITS = re.compile(r"[\d０-９][\d０-９,.，．]*")


def key_terms(question: str, form: str = "surface") -> list[str]:
    """The question's topic words: content terms minus question words."""
    out = []
    for t in terms(question, form):
        if t not in _QUESTION_WORDS and not (len(t) == 1 and not t.isalnum()):
            out.append(t)
    return out


# Fewer asked words than this tell a slide's lines apart no better than chance (「どんなテーマ」).
_MIN_ASKED = 2
# Verbs that carry no content (lemmas), and words that only frame the asking.
_LIGHT = frozenset("為る 居る 成る 有る 在る 行く 来る 言う 思う 出来る 呉れる 貰う 見る 無い 良い "
                   "何 事 物 為 方 所 名前 名称 正式 略称 程度".split())


def asked_part(question: str) -> str:
    """What the question asks about, as against its topic: what follows its last topic
    「は」 before its question word. The topic names what the slide is about, and every line
    of the slide shares it (the meeting's lead line most of all); the asked part tells the
    lines apart. When that leaves too few content words (「…作業部会の略称は何」: the
    last topic is the thing asked for), what follows the first frame 「…会合で、」 or 「…は、」;
    "" when there is neither."""
    m = _WH.search(question)
    head = question[: m.start() if m else len(question)]
    tokens = [t for t in tokenize(head) if t.pos == "助詞"]
    topics = [t.end for t in tokens if t.surface == "は"]
    part = question[topics[-1]:] if topics else ""
    if len(content_words(part)) < _MIN_ASKED:
        frames = [t.end for t in tokens if t.surface in ("で", "は") and head[t.end:t.end + 1] == "、"]
        part = question[frames[0]:] if frames else part
    return part.lstrip("、")


def asked_words(question: str) -> set[str]:
    """The content words of the question's asked part, or none when too few to tell lines apart."""
    words = content_words(asked_part(question))
    return words if len(words) >= _MIN_ASKED else set()


def content_words(text: str) -> set[str]:
    """Lemmas of the nouns, verbs and adjectives of `text` that carry content."""
    out = set()
    for t in tokenize(normalize(text)):
        if (t.pos == "名詞" and t.pos2 != "数詞") or t.pos in ("動詞", "形容詞"):
            lemma = t.lemma.split("-")[0]
            if lemma not in _LIGHT and (len(lemma) > 1 or "一" <= lemma <= "龥"):
                out.add(lemma)
    return out


_LATIN = re.compile(r"[a-z][a-z0-9\-]*[a-z0-9]|[a-z]?[0-9]+[a-z]+[0-9]*|[a-z][0-9]+")  # "satreps", "g7", "5g"
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b|\b[A-Z][0-9]+\b")  # in English questions: "OSTP", "G7"
_QUOTED = re.compile(r"[「『]([^」』]{2,40})[」』]")
_ASKING = re.compile(r"何|どの|どこ|いつ|誰|どう")  # 「厚みの減少率が何%以上」 quotes a question, not a name
# Where a question starts asking: 「…会合では、どの大陸との協力を…」.
_WH = re.compile(_ASKING.pattern + "|どんな|いくつ|いくら|どれ|どちら|なぜ")


def quoted(question: str) -> list[str]:
    """The names a question quotes: 「量子未来産業創出戦略」, 『白書』."""
    return [m.group(1) for m in _QUOTED.finditer(question) if not _ASKING.search(m.group(1))]


# How the names of bodies end: 「理化学研究所量子コンピュータ研究センター」, 「日本学術振興会」.
_BODY_ENDS = frozenset("研究所 センター 機構 大学 大学院 協会 財団 委員会 学会 研究院 省 庁 本部 事務局 振興会 基金 評議会 理事会".split())


def bodies(question: str) -> list[str]:
    """The names of bodies a question gives in full: runs of three or more nouns (two
    with a proper noun) ending the way such names end. They are tagged as common nouns,
    so `subjects` would miss them."""
    out, run = [], []
    for tok in tokenize(question) + [None]:
        noun = tok is not None and ((tok.pos == "名詞" and tok.pos2 != "数詞") or (tok.pos == "接尾辞" and tok.pos2 == "名詞的"))
        if noun and run and run[-1].end == tok.start:
            run.append(tok)
            continue
        proper = any(t.pos2 == "固有名詞" for t in run)
        if (len(run) >= 3 or (len(run) == 2 and proper)) and (
                run[-1].surface in _BODY_ENDS or run[-2].surface + run[-1].surface in _BODY_ENDS):
            out.append(question[run[0].start: run[-1].end])
        run = [tok] if noun else []
    return out


def subjects(question: str) -> set[str]:
    """What the question is about, by name: proper nouns, Latin names and acronyms,
    quoted names and years ("SATREPS", "韓国", "2026"), squashed. An answer about something else by
    name is not an answer to it (the budget of France for the budget of SATREPS)."""
    out = set(YEAR.findall(normalize(question)))
    out |= {squash(name) for name in quoted(question) + bodies(question)}
    if is_english(question):
        places = {ja for en, ja in ENGLISH_PLACES.items()
                  if re.search(rf"\b{en}\b", question, 0 if en.isupper() else re.I)}  # "US", not "us"
        return out | places | {squash(m) for m in _ACRONYM.findall(question) if m not in ENGLISH_PLACES}
    out |= set(_LATIN.findall(normalize(question)))
    tokens = tokenize(question)
    for i, tok in enumerate(tokens):
        if tok.pos2 == "固有名詞" and len(tok.surface) >= 2:
            start = i  # with the nouns that narrow it down: 東南アジア is not アジア
            while start and tokens[start - 1].pos in ("名詞", "接頭辞") and tokens[start - 1].end == tokens[start].start:
                start -= 1
            out.add(squash(question[tokens[start].start: tok.end]))
    return out


def unseen(question: str, texts: list[str]) -> str:
    """A name the question quotes (「グローバル循環プロトコル」) or a year it names (2028年)
    that none of `texts` (squashed passages) holds, or "": the passages found cannot be
    about it (on JaQuAD, 0.2% of quoted names and 0.5% of years are not in the article)."""
    names = [(name, squash(name)) for name in quoted(question) if not glosses(name)]
    missing = next((shown for shown, key in names if not any(nearly_in(key, t) for t in texts)), "")
    years = [(f"{y}年", y) for y in YEAR.findall(normalize(question))]
    return missing or next((shown for shown, key in years if not any(key in t for t in texts)), "")


def titled(term: str, heading: str) -> bool:
    """Whether a heading is about `term` (squashed) itself, so the line under it
    introduces it: 「Horizon Europeの概要」, 「世界トップレベル研究拠点プログラム(WPI)」;
    not 「SATREPSの研究分野」 (an aspect) nor, for 「PI」, 「…(WPI)」."""
    name = rf"(?:[^()（）]*[(（]{re.escape(term)}[)）]|{re.escape(term)})"
    return bool(re.fullmatch(rf"{name}(?:の?概要|について)?", squash(heading)))  # 「Xとは」 heads a list of facts


# Verbs that build names (「…に関する協力趣意書」, 「混乱の時代における科学外交」)
_NAMING_VERBS = frozenset("関する 於く 向ける 対する 基づく 係る 為る 因る 伴う 巡る".split())


def glosses(quoted_text: str) -> bool:
    """Whether quoted words describe rather than name (「開かれた技術革新」 for オープン
    イノベーション): ordinary words with a verb or adjective of their own, no katakana,
    Latin letters or digits. That the documents lack them says nothing."""
    if re.search(r"[ァ-ヴーA-Za-z0-9０-９Ａ-Ｚａ-ｚ]", quoted_text):
        return False
    return any(t.pos in ("動詞", "形容詞") and t.lemma not in _NAMING_VERBS for t in tokenize(quoted_text))


def nearly_in(name: str, text: str, most: int = 4) -> bool:
    """Whether `text` holds `name`, or a long name with one short word inserted: the
    question quotes 「研究セキュリティと研究インテグリティに関する共通の価値観と原則」 where
    the deck's title has 「…に関するG7共通の価値観と原則」."""
    if name in text:
        return True
    if len(name) < 12:
        return False
    for cut in range(5, len(name) - 4):
        head, tail = name[:cut], name[cut:]
        at = text.find(head)
        while at >= 0:
            gap = text.find(tail, at + cut)
            if 0 < gap - at - cut <= most:
                return True
            at = text.find(head, at + 1)
    return False


_INTRODUCED_ACRONYM = re.compile(r"[（(]\s*([A-ZＡ-Ｚ]{3,})\s*[）)]")  # 「経済協力開発機構（OECD）」


def other_body(names: set[str], text: str) -> bool:
    """Whether `text` is about one body, introduced by its acronym in parentheses, that is
    none of `names` (「…経済協力開発機構（OECD）は…」 for a question about ERIA); a list of
    bodies (「UNCTAD」, 「IEA」, 「ACTO」 …) is about none of them."""
    found = {squash(m) for m in _INTRODUCED_ACRONYM.findall(text)}
    return len(found) == 1 and not found & names


def share_named(names: set[str], text: str) -> float:
    return sum(any(f in text for f in forms(n)) for n in names) / len(names) if names else 1.0


_THIS_DOCUMENT = re.compile(r"(この|本|当)(資料|文書|スライド)\s*[0-9０-９]*\s*[はをのが]"
                            r"|this (\w+ ){0,3}(document|deck|presentation)", re.I)
_TITLE_ASKED = re.compile(r"タイトル|題名|表題|件名|\btitle\b", re.I)
_DOCUMENT_FACTS = re.compile(r"作成|作った|発表|提出|出され|日付|日時|いつ|誰|部署|会議|会合|タイトル|題名|表題|who|when|title", re.I)


def about_document(question: str) -> bool:
    """Whether the question asks about the document itself: who made it, when, for
    which meeting (「この資料を作成した部署は」), not what it says (「この資料によると」)."""
    return bool(_THIS_DOCUMENT.search(question) and _DOCUMENT_FACTS.search(question))


# Nouns a title page answers for: those naming the document and the facts a title page
# holds (lemmas; English words are tagged as nouns too).
_TITLE_PAGE_NOUNS = frozenset(
    "本 当 資料 文書 スライド 作成 者 発表 提出 部署 組織 機関 省庁 担当 会議 会合 物 事 所 方 "
    "著者 作者 発行 出典 日 日付 日時 年月日 タイトル 題名 表題 名称 名前 "
    "document deck presentation slide slides cabinet present presented "
    "made make create created prepare prepared produce produced "
    "author authored publish published issue issued write written wrote office department organization "
    "agency title name who when which meeting date".split()
)


def beyond_title_page(question: str, page_text: str) -> bool:
    """Whether a question about the document asks for something its title page does not
    hold (「この資料の作成者の電話番号は？」): a noun that is neither a word of document
    facts nor found on the page (verbs such as 「何という」 name no attribute)."""
    page = set(terms(page_text, "lemma"))
    for tok in tokenize(normalize(question)):
        lemma = tok.lemma.split("-")[0]
        if (tok.pos == "名詞" and tok.pos2 != "数詞" and lemma not in _QUESTION_WORDS
                and lemma not in _TITLE_PAGE_NOUNS and lemma not in page):
            return True
    return False


_ROW_LABEL = re.compile(r"^\s*【[^】]*】")  # a row's first field name: 【国・地域】韓国


def own_country(names: set[str], title: str) -> bool:
    """False when a slide's title opens with a country (「フランスの科学技術政策…」) that is
    not among `names`, what a question asks about (日本 in 「日本の科学技術予算は？」): the
    slide is another country's, whatever its figures."""
    lead = tokenize(title)[:1]
    return not lead or lead[0].pos4 != "国" or any(f in names for f in forms(squash(lead[0].surface)))


# A question about where a figure comes from (「どの資料に基づいていますか」): source lines may answer.
# 「…の資料を基に作成されていますか」, 「…の資料から引かれていますか」 ask for a source line too
_SOURCE_ASKED = re.compile(r"出典|出所|資料名|どの(資料|データ|調査|文献|統計)|(何|どこ)の(資料|データ|調査|統計)"
                           r"|(基|もと)に作成|資料を(基|もと)に|資料から引|\bsources?\b|\bbasis\b|\bbased on\b", re.I)


_PUBLISHED = re.compile(r"発表|公表|公開|発行|刊行|出した|まとめた")
_PUBLISHER = re.compile(r"([一-龥ァ-ヴーA-Za-z・]{2,20})「")  # 「外務省「…協定の交渉開始」（2024年11月）」
_CITED_TITLE = re.compile(r"「([^「」(（]{6,})")  # 「循環型社会形成推進基本計画 (令和6年8月2日閣議決定)」


def cites_asked(question: str, source: str) -> bool:
    """Whether a (squashed) source line cites what the question asks about: a document
    the question names by its title (「循環型社会形成推進基本計画はいつ閣議決定」), or one by
    the body it asks about the publishing of (「外務省が発表したのはいつ」 and 外務省「…」)."""
    asked = squash(question)
    # a title in Japanese: a Latin one names a programme or a web page (「Horizon Europe」)
    if any(m.group(1) in asked and not m.group(1).isascii() for m in _CITED_TITLE.finditer(source)):
        return True
    return bool(_PUBLISHED.search(question)) and any(m.group(1) in asked for m in _PUBLISHER.finditer(source))


def is_english(question: str) -> bool:
    letters = [ch for ch in question if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) / len(letters) > 0.7


@dataclass(frozen=True)
class Candidate:
    hit: int  # position in the hit list
    chunk_id: str
    piece: int  # index of the piece within its chunk
    text: str
    score: float
    cosine: float
    coverage: float  # share of the question's key terms found in the piece or its context
    fits: bool  # has the kind of content the question asks for
    place: tuple[str, int] = ("", 0)  # document and slide
    on_subject: float = 1.0  # share of the question's subjects named by the row (or the slide); 0 for a wrong year


@dataclass(frozen=True)
class Signals:
    """What the abstention rule looks at; kept for the eval suite's calibration."""

    best_cosine: float  # best piece's cosine to the question
    top_dense: float  # best chunk's cosine to the question
    coverage: float  # key-term coverage of the top passage or the one holding the best piece
    english: bool
    kind_missing: bool  # the question asks for a number or date and no top piece has one
    unknown: float  # share of the question's key terms that occur nowhere in the corpus
    off_subject: bool = False  # the best piece names none of the question's subjects, or not its year
    unseen: str = ""  # a quoted name or year of the question that no passage found holds, or a country no chunk names
    title_page: bool = False  # a question about the document, and the best piece is on its title page


@dataclass(frozen=True)
class Trace:
    answer: Answer
    signals: Signals
    ranking: list[str]  # chunk ids, best answering passage first
    candidates: list[Candidate]
    reads: tuple = ()  # what the reader made of the candidates, most probable first


# Questions that ask for several things, whose parts may sit on different slides.
_SEVERAL = re.compile(r"それぞれ|両方|ともに|共に|各々|[2-9２-９二三四]つ|\bboth\b|\beach\b|respectively", re.I)


def choose(candidates: list[Candidate], max_pieces: int, margin: float, question: str = "") -> list[Candidate]:
    """The best piece, plus runners-up that are nearly as good, or that state the same
    thing with other figures on another slide (the corpus disagrees with itself: show both).
    A runner-up from another slide is quoted only for a question that asks for several
    things (「それぞれ」); otherwise it is about something else (Korea's 3-year plan beside
    a fellowship's 2 years). When the question names the best piece's row (「材料科学」),
    rows it does not name (「化学：…」) are other answers, not second quotes."""
    best = candidates[0]
    chosen = [best]
    several = bool(_SEVERAL.search(question))
    asked = squash(question)
    label = squash(row_label(best.text))
    named_row = bool(label) and label in asked
    for cand in candidates[1:]:
        if len(chosen) >= max_pieces:
            break
        other = squash(row_label(cand.text))
        if named_row and other and other not in asked:
            continue
        close = best.score - cand.score <= margin and (cand.place == best.place or several)
        conflict = cand.place != best.place and best.score - cand.score <= 0.1 and disagree(best.text, cand.text)
        if cand.text != best.text and (close or conflict):
            chosen.append(cand)
    return chosen


def disagree(a: str, b: str) -> bool:
    """Two pieces that say the same thing with different figures."""
    from difflib import SequenceMatcher

    if _DIGITS.findall(a) == _DIGITS.findall(b) or not _DIGITS.search(a):
        return False
    return SequenceMatcher(None, _DIGITS.sub("#", a), _DIGITS.sub("#", b)).ratio() >= 0.8


def abstain(s: Signals, cfg: AnswerSettings) -> bool:
    """The hand-calibrated abstention rule (the reader, when loaded, may still doubt its pick)."""
    if s.title_page:  # similarity and key terms say little there, in English least of all
        return False
    if s.english:  # key terms rarely match the Japanese text, so lean on similarity
        return s.best_cosine < cfg.abstain_cosine_en or (
            s.unknown >= cfg.abstain_unknown_en and s.best_cosine < cfg.abstain_unknown_cosine_en
        )
    return (
        (cfg.abstain_kind_missing and s.kind_missing)
        or (s.coverage < cfg.abstain_coverage and s.best_cosine < cfg.abstain_cosine)
        or (s.unknown >= cfg.abstain_unknown and s.best_cosine < cfg.abstain_unknown_cosine)
        or (cfg.abstain_off_subject and (s.off_subject or bool(s.unseen)))
    )


def heuristic_confidence(s: Signals, cfg: AnswerSettings, abstained: bool) -> float:
    """A rough 0-1 confidence from the similarity margin over the abstention threshold
    (the learned reader replaces it with a calibrated probability)."""
    edge = cfg.abstain_cosine_en if s.english else cfg.abstain_cosine
    p = 1.0 / (1.0 + np.exp(-25.0 * (s.best_cosine - edge)))
    if s.kind_missing and not s.english:
        p = min(p, 0.3)
    return float(1.0 - p if abstained else p)


def _unmarked(answer: Answer) -> Answer:
    """`answer` with no short answer: its first quote shown with nothing in bold."""
    first = answer.quotes[0]
    return replace(answer, short_answer=None, quotes=(replace(first, span=None),) + answer.quotes[1:])


def _short(quotes: tuple[Quote, ...]) -> str | None:
    """The first quote's short answer, if it has one."""
    span = quotes[0].span if quotes else None
    return quotes[0].text[span[0]: span[1]] if span else None


@dataclass(frozen=True)
class Read:
    """A candidate as the reader saw it."""

    cand: Candidate
    logit: float  # the reader's answerability logit
    probability: float  # calibrated: that this piece answers the question
    span: tuple[int, int] | None
    span_score: float = 0.0  # the reader's score for that span (qa.reader.Reading.span_score)

    def choice(self, cfg: AnswerSettings) -> float:
        """How the pieces are ranked: retrieval-side score plus the reader's say."""
        return self.cand.score + cfg.reader_weight * self.logit


# What the calibrated probability is computed from: the reader's logit for the piece,
# the piece's retrieval-side score, and the rule's signals for the question.
FEATURES = ("logit", "score", "coverage", "kind_missing", "unknown", "english")


def features(logit: float, score: float, s: Signals) -> list[float]:
    return [logit, score, s.coverage, float(s.kind_missing), s.unknown, float(s.english)]


def calibrated(x: list[float], cfg: AnswerSettings) -> float:
    z = float(np.dot(cfg.reader_coefs, x)) + cfg.reader_shift
    return float(1.0 / (1.0 + np.exp(-z)))


def choose_read(reads: list[Read], cfg: AnswerSettings) -> list[Read]:
    """The most probable answer, plus one from another slide only when it is about as
    probable and states other figures for the same thing (the corpus disagrees)."""
    best = reads[0]
    for r in reads[1:]:
        if (r.probability >= cfg.reader_second and r.cand.place != best.cand.place
                and r.cand.text != best.cand.text and disagree(best.cand.text, r.cand.text)):
            return [best, r]
    return [best]


def second_answers(first: Read, second: Read, cfg: AnswerSettings) -> bool:
    """Whether the rule's second quote answers too: probable enough, and either close to
    the first in the reader's logit or stating other figures for the same thing."""
    if second.probability < cfg.reader_second:
        return False
    return first.logit - second.logit <= cfg.reader_second_gap or disagree(first.cand.text, second.cand.text)


class Answerer:
    def __init__(self, retriever: Retriever, config: Config | None = None, reader=None):
        self.retriever = retriever
        self.config = config or retriever.config
        self.store = retriever.store
        self.reader = reader  # qa.reader.Reader, or None for the hand-calibrated rule

    def ask(self, question: str, mode: str = "hybrid", docs=None) -> Answer:
        """An answer quoted from the corpus (or from the documents `docs`), or an abstention."""
        return self.trace(question, mode, docs).answer

    def trace(self, question: str, mode: str = "hybrid", docs=None, role: str | None = None) -> Trace:
        """The answer, the signals behind the abstention decision, and the passages
        ranked by how well their best piece answers (used by the eval suite). `role`:
        what the reader decides ("span", "answer", or "off" for the rule alone); the
        configured `reader_role` when None. A short answer that is not the kind of thing
        asked for is settled by qa.kinds.settle_type; one the reader scored too low, or
        one that only repeats the question (qa.spans.echoes) or answers a yes-or-no
        question (the quote does: 「…交渉を開始」), is dropped. A question comparing two
        named subjects is answered per subject and the answers merged (qa.compare)."""
        query = prepare_query(question, self.config.retrieval.max_query_chars)
        pair = split_pair(query, subjects)
        parts = [self._one(q, q, mode, docs, role) for q in pair.questions] if pair else []  # made of the tidied query
        if all(t.answer.abstained for t in parts):  # also when not split
            return self._one(question, query, mode, docs, role)
        both = zip_longest(parts[0].ranking, parts[1].ranking)  # interleaved, for the eval's ranking metrics
        ranking = list(dict.fromkeys(x for two in both for x in two if x is not None))
        first = next(t for t in parts if not t.answer.abstained)
        return replace(first, answer=merge(question, pair, [t.answer for t in parts]), ranking=ranking,
                       candidates=parts[0].candidates + parts[1].candidates)

    def _one(self, question: str, query: str, mode: str, docs, role: str | None) -> Trace:
        found = self._trace(question, query, mode, docs, role)
        settled = settle_type(query, found.answer)
        if settled is found.answer:
            settled = self._without_guess(found)
        if not settled.abstained and settled.short_answer and (echoes(query, settled.short_answer) or asks_yes_no(query)):
            settled = _unmarked(settled)
        return found if settled is found.answer else replace(found, answer=settled)

    def _without_guess(self, found: Trace) -> Answer:
        """The answer without its short answer when that is the reader's own span and
        the reader scored it below `min_span_score`: the quote is shown with nothing in
        bold rather than a guess (after the type check, which a guess still informs)."""
        answer = found.answer
        if answer.abstained or not answer.short_answer or not found.reads:
            return answer
        first = answer.quotes[0]
        read = next((r for r in found.reads if r.cand.text == first.text), None)
        if read is None or read.span_score >= self.config.answer.min_span_score or first.span != read.span:
            return answer
        return _unmarked(answer)

    def _trace(self, question: str, query: str, mode: str, docs, role: str | None) -> Trace:
        cfg = self.config.answer
        r = self.retriever
        qvec = r.embed_query(query)
        hits = r.hits(query, cfg.answer_passages, mode, qvec=qvec, docs=docs)
        titles: set[str] = set()
        if hits and about_document(query):
            hits, titles = self._with_title_pages(hits, qvec)
        keys = set(key_terms(query, self.config.index.bm25_form))
        texts = [squash(self.store.chunk(h.chunk_id).embed_text) for h in hits]
        candidates = self._candidates(query, keys, hits, texts, titles)
        signals = self._signals(query, keys, hits, texts, candidates, titles)
        best_of: dict[int, float] = {}
        for cand in candidates:
            best_of.setdefault(cand.hit, cand.score)
        ranking = [hits[i].chunk_id for i in sorted(range(len(hits)), key=lambda i: (-best_of.get(i, -9.0), i))]
        role = (role or cfg.reader_role) if self.reader is not None else "off"
        if role == "answer" and candidates:
            return self._read(question, query, hits, candidates, signals)
        abstained = not candidates or abstain(signals, cfg)
        chosen = [] if abstained else extreme(query, choose(candidates, cfg.max_answer_pieces, cfg.second_margin, query),
                                               candidates)
        reads = []
        if role == "span" and candidates:
            reads = self._by_sentence(query, self._spans(query, chosen or candidates[:1], signals))
        if reads:
            p = reads[0].probability
            ruled = signals.title_page  # the reader's features say little on a title page (see abstain)
            if not abstained and not ruled and p < cfg.reader_threshold:  # the reader doubts the rule's pick
                abstained, chosen = True, []
            elif len(reads) > 1 and not ruled and not second_answers(reads[0], reads[1], cfg):
                chosen, reads = chosen[:1], reads[:1]
            confidence = 1.0 - p if abstained else p
        else:
            confidence = heuristic_confidence(signals, cfg, abstained)
        if abstained:
            related = tuple(r.passage(h, rank) for rank, h in enumerate(hits[: cfg.related], start=1))
            notice = ""
            if signals.unseen:  # as sure as of a type clash, whatever the reader made of the best piece
                notice, confidence = f"資料に「{signals.unseen}」の記載は見つかりませんでした", max(confidence, CLASH_CONFIDENCE)
            answer = Answer(question, True, (), related, confidence=confidence, notice=notice)
            return Trace(answer, signals, ranking, candidates, tuple(reads))
        picks = list(zip(chosen, [r.span for r in reads] or [None] * len(chosen)))
        if (len(reads) > 1 and reads[1].cand.place == reads[0].cand.place
                and reads[1].logit > reads[0].logit + cfg.reader_first_gap):
            picks.reverse()  # two pieces of one slide: the one the reader reads as the answer first
        citations, quotes = self.cite(query, hits, picks)
        answer = Answer(question, False, quotes, citations, short_answer=_short(quotes), confidence=confidence)
        return Trace(answer, signals, ranking, candidates, tuple(reads))

    def _spans(self, query: str, pieces: list[Candidate], signals) -> list[Read]:
        """The reader on the pieces the rule chose: their short answers and the
        calibrated probability that the first one answers."""
        cfg = self.config.answer
        contexts = [self.store.chunk(c.chunk_id).context for c in pieces]
        readings = self.reader.read(query, list(zip(contexts, [c.text for c in pieces])))
        return [Read(c, r.score, calibrated(features(r.score, c.score, signals), cfg), r.span, r.span_score)
                for c, r in zip(pieces, readings)]

    def _by_sentence(self, query: str, reads: list[Read]) -> list[Read]:
        """`reads` with the short answer of a long piece of several sentences found by
        reading them one at a time, as JaQuAD paragraphs are read (qa.reader.sentence_span)."""
        from .reader import sentence_span  # torch is loaded once there is a reader

        out = []
        for r in reads:
            found = sentence_span(self.reader, query, self.store.chunk(r.cand.chunk_id).context, r.cand.text)
            out.append(replace(r, span=found.span, span_score=found.span_score) if found else r)
        return out

    def _read(self, question: str, query: str, hits: list[Hit], candidates: list[Candidate], signals) -> Trace:
        """The reader's answer: the most probable piece with its short span, or an
        abstention when even that is below the calibrated threshold."""
        cfg = self.config.answer
        reads = sorted(self._spans(query, candidates[: cfg.reader_pieces], signals), key=lambda r: -r.choice(cfg))
        best = reads[0]
        ranking = list(dict.fromkeys([r.cand.chunk_id for r in reads] + [h.chunk_id for h in hits]))
        if best.probability < cfg.reader_answer_threshold:
            related = tuple(self.retriever.passage(h, rank) for rank, h in enumerate(hits[: cfg.related], start=1))
            answer = Answer(question, True, (), related, confidence=1.0 - best.probability)
            return Trace(answer, signals, ranking, candidates, tuple(reads))
        chosen = self._by_sentence(query, choose_read(reads, cfg))
        reads[0] = chosen[0]  # as read for its short answer
        citations, quotes = self.cite(query, hits, [(r.cand, r.span) for r in chosen])
        answer = Answer(question, False, quotes, citations, short_answer=_short(quotes), confidence=best.probability)
        return Trace(answer, signals, ranking, candidates, tuple(reads))

    def cite(self, query: str, hits: list[Hit], picks) -> tuple[tuple[Passage, ...], tuple[Quote, ...]]:
        """Citations and quotes for picks of (candidate, the reader's short-answer span or
        None); qa.spans.short_span settles the span in each quote."""
        citations: list[Passage] = []
        cited: dict[str, int] = {}
        quotes = []
        for cand, span in picks:
            if cand.chunk_id not in cited:
                citations.append(self.retriever.passage(hits[cand.hit], len(citations) + 1))
                cited[cand.chunk_id] = len(citations)
            chunk = self.store.chunk(cand.chunk_id)
            piece = chunk.pieces[cand.piece]
            row = row_label(piece.text) if piece.kind == "row" else ""
            label = f"{chunk.title} / {row}" if row else chunk.title
            span = short_span(query, piece.text, span)
            quotes.append(Quote(piece.text, cited[cand.chunk_id], span, label))
        return tuple(citations), tuple(quotes)

    # -- scoring -----------------------------------------------------------------

    def _with_title_pages(self, hits: list[Hit], qvec) -> tuple[list[Hit], set[str]]:
        """The hits plus the first pages of the documents they come from: 「この資料を
        作成した部署」 is answered by the title page, which rarely ranks by itself."""
        docs = dict.fromkeys(self.store.chunk(h.chunk_id).doc_id for h in hits)
        titles = {c.id for d in docs for c in self.store.first_page(d)}
        extra = sorted(titles - {h.chunk_id for h in hits})
        scores = self.store.piece_scores(qvec, extra) if extra else {}
        return hits + [Hit(i, 0.0, 0.0, 0.0, scores[i]) for i in extra], titles

    def _candidates(self, query: str, keys: set[str], hits: list[Hit], texts: list[str],
                    titles: set[str] = frozenset()) -> list[Candidate]:
        """Every piece of the hits that may answer, best first; `texts` are the hits' squashed texts."""
        kind = question_kind(query)
        wants_source = bool(_SOURCE_ASKED.search(query))
        wants_title = bool(titles) and bool(_TITLE_ASKED.search(query))
        quoted_names = [squash(n) for n in quoted(query)]
        term = squash(defined(query))
        cfg, form = self.config.answer, self.config.index.bm25_form
        chunks = [self.store.chunk(hit.chunk_id) for hit in hits]
        top = max((hit.score for hit in hits), default=0.0) or 1.0  # BM25 alone scores on no fixed scale
        named, background, years = self._subjects(query, texts)
        wanted = asked_words(query)
        home = {n for n in background if is_country(n)}  # the documents' own country, asked about
        asked = named | background
        out = []
        for h_pos, (hit, chunk, text) in enumerate(zip(hits, chunks, texts)):
            context_terms = set(terms(chunk.context, form))
            context = squash(chunk.context)
            # a slide about 2024 does not answer for 2026, nor one about France for Japan
            right_year = all(y in text for y in years) and (not home or own_country(asked, chunk.title))
            row_names = named | {n for n in background if any(f in text for f in forms(n))}
            for p_pos, piece in enumerate(chunk.pieces):
                fitting = fits(kind, piece.text)
                expands = expansion_span(query, piece.text) is not None
                entitles = wants_title and piece.kind == "heading" and hit.chunk_id in titles
                introduces = bool(term) and piece.kind == "text" and p_pos > 0 and (
                    chunk.pieces[p_pos - 1].kind == "heading" and titled(term, chunk.pieces[p_pos - 1].text))
                # headings answer only when they hold the number or date asked for, spell out a
                # name, or title the document asked about
                if (piece.kind == "heading" and len(chunk.pieces) > 1 and not (fitting and kind in STRICT_KINDS)
                        and not expands and not entitles):
                    continue
                flat = squash(piece.text)
                if piece.kind == "source" and not (wants_source or any(nearly_in(n, flat) for n in quoted_names)
                                                   or cites_asked(query, flat)):
                    continue  # a source line answers when asked for, or about what it cites
                if _PAGE_LABEL.match(piece.text) or (len(flat) <= 3 and len(chunk.pieces) > 1):
                    continue  # 「資料 1」 labels the page, 「日本」 a figure's axis; they answer nothing
                cosine = float(hit.pieces[p_pos])
                found = set(terms(piece.text, form)) | context_terms
                coverage = len(keys & found) / len(keys) if keys else 0.0
                # the asked part's words in the line itself, not in the headings all lines share
                asked_share = len(wanted & content_words(piece.text)) / len(wanted) if wanted else 0.0
                # A table row is about its own subject; other pieces share their slide's.
                if not right_year:
                    on_subject = 0.0
                elif piece.kind == "row":  # nor a row about the UK in a table of countries
                    on_subject = share_named(row_names, context + squash(piece.text)) * (
                        not home or own_country(asked, _ROW_LABEL.sub("", piece.text)))
                else:
                    on_subject = share_named(named, text)
                    if on_subject and named and not share_named(named, flat) and other_body(named, piece.text):
                        on_subject = 0.0  # the line is about another body of the slide (OECD beside ERIA)
                score = (
                    cosine
                    + cfg.w_coverage * coverage
                    + cfg.w_asked * asked_share
                    + cfg.w_kind * (fitting and counts_as_asked(query, piece.text))
                    + cfg.w_passage * hit.score / top
                    - cfg.w_subject * (1.0 - on_subject)
                    + cfg.w_title * (hit.chunk_id in titles)
                    + cfg.w_kind * (piece.kind == "source" and wants_source)
                    + cfg.w_kind * (expands or bool(term and term in flat))  # spells out or names what is defined
                    + 2 * cfg.w_kind * introduces  # outranks a line that only mentions it
                    + cfg.w_kind * entitles
                )
                out.append(Candidate(h_pos, hit.chunk_id, p_pos, piece.text, score, cosine, coverage, fitting,
                                     (chunk.doc_id, chunk.slide), on_subject))
        out.sort(key=lambda c: -c.score)
        return out

    def _subjects(self, query: str, texts: list[str]) -> tuple[set[str], set[str], set[str]]:
        """The question's named subjects, its background names and its years. Subjects
        the corpus never names are left to Signals.unknown. A body named in full that the
        corpus names somewhere (「科学技術振興機構の理事長」) is a subject even when the passages
        found lack it: they are about another body. Names found all over it
        (日本 in a Japanese policy deck) are background, which counts only in a table
        that has a row for them: there they tell the rows apart (【国・地域】日本 vs 英国)."""
        names = subjects(query)
        freq = self._freq(names)
        full = {squash(b) for b in bodies(query) if self._in_corpus(b)}  # also when the passages found lack it
        names = {n for n in names if freq[n] or n in full or any(f in t for f in forms(n) for t in texts)}
        years = {n for n in names if n.isdigit()}
        named = {n for n in names - years if freq[n] <= self.config.answer.subject_max_share * len(self.store)}
        return named, names - years - named, years

    def _in_corpus(self, name: str) -> bool:
        """Whether some chunk holds `name` as written (looked for among the chunks BM25 finds for its words)."""
        key = squash(name)
        found = self.store.lexical_search(terms(name, self.config.index.bm25_form), 20)
        return any(key in squash(self.store.chunk(i).embed_text) for i in found)

    def _signals(self, query: str, keys: set[str], hits: list[Hit], texts: list[str], candidates: list[Candidate],
                 titles: set[str] = frozenset()) -> Signals:
        coverage = 0.0
        form = self.config.index.bm25_form
        on_title = bool(candidates) and candidates[0].chunk_id in titles
        beyond = on_title and beyond_title_page(query, self.store.chunk(candidates[0].chunk_id).embed_text)
        title_page = on_title and not beyond
        if title_page:
            coverage = 1.0  # the document's own title page answers a question about the document
        elif hits and keys:  # in the top passage or in the one holding the best piece
            for chunk_id in {hits[0].chunk_id, *(c.chunk_id for c in candidates[:1])}:
                found = set(terms(self.store.chunk(chunk_id).embed_text, form))
                coverage = max(coverage, len(keys & found) / len(keys))
        kind = question_kind(query)
        top = candidates[: self.config.answer.kind_window]
        known = {k for k, n in self.store.doc_freq(keys).items() if n}
        return Signals(
            kind_missing=kind in STRICT_KINDS and not any(c.fits for c in top),
            unknown=sum(k not in known for k in keys) / len(keys) if keys else 0.0,
            best_cosine=max((c.cosine for c in candidates), default=0.0),
            top_dense=max((h.dense for h in hits), default=0.0),
            coverage=coverage,
            english=is_english(query),
            off_subject=beyond or (bool(candidates) and candidates[0].on_subject == 0.0),
            title_page=title_page,
            unseen=unseen(query, texts) or self._absent_country(query),
        )

    def _freq(self, names) -> dict[str, int]:
        """How many chunks name each of `names` (squashed), in its commonest form (米国 or アメリカ)."""
        counts = self.store.doc_freq({f for n in names for f in forms(n)})
        return {n: max(counts[f] for f in forms(n)) for n in names}

    def _absent_country(self, query: str) -> str:
        """A country the question names that no chunk names in any of its forms (韓国 in
        documents that never mention Korea), or "": nothing found can be about it."""
        countries = {squash(t.surface): t.surface for t in tokenize(query) if t.pos4 == "国"}
        freq = self._freq(countries)
        return next((shown for key, shown in countries.items() if not freq[key]), "")
