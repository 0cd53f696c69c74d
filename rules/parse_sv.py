"""Swedish activity sentence → :class:`~rules.model.Rule`.

The parser reads a sentence the way a coordinator does, in passes over a
*folded* copy of the text (lower case, no diacritics; see ``sv_lexicon.fold``):

1. **Clean**: strip markdown, bullets and odd spacing; lift a trailing responsible
   marker ("/ **Polisen**", "(Kommunen och polisen)").
2. **Dates**: windows ("under perioden mars 2022 – maj 2022", "under 2019",
   "under hösten 2025", "vecka 44", "från 1 oktober 2025 till och med februari 2026",
   "två (2) år framåt från det att de tecknas") and deadlines ("senast i november 2019",
   "i oktober", "fram till och med den 15 december"). A missing year means the next
   occurrence on or after ``today``.
3. **Noise**: numbers that are not counts are blanked out: years, dates, "årskurs 8",
   "kl. 21–01", "väg 225", "två (2) år", "varav ..." sub-quotas.
4. **Period**: "per termin", "i månaden", "om året", "/vecka", "varannan vecka",
   "var tredje månad", "årligen", "kvartalsvis", "varje år".
5. **Per entity**: "per termin och högstadieskola", "per skola och termin",
   "på varje högstadieskola", "på respektive tätort", "på kommunens två högstadieskolor".
6. **Count**: "minst 3", "högst två", "2-3", "två till tre", "minst en och högst två",
   "cirka 5", "1 200 timmar", "tre–fyra dagar", "vid åtta tillfällen"; a frequency
   word without a number ("årligen") means once.
7. **Kind**: conditional ("vid behov", "om läget medger"), event ("i samband med",
   "vid varje föräldramöte", "inför sommarlovet"), vague ("regelbundet", "ett antal"),
   else quota when something is counted, else untimed.
8. **Responsible**: the trailing marker, else the subject: a list of parties at the start
   ("Polisen och Hagfors kommun lovar att") or right after the finite verb of a
   sentence that opens with an adverbial ("Under 2025 genomför kommunen ...").

Recognised spans are replaced by spaces of the same length, so later passes do
not read a date's digits as a count and positions keep pointing into the text.
``parse_sv`` never raises: any text gives a Rule, and a text that is not
understood gives kind ``untimed`` with no quota.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress

from rules.model import Kind, Measure, Period, Quota, Rule, Unit, Window, new_period, new_quota, new_rule
from rules.sv_lexicon import (
    ENTITY_HEADS,
    FREQ_ADVERBS,
    MONTHS,
    NUMBER_WORDS,
    NUMWORD_RE,
    ORDINALS,
    UNIT_BY_WORD,
    WEEKDAYS,
    WordMemo,
    fold,
    lemma_plural,
    lemma_singular,
    number_value,
)
from rules.typos import correct_typos

__all__ = ["BATCH", "MAX_TEXT", "parse_many", "parse_sv"]

#: longer input is not one activity sentence: it is reported as untimed, unread.
MAX_TEXT = 4000

_SP = r"[ ]+"
_NUM = rf"(?:\d{{1,3}}(?: \d{{3}})+(?!\d)|\d+|{NUMWORD_RE})"
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_FULL_MONTH = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
_YEAR = r"(?:19|20)\d{2}"


def _w(pattern: str) -> str:
    """Wrap a pattern so it only matches whole words."""
    return rf"(?<![\w]){pattern}(?![\w])"


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class _Gated:
    """A compiled pattern behind a cheap substring test: most sentences skip most patterns.

    ``hints`` must be substrings that every match contains (one of them), so the
    test never changes what the pattern finds, only how fast a miss is.
    """

    __slots__ = ("hints", "rx", "rx_ascii")

    def __init__(self, pattern: str, hints: tuple[str, ...]) -> None:
        self.rx = re.compile(pattern)
        self.rx_ascii = _ascii_twin(self.rx)
        self.hints = hints

    def _may(self, s: str) -> bool:
        if not self.hints:
            return True
        for hint in self.hints:  # noqa: SIM110 - a plain loop is cheaper than any() over a generator here
            if hint in s:
                return True
        return False

    def search(self, s: str) -> re.Match[str] | None:
        for hint in self.hints:  # `_may`, inline: this runs some twenty times a sentence
            if hint in s:
                break
        else:
            if self.hints:
                return None
        return (self.rx_ascii if s.isascii() else self.rx).search(s)

    def finditer(self, s: str) -> Iterator[re.Match[str]]:
        return (self.rx_ascii if s.isascii() else self.rx).finditer(s) if self._may(s) else iter(())


class _PieceGate:
    """Whether some piece (`_pieces`) of a text holds one of `hints` (letters only).

    A hint of letters that a text holds lies in one run of word characters, so in one piece;
    and in one piece of every text it was blanked from (blanking only writes spaces): the
    pieces of the first text (`_Work.pieces`) serve for the later ones. The pieces seen that
    hold no hint are kept (a per-word memo of the words that say no; it starts over at 4096),
    so a text of known words is told by one C-level ``issuperset`` (the pieces' hashes are
    cached: `_index` looked them up), where a substring scan of the whole text per hint costs
    several times that.
    """

    __slots__ = ("clean", "hints")

    def __init__(self, hints: tuple[str, ...]) -> None:
        if not all(h.isalpha() for h in hints):
            raise ValueError(f"_PieceGate: a hint that is not letters in {hints}")
        self.hints = hints
        self.clean: set[str] = set()

    def held(self, pieces: list[str]) -> bool:
        clean = self.clean
        if clean.issuperset(pieces):
            return False
        for piece in pieces:
            if piece not in clean:
                if _contains_any(piece, self.hints):
                    return True
                if len(clean) >= 4096:
                    clean.clear()
                clean.add(piece)
        return False


#: for each `_Anchored` pattern (by its ``slot``) that may start somewhere, the positions where
#: it may, ascending (a pattern that may start nowhere has no entry)
_Index = dict[int, list[int]]
#: every `_Anchored` pattern, in the order they are defined
_ANCHORED: list[_Anchored] = []
#: the slot of each kind of start (words, numerals, prefixes, words after) some `_Anchored` pattern has
_SLOT_OF_STARTS: dict[
    tuple[frozenset[str], bool, tuple[str, ...], tuple[tuple[str, tuple[frozenset[str], tuple[str, ...]]], ...]], int
] = {}
#: the words some `_Anchored` pattern starts at only before certain tokens (its ``after``)
_AFTER_WORDS: set[str] = set()
#: every word some `_Anchored` pattern starts with (each adds its own), and word prefixes
_ANCHOR_WORDS: set[str] = set()
_ANCHOR_PREFIXES: list[str] = []


def _index(s: str, pieces: list[str] | None = None) -> _Index:
    """Where in `s` each `_Anchored` pattern may start: at the tokens (where no word character
    comes before) that are one of its words, begin with one of its prefixes or with a digit,
    or are "/".

    A token other than "/" is a whole run of word characters, so in ASCII text (nearly every
    sentence once folded) the runs are the pieces between the spaces of a copy of `s` whose
    other characters are spaces (`_GAPS`: one C-level translation and split); a piece's
    position is the sum of the lengths before it. Each token is filed under the patterns that
    may start with it (`_slots`); an en dash is a gap (`_pieces_of`). Other text is scanned by `_lead` (`_LEAD_TOKEN`, compiled
    below the patterns).
    Blanking nearly always replaces whole words (a blanked span starts and ends at a word
    boundary), so the index of the first `s` holds for every later `s`, less the blanked
    words: one scan serves all passes. ``_Work.blank`` indexes again when a span did split
    a word.
    """
    index: _Index = {}
    if pieces is None:
        pieces = _pieces_of(s)
    if pieces is None:
        # a space in front lets the scan find a token at the very start too: in " " + s, the
        # non-word character before a token is at the token's position in `s`
        for m in _lead().finditer(" " + s):
            pos = m.start()
            for slot in _SLOTS[m.group(1)]:
                index.setdefault(slot, []).append(pos)
        return index
    slots_of = _PIECE_SLOTS
    pos = 0
    # (an empty piece has no slots, and takes one gap character: the same steps as a word)
    for j, piece in enumerate(pieces):
        slots = slots_of[piece]
        if slots:
            if slots is _DEPENDS:  # a word some pattern starts at only before certain tokens
                following = pieces[j + 1] if j + 1 < len(pieces) else ""
                slots = _SLOTS_BEFORE[piece + " " + following]
            for slot in slots:
                if slot in index:
                    index[slot].append(pos)
                else:
                    index[slot] = [pos]
        pos += len(piece) + 1
    if "/" in s:  # "/" is a token where no word character comes before it
        slash = _SLOTS["/"]
        pos = s.find("/")
        while pos >= 0:
            if pos == 0 or not _is_word_char(s[pos - 1]):
                for slot in slash:
                    index.setdefault(slot, []).append(pos)
            pos = s.find("/", pos + 1)
        for slot in slash:
            if slot in index:
                index[slot].sort()
    return index


def _pieces(s: str) -> list[str]:
    """The runs of word characters of ASCII text `s` and the empty strings between two
    characters that are not word characters, in order: ``s.split(" ")`` once every character
    that is not a word character is a space."""
    return s.encode().translate(_GAPS).decode().split(" ")


def _pieces_of(s: str) -> list[str] | None:
    """`_pieces` of `s` when every character of it beyond ASCII is an en dash, else None.

    An en dash (the one dash `_clean` keeps) is no word character: it is a gap, as a space is,
    and one character wide, as a space is. Dated text has one ("mars 2022 – maj 2022").
    """
    if not s.isascii():
        if "–" not in s:
            return None
        s = s.replace("–", " ")
        if not s.isascii():
            return None
    return _pieces(s)


#: `bytes.translate` table: every byte that is not an ASCII word character (``\w``) to a space
#: (one C loop over the bytes; ``str.translate`` looks each character up in a dict)
_GAPS = bytes(c if c < 128 and (chr(c).isalnum() or chr(c) == "_") else 32 for c in range(256))


def _slots(word: str) -> tuple[int, ...]:
    """The slots of the `_Anchored` patterns that may start at the token `word` (none at "")."""
    return tuple(dict.fromkeys(rx.slot for rx in _ANCHORED if rx.may_start(word)))


def _piece_slots(word: str) -> tuple[int, ...]:
    """`_slots` of a piece, or `_DEPENDS` when the piece is a word of some pattern's ``after``: its
    slots then depend on the next piece (`_slots_before`)."""
    return _DEPENDS if word in _AFTER_WORDS else _slots(word)


#: `_piece_slots` of a word whose slots depend on the next piece (not empty, known by its identity)
_DEPENDS = (-1,)


def _slots_before(pair: str) -> tuple[int, ...]:
    """The slots of the patterns that may start at the token `word` when the token `following`
    comes after one gap character (`pair` is "word following": tokens hold no space)."""
    word, following = pair.split(" ")
    return tuple(dict.fromkeys(rx.slot for rx in _ANCHORED if rx.may_start(word) and rx.may_follow(word, following)))


#: `_slots` of each token seen; `_piece_slots` of each piece; `_slots_before` of each pair
_SLOTS = WordMemo(_slots, 4096)
_PIECE_SLOTS = WordMemo(_piece_slots, 4096)
_SLOTS_BEFORE = WordMemo(_slots_before, 4096)


def _ascii_twin(rx: re.Pattern[str]) -> re.Pattern[str]:
    """`rx` compiled with ``re.ASCII``: in a text of ASCII characters only it finds exactly what
    `rx` finds (``\\w``, ``\\d``, ``\\s`` and ``\\b`` agree on ASCII characters once control
    characters are cleaned away), without a Unicode look-up per character."""
    return re.compile(rx.pattern, (rx.flags & ~re.UNICODE) | re.ASCII)


def _trie(words: Iterable[str]) -> str:
    """A regex alternation of `words` as a prefix tree: ``re`` follows one branch per letter
    instead of trying every word."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(tree)


class _Anchored:
    """A whole-word pattern tried only where a word it can start with occurs.

    A pattern that starts with a look-behind gives ``re`` nothing to skip ahead with, so a
    scan costs a match attempt at every character. These patterns instead try ``match``
    at the tokens whose word is in ``starts``, begins with one of ``prefixes``, or (when
    ``numerals``) begins with a digit. Those must cover every word a match can begin
    with; then ``finditer`` yields what ``re.finditer`` would, in the same order.

    A start that has been blanked since the text was indexed is a space now: a pattern whose
    matches never begin with a space skips it without a match attempt (``spaced`` marks a
    pattern that may begin with one).

    ``after`` narrows common start words: a match that begins at the word ``w`` (a whole token)
    has after it one gap character (a space, or ``[ ]?`` before a word) and then a whole token
    that is one of ``after[w][0]`` or begins with one of ``after[w][1]``. The index (`_index`)
    then files ``w`` for this pattern only where the next piece is such a token: "i" is filed
    for "i samband med", not for "i arbetet". This holds for later, blanked texts too: blanking
    keeps lengths and only makes spaces, so the one gap character and the token after it were
    there, the same, when the text was indexed (a blank that splits a word indexes anew).
    """

    __slots__ = ("after", "numerals", "prefixes", "rx", "rx_ascii", "slot", "spaced", "starts")

    def __init__(
        self,
        pattern: str,
        starts: Iterable[str],
        *,
        numerals: bool = False,
        prefixes: tuple[str, ...] = (),
        spaced: bool = False,
        after: dict[str, tuple[frozenset[str], tuple[str, ...]]] | None = None,
    ) -> None:
        self.rx = re.compile(pattern)
        self.rx_ascii = _ascii_twin(self.rx)
        self.starts = frozenset(starts)
        self.numerals = numerals
        self.prefixes = prefixes
        self.spaced = spaced
        self.after = after or {}
        # patterns that may start at the same tokens share a slot (its positions are only read):
        # a number is filed once for the seven noise patterns that start at numbers, not seven times
        key = (self.starts, numerals, prefixes, tuple(sorted(self.after.items())))
        self.slot = _SLOT_OF_STARTS.setdefault(key, len(_SLOT_OF_STARTS))
        _ANCHORED.append(self)
        _ANCHOR_WORDS.update(self.starts)
        _ANCHOR_PREFIXES.extend(prefixes)
        _AFTER_WORDS.update(self.after)

    def may_start(self, word: str) -> bool:
        return word in self.starts or (self.numerals and word[:1].isdecimal()) or word.startswith(self.prefixes)

    def may_follow(self, word: str, following: str) -> bool:
        """False when no match that begins at the token `word` has the token `following` after
        one gap character (`after`); `following` is "" when more gap characters come, or none."""
        words, prefixes = self.after.get(word, (None, ()))
        return words is None or following in words or following.startswith(prefixes)

    def finditer(self, s: str, index: _Index) -> list[re.Match[str]]:
        """The matches ``re.finditer`` would give, in order (`index` is `_index` of `s`)."""
        starts = index.get(self.slot)
        if starts is None:  # the common case: none of its words in the text
            return []
        match = (self.rx_ascii if s.isascii() else self.rx).match
        found = []
        end = 0
        space = "" if self.spaced else " "
        for pos in starts:
            if pos >= end and s[pos] != space:
                m = match(s, pos)
                if m is not None:
                    end = m.end()
                    found.append(m)
        return found

    def search(self, s: str, index: _Index) -> re.Match[str] | None:
        starts = index.get(self.slot)
        if starts is None:
            return None
        match = (self.rx_ascii if s.isascii() else self.rx).match
        space = "" if self.spaced else " "
        for pos in starts:
            if s[pos] != space:
                m = match(s, pos)
                if m is not None:
                    return m
        return None


_FIRST_TOKEN = _c(r"\w+|/")


def _first_words(alternation: str) -> set[str]:
    """The first token of each branch of a flat alternation: "per|resp\\.|var och en av" → per, resp, var."""
    return {_FIRST_TOKEN.match(branch).group() for branch in alternation.split("|")}  # type: ignore[union-attr]


def _glued(first: str, second: Iterable[str]) -> set[str]:
    """Words where `second` follows a word of `first` with no space (a pattern's ``[ ]?``)."""
    return {a + _FIRST_TOKEN.match(b).group() for a in _first_words(first) - {"/"} for b in second}  # type: ignore[union-attr]


def _g(pattern: str, *hints: str) -> _Gated:
    """A gated pattern; its hints are set beside the table of patterns it belongs to."""
    return _Gated(pattern, hints)


_DIGIT = _c(r"\d")


def _has_digit(s: str) -> bool:
    """``_DIGIT.search(s)``; in ASCII text a digit is 0-9: the bytes lose some when 0-9 are deleted."""
    if s.isascii():
        return len(s.encode().translate(None, b"0123456789")) != len(s)
    return _DIGIT.search(s) is not None


def _contains_any(s: str, parts: tuple[str, ...]) -> bool:
    for part in parts:  # noqa: SIM110 - a plain loop is cheaper than any() over a generator here
        if part in s:
            return True
    return False


# --- state ---------------------------------------------------------------------------------


class _Work:
    """One sentence on its way through the passes (`_parse_batch`): what each pass read so far.

    Every pass runs for every sentence, in `_parse_batch`'s order, and sets what it reads before a
    later pass reads it: the constructor sets only what a pass may leave as it was.
    """

    __slots__ = (
        "average", "count", "dated", "deadline", "digits", "f", "full_month", "i", "lov", "marked", "marked_starts", "original",
        "per", "period_hit", "pieces", "responsible", "s", "signing_start", "starts", "text", "today", "window",
    )  # fmt: skip

    original: str  # cleaned text (markdown stripped, whitespace folded), same length as `f`
    responsible: list[str]  # the trailing marker's parties, else the subject's
    f: str  # folded, for names
    s: str  # folded and typo-corrected; recognised spans get blanked
    pieces: list[str] | None  # `_pieces_of` the first `s` (None: beyond ASCII); `_is_vague` reads it for `marked`
    starts: _Index  # where `_Anchored` patterns may start, see `_index`
    digits: bool  # the text had a digit before the dates were read
    full_month: bool  # ... a month's full name
    dated: bool  # ... a year or a month's name or abbreviation
    marked: str  # `s` as the kind markers read it (after the dates), and its index
    marked_starts: _Index
    average: bool  # "i snitt"
    period_hit: _PeriodHit | None
    per: list[str]
    count: _CountHit | None

    def __init__(self, i: int, text: str, today: dt.date) -> None:
        self.i = i  # its place in the batch
        self.text = text  # as given
        self.today = today
        self.window: Window | None = None
        self.deadline: dt.date | None = None
        self.signing_start = False
        self.lov: str | None = None

    def blank(self, m: re.Match[str], group: int | str = 0) -> None:
        a, b = m.span(group)
        s = self.s
        self.s = s[:a] + " " * (b - a) + s[b:]
        # the span split a word (a pattern without word bounds): its rest is a new token. (A span
        # nearly always has a gap character on each side: the test of the character outside it,
        # inline, settles that; ``\w`` is what ``str.isalnum`` says, or "_".)
        if (0 < a < b and (s[a - 1].isalnum() or s[a - 1] == "_") and _is_word_char(s[a])) or (
            a < b < len(s) and (s[b].isalnum() or s[b] == "_") and _is_word_char(s[b - 1])
        ):
            self.starts = _index(self.s)


def _is_word_char(c: str) -> bool:
    """``re``'s ``\\w`` for one character of a str."""
    return c.isalnum() or c == "_"


# --- cleaning ------------------------------------------------------------------------------

#: markdown marks: ``\*\*|__|`|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)|^#+ |\\``, with each branch's
#: look-behind after its first character (and "^" as "no character before the '#'"), so that every
#: branch begins with a literal character: ``re`` then skips to those characters
_MD = _c(r"\*\*|__|`|\*(?<!\w\*)(?!\s)|\*(?<!\s\*)(?!\w)|#(?<![\s\S]#)#* |\\")
_BULLET = _c(r"^\s*(?:[-•*–·]|\d{1,2}[.)])\s+")
_BULLET_STARTS = frozenset("-•*–·0123456789")
_SPACES = _c(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
#: dash variants to "–" or "-", soft hyphens and byte-order marks removed (str.replace: see ``sv_lexicon.fold``)
_DASHES = (("—", "–"), ("‒", "–"), ("−", "–"), ("‐", "-"), ("‑", "-"), ("\u00ad", ""), ("\ufeff", ""))
_CONTROL = _c(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    t = text
    if not t.isascii():
        if len(t.encode("latin-1", "ignore")) != len(t):  # a character beyond Latin-1: dashes, BOM
            for dash, plain in _DASHES:
                if dash in t:
                    t = t.replace(dash, plain)
        elif "\u00ad" in t:  # the one Latin-1 character of `_DASHES`: the soft hyphen
            t = t.replace("\u00ad", "")
    printable = t.isprintable()  # fast path: no control characters, tabs, line breaks or odd spaces
    if not printable:
        t = _CONTROL.sub(" ", t)
    for mark in "*_`#\\":  # (a plain loop of substring tests: cheaper than any(map(t.__contains__, ...)))
        if mark in t:
            t = _MD.sub("", t)
            break
    if not printable or "  " in t:
        t = _SPACES.sub(" ", t)
    t = t.strip()
    return _BULLET.sub("", t) if t[:1] in _BULLET_STARTS else t


# --- responsible parties -------------------------------------------------------------------

# Heads of organisational nouns (folded), matched at the end of a word so compounds
# count ("kommunpolisen", "socialförvaltningen"), in indefinite, definite and plural forms.
_PARTY_HEADS = (
    "polis", "kommun", "socialtjanst", "raddningstjanst", "hemtjanst", "tjanst", "forvaltning",
    "skola", "skolan", "skolor", "faltgrupp", "grupp", "faltassistent", "faltarbetare", "faltsekreterare",
    "fritidsgard", "fritidsledare", "trygghetsrad", "rad", "skolskoterska", "kurator", "elevhalsa",
    "ordningsvakt", "trygghetsvard", "namnd", "styrelse", "fullmaktige", "bostadsbolag", "enhet",
    "avdelning", "region", "lansstyrelse", "polisomrade", "lokalpolisomrade", "lpo", "samordnare",
    "kommunledning", "vaktbolag", "fritidsforvaltning", "socialsekreterare",
)
_PARTY_SUFFIXES = ("", "en", "et", "n", "na", "er", "erna", "ar", "arna", "or", "orna", "t")


def _party_forms(head: str) -> set[str]:
    if head.endswith("a"):  # skolsköterska: -n, -or, -orna
        stem = head[:-1]
        return {head, head + "n", stem + "or", stem + "orna"}
    return {head + s for s in _PARTY_SUFFIXES}


_PARTY_WORDS = {form for h in _PARTY_HEADS for form in _party_forms(h)}
_NOT_PARTIES = {
    "rad", "radet", "grupp", "gruppen", "tjanst", "tjansten", "enhet", "enheten", "tjanster", "rader",
    "polisar", "radgivning", "kommuner", "skolorna", "polisers", "grupper",
}
# Words after which a party is the object of a preposition, not the subject.
_PREPOSITIONS = {
    "med", "mellan", "av", "for", "till", "fran", "pa", "i", "vid", "hos", "mot", "om", "under", "over",
    "genom", "bland", "at", "inom", "utanfor", "efter", "fore", "infor", "kring", "runt", "utan",
    "enligt", "via", "och", "samt", "eller", "som", "an", "en", "ett", "den", "det", "de", "denna",
    "varje", "alla", "samtliga", "dess", "deras", "sin", "sina", "sitt", "hela", "bade", "hur", "per",
    "respektive", "resp", "var", "vart", "varannan", "vartannat", "inklusive", "exklusive", "dar", "nar",
}
_NAME_WORD = r"[A-ZÅÄÖÉ][\w-]*"
_NAME_WORD_RX = re.compile(_NAME_WORD)
_PARTY_ADJECTIVES = {"tekniska", "sociala", "lokala", "kommunala", "regionala", "centrala", "gemensamma"}
_MODALS = {"ska", "skall", "kan", "bor", "maste", "far", "vill", "kommer", "lovar", "avser", "tanker"}
_TRAILING_SLASH = _c(r"/\s*([^/()]{2,80}?)\s*\.?\s*$")
_TRAILING_PAREN = _c(r"\(\s*(?:ansvarig[a]?:?\s*)?([^()]{2,80}?)\s*\.?\s*\)\s*\.?\s*$", )
_ANSVARIG = _c(r"(?i)\bansvar(?:ig[a]?)?\s*(?:part(?:er)?|enhet(?:er)?)?\s*:\s*([^.;()]{2,80})")
_LIST_SPLIT = _c(r"\s*(?:,|\boch\b|\bsamt\b|&|\+)\s*")
_TOKEN = _c(r"[\w][\w-]*|[^\w\s]")
_TOKEN_ASCII = _ascii_twin(_TOKEN)


# compounds: "kommunpolisen", "socialforvaltningen", "ssp-gruppen" (at least three letters before the head)
_PARTY_COMPOUND = re.compile(
    r"[\w-]{3,}(?:" + "|".join(sorted((h for h in _PARTY_WORDS if len(h) >= 6), key=len, reverse=True)) + ")"
)


def _party_word(folded_word: str) -> bool:
    w = folded_word.strip("-")
    if w in _NOT_PARTIES:
        return False
    return w in _PARTY_WORDS or _PARTY_COMPOUND.fullmatch(w) is not None


#: `_party_word` of each token seen, and `fold` of each word of a party name seen
_IS_PARTY_WORD = WordMemo(_party_word, 4096)
_FOLDED_WORD = WordMemo(fold, 4096)
_is_party_word = _IS_PARTY_WORD.__getitem__
_fold_word = _FOLDED_WORD.__getitem__


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _party_item(item: str) -> str | None:
    """One conjunct of a party list, as a name, or None when it is not a party."""
    words = item.split()
    if not words or len(words) > 4:
        return None
    return _party_name(words, [_fold_word(w) for w in words])


def _party_name(words: list[str], folded: list[str]) -> str | None:
    """`_party_item` on its words (1 to 4) and their folded forms."""
    if len(words) == 1:
        return _cap(words[0]) if _is_party_word(folded[0]) else None
    # "Hagfors kommun", "Örkelljunga kommun"
    if folded[-1] in ("kommun", "stad", "region") and all(_NAME_WORD_RX.fullmatch(w) for w in words[:-1]):
        return _cap(" ".join(words))
    # "Lokalpolisområde Klippan", "lpo Torsby", "Region Skåne"
    if folded[0] in _PARTY_LEADS and all(_NAME_WORD_RX.fullmatch(w) for w in words[1:]):
        return _cap(" ".join(words))
    # "Socialtjänstens fältgrupp", "tekniska förvaltningen": owners and adjectives before the head
    if _is_party_word(folded[-1]) and len(words) <= 3 and all(
        (w.endswith("s") and not w.endswith("ss") and len(w) > 4) or w in _PARTY_ADJECTIVES for w in folded[:-1]
    ):
        return _cap(" ".join(words))
    return None


def _party_list(text: str) -> list[str] | None:
    """A whole text that is a list of parties ("Kommunen och polisen"), else None."""
    items = [i for i in _LIST_SPLIT.split(text.strip(" .:;")) if i]
    if not items:
        return None
    names = [_party_item(i) for i in items]
    if any(n is None for n in names):
        return None
    return _dedupe([n for n in names if n])


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for n in names:
        k = n.lower()
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out


def _split_trailing_responsible(text: str) -> tuple[str, list[str]]:
    """Lift "/ Polisen", "(Kommunen och polisen)" or "Ansvarig: X" off the text."""
    # each marker has a character it cannot match without: most sentences have none of them.
    # Its group takes no "/" (no "(") and it ends at the end: it can only begin at the last "/"
    # (the last "("), so one match there is what a search finds.
    for rx, first, needed in ((_TRAILING_SLASH, "/", "/"), (_TRAILING_PAREN, "(", ")")):
        pos = text.rfind(first) if needed in text else -1
        m = rx.match(text, pos) if pos >= 0 else None
        if m:
            names = _party_list(m.group(1))
            if names:
                return text[: m.start()].rstrip(" ./"), names
    m = _ANSVARIG.search(text) if ":" in text else None
    if m:
        names = _party_list(m.group(1))
        if names:
            return (text[: m.start()] + text[m.end():]).strip(" ./"), names
    return text, []


def _subject_parties(original: str, folded: str) -> list[str]:
    """The parties in subject position, or an empty list."""
    # Most sentences that name their party open with it ("Polisen ska ...", "Hagfors kommun
    # genomför ..."): when the first four runs of non-space characters are plain words, they are
    # the first four tokens, and a party among them that `_party_run` reads from the first token,
    # with no "och"/"samt" to continue the list, is read from those tokens alone (it looks at
    # most three tokens ahead of where it stands): the full tokenization is not needed.
    head = folded.split(None, 4)
    if len(head) == 5:
        del head[4]
        if "".join(head).isalnum() and "och" not in head and "samt" not in head and head[0] not in _REPRESENTATIVES:
            party = list(map(_is_party_word, head))
            if True in party:  # (as below: a text with no party word names no party)
                found = _party_run(original, folded, [], head, party, i=0, exact="Σ" not in original)
                if found:
                    return found
    token = _TOKEN_ASCII if folded.isascii() else _TOKEN
    # the tokens of each run of non-space characters: most runs are one word, only the others
    # need the regex (a token never holds white space; ``\w`` is what ``str.isalnum`` says, or "_")
    # A run of a word and one character that is not a word character ("polisen," "termin.") is
    # those two tokens, unless the character is "-" ("beteende-": one token)
    words: list[str] = []
    for run in folded.split():
        if run.isalnum():
            words.append(run)
        elif run[:-1].isalnum() and run[-1] not in "-_":
            words += (run[:-1], run[-1])
        else:
            words += token.findall(run)
    party = list(map(_is_party_word, words))
    # most sentences name no party at all: one cached look-up per word settles it
    if True not in party and _PARTY_LEADS.isdisjoint(words):
        return []
    spans: list[tuple[int, int]] = []  # the first tokens' spans, found by `_party_run` as far as needed
    # each word of `original` folds to its token of `folded` (`fold` maps character by character)
    # unless a capital sigma was lowered by its context (the one context-dependent lower case)
    exact = "Σ" not in original
    # "Representanter från kommunförvaltningen kommer att ..."
    if words[0] in _REPRESENTATIVES and len(words) > 2 and words[1] in (
        "fran", "for", "inom", "pa", "vid"
    ):
        found = _party_run(original, folded, spans, words, party, i=2, exact=exact)
        if found:
            return found
    found = _party_run(original, folded, spans, words, party, i=0, exact=exact)
    if found:
        return found
    # V2 order after a fronted adverbial or clause: "Under 2025 genomför kommunen ...",
    # tried only where `_may_start_party` holds: at, or one or two tokens before, a party word,
    # at a lead or adjective, or before "kommun", "stad", "region".
    n = len(words)
    starts: set[int] = set()
    for j in compress(range(n), party):
        starts.update((j, j - 1, j - 2))
    if not _PARTY_STARTERS.isdisjoint(words):
        for j, word in enumerate(words):
            if word in _PARTY_LEADS or word in _PARTY_ADJECTIVES:
                starts.add(j)
            if word in _PARTY_PLACE_HEADS:
                starts.add(j - 1)
    for i in sorted(starts):
        if i < 1 or i >= n:
            continue
        prev = words[i - 1]
        if prev in _PREPOSITIONS or words[i] in _PREPOSITIONS or number_value(prev) is not None:
            continue
        if prev not in _MODALS and not (prev.endswith("r") and prev.isalpha() and len(prev) > 2):
            continue  # V2: the subject follows the finite verb (present tense ends in -r)
        found = _party_run(original, folded, spans, words, party, i=i, exact=exact)
        if found:
            return found
    return []


_PARTY_LEADS = {"lokalpolisomrade", "lpo", "polisomrade", "region", "polisregion"}
_REPRESENTATIVES = ("representanter", "foretradare", "personal", "medarbetare")
_PARTY_PLACE_HEADS = ("kommun", "stad", "region")
_PARTY_STARTERS = _PARTY_LEADS | _PARTY_ADJECTIVES | set(_PARTY_PLACE_HEADS)


def _may_start_party(words: list[str], party: list[bool], i: int) -> bool:
    """A cheap test before the full item parse: can a party name start at token i?
    (``party[k]`` is ``_is_party_word(words[k])``.)"""
    word = words[i]
    if party[i] or word in _PARTY_LEADS or word in _PARTY_ADJECTIVES:
        return True
    if i + 1 < len(words) and (words[i + 1] in _PARTY_PLACE_HEADS or party[i + 1]):
        return True
    return i + 2 < len(words) and party[i + 2]


def _may_name(words: list[str], party: list[bool], i: int, k: int) -> bool:
    """False when `_party_name` gives None for the item of tokens i to i + k - 1, by its folded
    words (the tokens) alone: each of its ways to a name needs what this tests first."""
    if k == 1:
        return party[i]
    if words[i + k - 1] in _PARTY_PLACE_HEADS or words[i] in _PARTY_LEADS:
        return True
    if not party[i + k - 1]:
        return False
    return all(
        (w.endswith("s") and not w.endswith("ss") and len(w) > 4) or w in _PARTY_ADJECTIVES for w in words[i : i + k - 1]
    )


def _extend_spans(folded: str, words: list[str], spans: list[tuple[int, int]], n: int) -> None:
    """Extend `spans` to the spans of the first `n` tokens `words` of `folded`.

    Only white space separates two tokens (every other character is part of one), so a token
    is the first occurrence of its text after the end of the one before it.
    """
    end = spans[-1][1] if spans else 0
    for word in words[len(spans): n]:
        start = folded.find(word, end)
        end = start + len(word)
        spans.append((start, end))


def _party_run(
    original: str,
    folded: str,
    spans: list[tuple[int, int]],
    words: list[str],
    party: list[bool],
    *,
    i: int,
    exact: bool,
) -> list[str]:
    """Parse a coordinated list of parties starting at token i; [] when none starts there.

    `words` are the tokens of `folded`; `spans` the spans of the first of them, extended as far as
    needed (most sentences never get past `_may_start_party`, and a list ends near its start).
    When `exact` (each word of `original` folds to its token), an item's folded words are its
    tokens, and `_may_name` turns down without building the item what `_party_name` would.
    """
    if not _may_start_party(words, party, i):
        return []
    names: list[str] = []
    n = len(words)
    while i < n:
        item = None
        run = 0  # how many word tokens (not punctuation) follow from i, up to three
        while run < 3 and i + run < n and words[i + run][:1].isalnum():
            run += 1
        for k in (3, 2, 1)[3 - run :]:  # the longest item first: "lokalpolisområde Ängelholm"
            if exact and not _may_name(words, party, i, k):
                continue
            if len(spans) < i + k:
                _extend_spans(folded, words, spans, i + k)
            a, b = spans[i][0], spans[i + k - 1][1]
            # the item's words are its tokens: only spaces separate word tokens
            item_words = original[a:b].split()
            item = _party_name(item_words, words[i : i + k] if exact else [_fold_word(w) for w in item_words])
            if item:
                # a genitive head ("kommunens") is an owner, not a party
                head = words[i + k - 1]
                if head.endswith("s") and _is_party_word(head[:-1]):
                    item = None
                    continue
                i += k
                break
        if not item:
            break
        names.append(item)
        if i < n and words[i] in (",", "och", "samt", "&"):
            i += 1
            continue
        break
    if len(names) < 2:
        return names
    # "Skolan ska ...": the list must be followed by a verb-like word, not a preposition phrase
    # that makes it part of a longer noun phrase ("Polisen i Ekeby" is fine, "Kommunens ..." was refused).
    return _dedupe(names)


# --- dates ---------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _DateExpr:
    """A date expression before its year is known: a day, a month or a year."""

    year: int | None
    month: int | None
    day: int | None

    def resolve(self, today: dt.date, *, not_before: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
        """(first, last) day it names; a missing year is the next occurrence on or after `today`."""
        ref = not_before or today
        if self.month is None:
            if self.year is None:
                return None
            return dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
        year = self.year
        if year is None:
            year = ref.year
            first = _safe_date(year, self.month, self.day or 1)
            last_day = _safe_date(year, self.month, self.day) if self.day else _month_end(year, self.month)
            if first is None or last_day is None or last_day < ref:
                year += 1
        if self.day is None:
            return dt.date(year, self.month, 1), _month_end(year, self.month)
        d = _safe_date(year, self.month, self.day)
        return (d, d) if d else None


_DATE_ISO = rf"(?P<iy>{_YEAR})-(?P<im>\d{{2}})-(?P<id>\d{{2}})"
_DATE_DM = rf"(?:den{_SP})?(?P<dd>\d{{1,2}})(?::[ae])?{_SP}(?P<dm>{_MONTH})\.?(?:{_SP}(?P<dy>{_YEAR}))?"
_DATE_MY = rf"(?P<mm>{_FULL_MONTH}|{_MONTH}\.?(?={_SP}{_YEAR}))(?:{_SP}(?:manad{_SP})?(?P<my>{_YEAR}))?"
_DATE_Y = rf"(?:(?:ar|aret){_SP})?(?P<yy>{_YEAR})(?![-/]\d)"
_DATE = rf"(?:{_DATE_ISO}|{_DATE_DM}|{_DATE_MY}|{_DATE_Y})"


#: the groups of a date (`_DATE`) with each suffix `_suffixed` gives it: `_date_expr` reads them
#: in one ``group`` call (``groupdict`` builds a dict of all of a range's groups, twice a range)
_DATE_GROUPS = {
    suffix: tuple(name + suffix for name in ("iy", "im", "id", "dd", "dy", "dm", "mm", "my", "yy")) for suffix in ("", "1", "2")
}


def _date_expr(m: re.Match[str], suffix: str = "") -> _DateExpr | None:
    """The date of the `_DATE` whose groups have `suffix` in `m` (every pattern given here has them all)."""
    iy, im, iday, dd, dy, dm, mm, my, yy = m.group(*_DATE_GROUPS[suffix])
    if iy:
        return _DateExpr(int(iy), int(im), int(iday))
    if dd:  # (the month group "dm" holds no "."; "mm" may end with one: "feb. 2026")
        return _DateExpr(int(dy) if dy else None, MONTHS[dm], int(dd))
    if mm:
        return _DateExpr(int(my) if my else None, MONTHS[mm[:-1] if mm[-1] == "." else mm], None)
    if yy:
        return _DateExpr(int(yy), None, None)
    return None


def _suffixed(pattern: str, suffix: str) -> str:
    return re.sub(r"\(\?P<(\w+)>", lambda m: f"(?P<{m.group(1)}{suffix}>", pattern)


_D1, _D2 = _suffixed(_DATE, "1"), _suffixed(_DATE, "2")
_RANGE_START = r"(?:fran(?: och med)?|fr\.? ?o\.? ?m\.?|mellan|under perioden|under tiden|perioden|pabor\w+|borjar|startar|under|galler|avser)"
_RANGE_SEP = (
    r"(?:[ ]?(?:--|[–-])[ ]?|[ ]+(?:till och med|t\.? ?o\.? ?m\.?|tom|till|fram till och med)[ ]+"
    r"|[ ]+(?:och|samt)(?:[ ]+\w+){0,3}?[ ]+(?:till och med|t\.? ?o\.? ?m\.?|till)[ ]+)"
)
# Every date (`_DATE`) has a digit or a month name (`_MONTH`, abbreviations included):
# `_extract_dates` tests that once and skips the patterns that need a date, a year or a digit.
#: the words a date (`_DATE`) can start with, besides a number: "den 5 maj", "år 2026", month names
_DATE_STARTS = {"den", "ar", "aret", *MONTHS}
#: the words `_RANGE_START` can start with ("fr.o.m." starts with "fr", "fro." or "from")
_RANGE_START_WORDS = {"fran", "fr", "fro", "from", "mellan", "under", "perioden", "borjar", "startar", "galler", "avser"}
_RX_RANGE = _Anchored(
    _w(rf"(?:{_RANGE_START}{_SP})?(?:den{_SP})?{_D1}{_RANGE_SEP}(?:den{_SP})?{_D2}"),
    _RANGE_START_WORDS | _DATE_STARTS,
    numerals=True,
    prefixes=("pabor",),
)
_RX_MELLAN = _Anchored(_w(rf"mellan{_SP}{_D1}{_SP}och{_SP}{_D2}"), {"mellan"})
_RX_SCHOOL_YEAR = _g(_w(rf"(?:under{_SP})?(?:hela{_SP})?lasar(?:et)?{_SP}(?P<y1>{_YEAR})[ ]?[/–-][ ]?(?P<y2>{_YEAR}|\d{{2}})"))
_RX_YEARS_AND = _Anchored(
    _w(rf"(?:under|for|galler){_SP}(?:aren{_SP})?(?P<y1>{_YEAR}){_SP}(?:och|samt){_SP}(?P<y2>{_YEAR})"),
    {"under", "for", "galler"},
)
_RX_UNDER_YEAR = _Anchored(
    _w(rf"(?:under|galler){_SP}(?:hela{_SP})?(?:(?:ar|aret|kalenderaret){_SP})?(?P<y>{_YEAR})(?![-/–]\d)"),
    {"under", "galler"},
)
_RX_UNDER_MONTH = _g(_w(rf"under{_SP}(?:hela{_SP})?(?P<m>{_FULL_MONTH})(?:{_SP}manad)?(?:{_SP}(?P<y>{_YEAR}))?"))
_SEASONS = {
    "hosten": ((8, 1), (12, 31)), "hostterminen": ((8, 1), (12, 31)), "varen": ((1, 1), (6, 30)),
    "varterminen": ((1, 1), (6, 30)), "sommaren": ((6, 1), (8, 31)), "vintern": ((12, 1), (2, 28)),
}
_RX_SEASON = _Anchored(
    _w(rf"(?:(?P<under>under|i){_SP})?(?:hela{_SP})?(?P<s>{'|'.join(_SEASONS)})(?:{_SP}(?P<y>{_YEAR}))?"),
    {"under", "i", "hela", *_SEASONS},
)
#: the words a week number can be glued to ("v44", "vecka12"): a token that begins with one and a digit
_WEEK_WORDS = ("veckorna", "vecka", "v")
_RX_WEEK = _Anchored(
    _w(
        rf"(?:under{_SP}|i{_SP})?(?:veckorna|vecka|v\.?)[ ]?(?P<w>\d{{1,2}})"
        rf"(?:(?:[ ]?[–-][ ]?|{_SP}(?:till och med|t\.? ?o\.? ?m\.?|till){_SP})(?:(?:vecka|v\.?)[ ]?)?(?P<w2>\d{{1,2}}))?"
        rf"(?:{_SP}(?:ar{_SP})?(?P<y>{_YEAR}))?"
    ),
    {"under", "i", *_WEEK_WORDS},
    prefixes=tuple(word + digit for word in _WEEK_WORDS for digit in "0123456789"),
)
_RX_DURATION = _g(
    _w(
        rf"(?:under{_SP})?(?P<n>{_NUM})(?:{_SP}\(\d+\))?{_SP}(?P<u>ar|manader)(?:{_SP}framat)?{_SP}"
        rf"(?:fran|efter)(?:{_SP}(?:det att|att|och med|dagen for|dagen da))?[^.;]{{0,40}}?"
        r"(?:under)?(?:tecknas|tecknades|tecknats|undertecknandet|signeras|signerades|tecknandet)"
    )
)
_RX_SIGNING_START = _g(r"(?:borjar|borja)\s+galla\s+(?:nar|fran|da)[^.;]{0,30}?(?:under)?tecknat")
_RX_DEADLINE_DAY = _Anchored(
    _w(rf"(?:senast|fram till och med|till och med|t\.? ?o\.? ?m\.?|fram till|innan|fore)(?:{_SP}den)?{_SP}{_DATE}"),
    {"senast", "fram", "till", "t", "to", "tom", "innan", "fore"},  # "t.o.m.", "to.m.", "tom"
)
_RX_DEADLINE_MONTH = _Anchored(
    _w(rf"(?:(?:senast|redan){_SP})?(?:i|under){_SP}(?P<mm>{_FULL_MONTH})(?:{_SP}(?:manad{_SP})?(?P<my>{_YEAR}))?"),
    {"senast", "redan", "i", "under"},
)
#: ("fr.o.m." starts with the word "fr", "fro" or "from", as in `_RANGE_START_WORDS`)
_RX_START_ONLY = _Anchored(
    _w(rf"(?:fran och med|fr\.? ?o\.? ?m\.?|fran|med start|fran den){_SP}(?:den{_SP})?{_DATE}"),
    {"fran", "fr", "fro", "from", "med"},
)
_RX_ANY_DATE = _Anchored(_w(_DATE), _DATE_STARTS, numerals=True)
_LOVS = ("host", "sport", "pask", "jul", "sommar", "vinter", "lasl")
_RX_NAMED_LOV = _g(_w(rf"(?:under|pa|infor|efter|i)\s+(?P<lov>(?:{'|'.join(_LOVS)})lovet)"))


def _word_slot(words: Iterable[str], prefixes: tuple[str, ...] = ()) -> int:
    """The slot under which `_index` files the tokens that are one of `words` or begin with one of
    `prefixes`: a start set with a pattern that is never tried. ``slot in w.starts`` then tells by
    one dict look-up whether such a token was in the text when it was indexed; a pattern whose
    every match has one as a whole token (a run of word characters with none on either side)
    needs no attempt without (blanking only takes tokens away, and a blank that splits a word
    indexes anew)."""
    return _Anchored(r"(?!)", words, prefixes=prefixes).slot


#: a month's full name (`_FULL_MONTH`), a season (`_SEASONS`), a year (`_YEAR`: a token that begins
#: with "19" or "20"), a week ("vecka 44", "v44", as `_RX_WEEK` starts), a named lov (`_RX_NAMED_LOV`):
#: each is a whole token in what the patterns find
_FULL_MONTH_SLOT = _word_slot(_FULL_MONTH.split("|"))
_SEASON_SLOT = _word_slot(_SEASONS)
_YEAR_SLOT = _word_slot((), ("19", "20"))
_WEEK_SLOT = _word_slot(_RX_WEEK.starts - {"under", "i"}, _RX_WEEK.prefixes)
_LOV_SLOT = _word_slot(f"{lov}lovet" for lov in _LOVS)
#: a year or a month's name or abbreviation: every date (`_DATE`) has one as a token (in "den 5 maj",
#: "maj 2026", "2026-05-05", "år 2026"), so a text without one holds no date
_DATE_SLOT = _word_slot(MONTHS, ("19", "20"))
#: the words of `_RANGE_SEP` that are no dash: "till", "t.o.m." ("t", "to", "tom"); every range
#: `_RX_RANGE` finds has one of these as a token, or a dash
_RANGE_SEP_SLOT = _word_slot({"till", "t", "to", "tom"})


_hints: tuple[str, ...]  # (the gate words set below each table of patterns)
for _rx, _hints in (
    (_RX_SCHOOL_YEAR, ("lasar",)), (_RX_UNDER_MONTH, ("under",)),
    (_RX_SIGNING_START, ("galla",)),
):
    _rx.hints = _hints

def _extract_dates(w: _Work) -> None:
    """Read the window, deadline and named lov, and blank what they were read from, in three
    passes (`_extract_windows`, `_extract_named_windows`, `_extract_deadlines`); `w.digits` says
    whether the text had a digit before (it may have none left after)."""
    _extract_windows(w)
    _extract_named_windows(w)
    _extract_deadlines(w)


def _extract_windows(w: _Work) -> None:
    """The windows written with dates or years: a period from signing, a range, a school year, years."""
    s, today = w.s, w.today
    w.digits = _has_digit(s)
    # (`_word_slot`: `w.starts` is the index of `s` here)
    starts = w.starts
    w.full_month = _FULL_MONTH_SLOT in starts
    w.dated = dated = _DATE_SLOT in starts
    years = _YEAR_SLOT in starts
    # (blanking only takes away: what is missing now stays missing)
    # Signing-anchored validity: "under två (2) år framåt från det att de tecknas". (It, and a start
    # at signing, "börjar gälla när ... tecknat", name the signing: "teckna" or "signer" is in both.)
    if "teckna" in s or "signer" in s:
        m = _RX_DURATION.search(s)
        if m:
            n = number_value(m.group("n"))
            if n and n < 20:
                months = n * 12 if m.group("u") == "ar" else n
                end = _add_months(today, months) - dt.timedelta(days=1)
                w.window = Window(start=today, end=end)
                w.blank(m)
        if _RX_SIGNING_START.search(w.s):
            w.signing_start = True
    # Explicit ranges: "2022-03-01 – 2022-05-31", "mars 2022 – maj 2022", "från 1 oktober 2025 t.o.m. feb 2026".
    # (a range has a dash or a word of `_RANGE_SEP_SLOT` between its dates; what is found while a
    # window is read is not used: no attempt then)
    ranges = (_RX_RANGE, _RX_MELLAN) if _RANGE_SEP_SLOT in starts or "-" in s or "–" in s else (_RX_MELLAN,)
    for rx in ranges if dated else ():
        if w.window is not None:
            break
        m = rx.search(w.s, w.starts)
        if m:
            a, b = _date_expr(m, "1"), _date_expr(m, "2")
            if a and b:
                win = _resolve_range(a, b, today)
                if win:
                    w.window = win
                    w.blank(m)
    if w.window is None and years:
        m = _RX_SCHOOL_YEAR.search(w.s)
        if m:
            y1 = int(m.group("y1"))
            y2 = int(m.group("y2")) if len(m.group("y2")) == 4 else y1 // 100 * 100 + int(m.group("y2"))
            if y2 == y1 + 1:
                w.window = Window(start=dt.date(y1, 7, 1), end=dt.date(y2, 6, 30))
                w.blank(m)
    if w.window is None and years:
        m = _RX_YEARS_AND.search(w.s, w.starts)
        if m:
            y1, y2 = int(m.group("y1")), int(m.group("y2"))
            if y1 <= y2:
                w.window = Window(start=dt.date(y1, 1, 1), end=dt.date(y2, 12, 31))
                w.blank(m)
    if w.window is None and years:
        m = _RX_UNDER_YEAR.search(w.s, w.starts)
        if m:
            y = int(m.group("y"))
            w.window = Window(start=dt.date(y, 1, 1), end=dt.date(y, 12, 31))
            w.blank(m)


def _extract_named_windows(w: _Work) -> None:
    """The windows named by a month, a season or a week, and a named lov."""
    today, digits = w.today, w.digits
    if w.window is None and w.full_month:
        m = _RX_UNDER_MONTH.search(w.s)
        if m:
            span = _DateExpr(int(m.group("y")) if m.group("y") else None, MONTHS[m.group("m")], None).resolve(today)
            if span:
                w.window = Window(start=span[0], end=span[1])
                w.blank(m)
    # (a season is a whole token, `_word_slot`: without one, "under" and "i" need no attempt)
    if w.window is None and _SEASON_SLOT in w.starts:
        m = _RX_SEASON.search(w.s, w.starts)
        if m and (m.group("under") or m.group("y")):
            w.window = _season(m.group("s"), int(m.group("y")) if m.group("y") else None, today)
            w.blank(m)
    if w.window is None and digits and _WEEK_SLOT in w.starts:
        m = _RX_WEEK.search(w.s, w.starts)
        if m:
            year = int(m.group("y")) if m.group("y") else None
            win = _iso_week(int(m.group("w")), year, today)
            if win and m.group("w2"):
                w2 = int(m.group("w2"))  # "vecka 51–2": the second week is in the next year
                last = _iso_week(w2, win.start.isocalendar().year + (w2 < int(m.group("w"))), win.start)
                win = Window(start=win.start, end=last.end) if last and last.end > win.end else None
            if win:
                w.window = win
                w.blank(m)
    m = _RX_NAMED_LOV.search(w.s) if _LOV_SLOT in w.starts else None
    if m:
        lov = m.group("lov")
        w.lov = {"hostlovet": "höstlov", "sportlovet": "sportlov", "pasklovet": "påsklov", "jullovet": "jullov",
                 "sommarlovet": "sommarlov", "vinterlovet": "sportlov", "laslovet": "höstlov"}[lov]


def _extract_deadlines(w: _Work) -> None:
    """The deadline, and the dates left that are no counts."""
    today, dated = w.today, w.dated
    # Deadlines: "senast den 15 maj 2025", "fram till och med den 15 december", "senast i oktober".
    m = _RX_DEADLINE_DAY.search(w.s, w.starts) if dated else None
    if m:
        expr = _date_expr(m)
        span = expr.resolve(today) if expr else None
        if span:
            if w.signing_start and w.window is None:
                w.window = Window(start=today, end=span[1]) if span[1] >= today else None
            elif w.window is None or w.deadline is None:
                w.deadline = span[1]
            w.blank(m)
    if w.deadline is None and w.window is None and w.full_month:
        m = _RX_DEADLINE_MONTH.search(w.s, w.starts)
        if m:
            span = _DateExpr(int(m.group("my")) if m.group("my") else None, MONTHS[m.group("mm")], None).resolve(today)
            if span:
                w.deadline = span[1]
                w.blank(m)
    # "Från och med 1 april 2026 gäller ..." (start only): no window, but not a count either.
    if not dated:
        return
    for m in _RX_START_ONLY.finditer(w.s, w.starts):
        w.blank(m)
    for m in _RX_ANY_DATE.finditer(w.s, w.starts):
        w.blank(m)


def _add_months(day: dt.date, months: int) -> dt.date:
    y, mth = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, mth + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _resolve_range(a: _DateExpr, b: _DateExpr, today: dt.date) -> Window | None:
    if a.year is None and b.year is not None:
        # "15 januari och pågå till och med 30 juni 2026": the start year comes from the end.
        b_span = b.resolve(today)
        if not b_span:
            return None
        for year in (b_span[0].year, b_span[0].year - 1):
            a_span = _DateExpr(year, a.month, a.day).resolve(today)
            if a_span and a_span[0] <= b_span[1]:
                return Window(start=a_span[0], end=b_span[1])
        return None
    a_span = a.resolve(today)
    if not a_span:
        return None
    b_span = b.resolve(today, not_before=a_span[0]) if b.year is None else b.resolve(today)
    if not b_span or b_span[1] < a_span[0]:
        return None
    return Window(start=a_span[0], end=b_span[1])


def _season(name: str, year: int | None, today: dt.date) -> Window:
    (m1, d1), (m2, d2) = _SEASONS[name]
    crosses = (m2, d2) < (m1, d1)
    if year is None:
        year = today.year
        end_year = year + 1 if crosses else year
        if _safe_date(end_year, m2, d2) and dt.date(end_year, m2, d2 if m2 != 2 else 28) < today:
            year += 1
    end_year = year + 1 if crosses else year
    end = _month_end(end_year, m2) if m2 == 2 else dt.date(end_year, m2, d2)
    return Window(start=dt.date(year, m1, d1), end=end)


def _iso_week(week: int, year: int | None, today: dt.date) -> Window | None:
    if not 1 <= week <= 53:
        return None
    years = [year] if year else [today.year, today.year + 1]
    for y in years:
        try:
            monday = dt.date.fromisocalendar(y, week, 1)
        except ValueError:
            continue
        if year or monday + dt.timedelta(days=6) >= today:
            return Window(start=monday, end=monday + dt.timedelta(days=6))
    return None


# --- numbers that are not counts -----------------------------------------------------------

# In order (each blanks what it finds before the next looks): the patterns that start with a
# number are tried only at the numbers (`_Anchored`), the others scan the text, behind a gate
# where every match has a telling substring.
#: the words of the numbered-word pattern of `_NOISE`
_NUMBERED_WORDS = (
    "arskurs", "ak", "arskurserna", "klass", "klasserna", "grupp", "hus", "rum", "nr", "nummer", "kapitel", "kap",
    "paragraf", "sfs", "punkt", "steg", "niva", "fas", "etapp", "del",
)
_ROAD_WORDS = ("vag", "riksvag", "lansvag", "rv", "lv", "e")
_NOISE: list[_Anchored | _Gated | re.Pattern[str]] = [
    _g(_w(r"(?:kl\.?|klockan)[ ]?\d{1,2}(?:[.:]\d{2})?(?:[ ]?[–-][ ]?\d{1,2}(?:[.:]\d{2})?)?"), "kl"),
    _Anchored(_w(r"\d{1,2}[.:]\d{2}(?:[ ]?[–-][ ]?\d{1,2}[.:]\d{2})?"), (), numerals=True),
    # (a numbered word, anchored at the words; "§" is no word, so it is a scan behind its gate:
    # the two never overlap, so finding them in two passes blanks the same spans as one)
    _Anchored(
        _w(
            r"(?:arskurs|ak|arskurserna|klass|klasserna|grupp|hus|rum|nr|nummer|kapitel|kap\.?|paragraf|sfs|punkt|steg|niva"
            rf"|fas|etapp|del){_SP}?\d+(?:[ ]?(?:[–-]|och|till)[ ]?\d+)?"
        ),
        _NUMBERED_WORDS,
    ),
    _g(_w(rf"§{_SP}?\d+(?:[ ]?(?:[–-]|och|till)[ ]?\d+)?"), "§"),
    _Anchored(  # (a road number can be glued to its word: "e6", "rv62")
        _w(r"(?:vag|riksvag|lansvag|rv|lv|e)[ ]?\d{1,4}"),
        _ROAD_WORDS,
        prefixes=tuple(word + digit for word in _ROAD_WORDS for digit in "0123456789"),
    ),
    _g(r"\(\s*\d+\s*\)", "("),
    _Anchored(_w(rf"{_YEAR}[/–-](?:{_YEAR}|\d{{2}})"), (), numerals=True),
    _Anchored(_w(rf"{_YEAR}(?! (?:ganger|gang|ggr|timmar|tillfallen|dagar|insatser|kontroller))"), (), numerals=True),
    _Anchored(_w(r"\d+(?:[,.]\d+)?[ ]?(?:%|procent|kr|kronor|sek|mkr|tkr|meter|m|km|km/h|kilometer|ar gamla?|-aring\w*|aring\w*)"), (), numerals=True),
    _Anchored(_w(r"\d+[.,]\d+"), (), numerals=True),
    _Anchored(_w(r"\d+:(?![ae]\b)\w+"), (), numerals=True),
    _Anchored(r"\b\d+-\w*arig\w*", (), numerals=True),  # (\b before a digit: no word character before it)
]
_VARAV = _c(r",?\s*\bvarav\b[^.;]*")


def _blank_noise(w: _Work) -> None:
    if not _has_digit(w.s):
        return
    for rx in _NOISE:
        for m in rx.finditer(w.s, w.starts) if isinstance(rx, _Anchored) else rx.finditer(w.s):
            w.blank(m)
    varav = _VARAV.search(w.s) if "varav" in w.s else None
    if varav:
        w.blank(varav)


# --- periods -------------------------------------------------------------------------------

_UNIT_ALT = "|".join(re.escape(u).replace(r"\ ", " ") for u in sorted(UNIT_BY_WORD, key=len, reverse=True))
_DEFINITE = {"dagen", "veckan", "manaden", "kvartalet", "tertialet", "halvaret", "terminen", "lasaret", "aret", "kalenderaret", "dygnet"}
_RX_EVERY_N = _Anchored(
    _w(
        rf"(?:(?:var|vart)[ ]?(?:annan|annat)|var(?:t)?{_SP}(?P<ord>{'|'.join(ORDINALS)}|\d+:?[ae]?)|varannan|vartannat)"
        rf"{_SP}(?P<u>{_UNIT_ALT})"
    ),
    # "var annan", "vart tredje", "varannan", "vartannat" ("var[t][ ]anna[nt]" glued either way)
    {"var", "vart", "varannan", "varannat", "vartannan", "vartannat"},
)
_PER_UNIT_PREPS = r"per|i|om|varje|var|vart|a|pr\.?|/"
#: the first token of each unit word ("v." → "v", "host- och vartermin" → "host")
_UNIT_FIRSTS = frozenset(_first_words("|".join(UNIT_BY_WORD)))
_RX_PER_UNIT = _Anchored(
    _w(rf"(?P<p>{_PER_UNIT_PREPS})[ ]?(?P<u>{_UNIT_ALT})(?![\w-])"),
    _first_words(_PER_UNIT_PREPS) | _glued(_PER_UNIT_PREPS, UNIT_BY_WORD),
    after=dict.fromkeys(("i", "om"), (_UNIT_FIRSTS, ())),  # ("[ ]?" before the unit)
)
_RX_SLASH_UNIT = _g(rf"(?<=\w)/[ ]?(?P<u>{_UNIT_ALT})(?![\w-])")
_RX_PER_ENT_AND_UNIT = _Anchored(
    _w(rf"(?:per|varje){_SP}(?P<e>[a-z][\w-]*){_SP}och{_SP}(?P<u>{_UNIT_ALT})"), {"per", "varje"}
)
_RX_UNDER_UNIT = _Anchored(
    _w(r"under(?: hela)? (?P<u>aret|terminen|lasaret|manaden|veckan|kvartalet|halvaret|tertialet)"), {"under"}
)
_RX_FREQ_ADV = _Anchored(_w(rf"(?P<a>{'|'.join(FREQ_ADVERBS)})"), FREQ_ADVERBS)
_RX_WEEKDAY = _g(
    _w(
        rf"(?:(?P<v>varje|var|varannan|pa)[ ])?(?P<d>{'|'.join(WEEKDAYS)})(?P<pl>ar|arna|en)?"
        rf"(?P<more>(?:(?:,| och| samt) (?:{'|'.join(WEEKDAYS)})(?:ar|arna|en)?)*)"
    )
)
_RX_AVERAGE = _g(_w(r"i (?:genom)?snitt(?: over (?:aret|terminen|lasaret|perioden|halvaret))?|i medeltal|i medel|i genomsnitt|genomsnittligt?"))
_RX_HELG = _g(_w(r"(?:varje|per|var)[ ](?P<x>helg|kvall|vardag)"))

for _rx, _hints in (
    (_RX_SLASH_UNIT, ("/",)),
    (_RX_WEEKDAY, ("dag",)),
    (_RX_AVERAGE, ("snitt", "medel")), (_RX_HELG, ("helg", "kvall", "vardag")),
):
    _rx.hints = _hints

#: "helg", "kvall" and "dag": every hint of `_RX_HELG` and `_RX_WEEKDAY` holds one
_DAY_PIECES = _PieceGate(("helg", "kvall", "dag"))
_NON_DIGITS = _c(r"\D")
_WEEKDAY_NAME = _c("|".join(WEEKDAYS))


@dataclass(slots=True)
class _PeriodHit:
    period: Period
    implies_once: bool  # a frequency word: "årligen" means once a year without a number
    implied: int = 1  # how many a frequency word means ("varje fredag och lördag" means 2 a week)


def _extract_period(w: _Work) -> _PeriodHit | None:
    s = w.s
    m = _RX_EVERY_N.search(s, w.starts)
    if m:
        unit = UNIT_BY_WORD[m.group("u")]
        ordinal = m.group("ord")
        every = 2
        if ordinal:
            every = ORDINALS.get(ordinal) or int(_NON_DIGITS.sub("", ordinal) or 0)
        if 1 <= every <= 60:
            w.blank(m)
            return _PeriodHit(new_period(unit, every), implies_once=True)
    m = _RX_PER_ENT_AND_UNIT.search(s, w.starts)
    if m and m.group("e") not in UNIT_BY_WORD:
        return _PeriodHit(new_period(UNIT_BY_WORD[m.group("u")]), implies_once=True)
    for m in _RX_PER_UNIT.finditer(s, w.starts):
        word, prep = m.group("u"), m.group("p")
        if prep in ("i", "om") and word not in _DEFINITE:
            continue
        if prep in ("per", "/", "a", "varje", "var", "vart", "pr", "pr.") and word in _DEFINITE - {"dygnet"}:
            continue
        # "var är" (folded "var ar") is a question, "vart år" is every year; "var v" is nonsense
        if prep in ("var", "vart") and word in ("v", "d", "ar") and (word != "ar" or prep != "vart"):
            continue
        if word in ("veckor", "manader", "terminer") and prep not in ("per", "/"):
            continue
        if word in ("d", "v", "v.") and prep not in ("/", "per"):
            continue
        return _PeriodHit(new_period(UNIT_BY_WORD[word]), implies_once=True)
    m = _RX_SLASH_UNIT.search(s)
    if m:
        return _PeriodHit(new_period(UNIT_BY_WORD[m.group("u")]), implies_once=True)
    m = _RX_FREQ_ADV.search(s, w.starts)
    if m:
        w.blank(m)
        return _PeriodHit(new_period(FREQ_ADVERBS[m.group("a")]), implies_once=True)
    # a match of `_RX_HELG` or `_RX_WEEKDAY` holds one of their hints: few sentences have any
    if w.pieces is None or _DAY_PIECES.held(w.pieces):
        m = _RX_HELG.search(s)
        if m:
            w.blank(m)
            unit = _WEEK if m.group("x") == "helg" else _DAY
            return _PeriodHit(new_period(unit), implies_once=True)
        m = _RX_WEEKDAY.search(s)
        if m and (m.group("v") in ("varje", "var", "varannan") or m.group("pl") in ("ar", "arna")):
            w.blank(m)
            days = 1 + len(_WEEKDAY_NAME.findall(m.group("more") or ""))
            period = new_period(_WEEK, 2 if m.group("v") == "varannan" else 1)
            return _PeriodHit(period, implies_once=True, implied=days)  # "varje fredag och lördag": 2 a week
    m = _RX_UNDER_UNIT.search(s, w.starts)
    if m:
        w.blank(m)
        return _PeriodHit(new_period(UNIT_BY_WORD[m.group("u")]), implies_once=False)
    return None


# --- entities ------------------------------------------------------------------------------

_ENT = r"(?P<e>[a-z][a-z-]*[a-z])"
_PER_ENT_LEADS = r"per|varje|respektive|resp\.|var och en av|for varje|pa varje|i varje|pa respektive|i respektive"
_RX_PER_ENT = _Anchored(
    _w(rf"(?:{_PER_ENT_LEADS}){_SP}{_ENT}"),
    _first_words(_PER_ENT_LEADS),
    after={  # ("i varje", "pa respektive", "for varje": one space)
        "i": (frozenset({"varje", "respektive"}), ()),
        "pa": (frozenset({"varje", "respektive"}), ()),
        "for": (frozenset({"varje"}), ()),
    },
)
_UNIT_ENT_PREPS = "per|varje|/|i|om"
_RX_UNIT_AND_ENT = _Anchored(
    _w(rf"(?:{_UNIT_ENT_PREPS})[ ]?(?:{_UNIT_ALT}){_SP}(?:och|per){_SP}{_ENT}"),
    _first_words(_UNIT_ENT_PREPS) | _glued(_UNIT_ENT_PREPS, UNIT_BY_WORD),
    after=dict.fromkeys(("i", "om"), (_UNIT_FIRSTS, ())),  # ("[ ]?" before the unit)
)
_PLURAL_PREPS, _PLURAL_QUANTS = "pa|i|vid|for|besoka|besoker|besoks", "kommunens|samtliga|alla|de|bada"
# (a match can also begin at the space before the quantifier word; it is then found, with
# the same groups, at the word itself)
_RX_PLURAL_ENT = _Anchored(
    _w(rf"(?:{_PLURAL_PREPS})?[ ]?(?:{_PLURAL_QUANTS})(?:{_SP}(?P<n>{_NUM}))?{_SP}{_ENT}"),
    _first_words(_PLURAL_PREPS) | _first_words(_PLURAL_QUANTS) | _glued(_PLURAL_PREPS, _PLURAL_QUANTS.split("|")),
    spaced=True,  # (the optional preposition, then "[ ]?")
    # (after a preposition, "[ ]?" and the quantifier word, whole: a space or a number follows it)
    after=dict.fromkeys(("i", "pa", "vid", "for"), (frozenset(_PLURAL_QUANTS.split("|")), ())),
)
_NUM_ENT_PREPS = "pa|i|vid"
_RX_NUM_ENT = _Anchored(_w(rf"(?:{_NUM_ENT_PREPS}){_SP}(?P<n>{_NUM}){_SP}{_ENT}"), _first_words(_NUM_ENT_PREPS))
_NOT_ENTITIES = set(UNIT_BY_WORD) | {
    "gang", "ganger", "tillfalle", "tillfallen", "person", "deltagare", "elev", "timme", "timmar", "besok",
    "insats", "vecka", "helg", "kvall", "natt", "vardag", "dag", "ar", "manad", "termin", "lasar",
    "trygghetsvandring", "aktivitet", "tillfallet", "sig", "sin", "sitt", "sina", "och", "en", "ett",
    "mote", "fall", "gangen", "hushall", "invanare", "anmalan", "arende", "individ",
}


def _entity_lemma(folded_word: str, original_word: str, *, plural: bool) -> str | None:
    if folded_word in _NOT_ENTITIES or folded_word in WEEKDAYS or len(folded_word) < 3:
        return None
    if number_value(folded_word) is not None:
        return None
    word = original_word.lower()
    return lemma_plural(word) if plural else lemma_singular(word)


def _is_entity_head(folded_lemma: str) -> bool:
    return folded_lemma.endswith(ENTITY_HEADS)


def _add_entity(w: _Work, per: list[str], m: re.Match[str], *, plural: bool, require_head: bool) -> None:
    """Add the entity of `m` (its group "e") to `per` and blank it, when it is one."""
    a, b = m.span("e")
    lemma = _entity_lemma(w.s[a:b], w.original[a:b], plural=plural)
    if lemma and (not require_head or _is_entity_head(fold(lemma))):
        if lemma not in per:
            per.append(lemma)
        w.blank(m, "e")


def _extract_per(w: _Work, has_period: bool) -> list[str]:
    per: list[str] = []
    # (each pattern is tried only when one of its words is in the index: most texts have few)
    if _RX_UNIT_AND_ENT.slot in w.starts:
        for m in _RX_UNIT_AND_ENT.finditer(w.s, w.starts):
            _add_entity(w, per, m, plural=False, require_head=False)
    if _RX_PER_ENT.slot in w.starts:
        for m in _RX_PER_ENT.finditer(w.s, w.starts):
            if m.group(0).startswith(("vid", "i varje")) and not _is_entity_head(m.group("e")):
                continue
            _add_entity(w, per, m, plural=False, require_head=False)
    if _RX_PLURAL_ENT.slot in w.starts:
        for m in _RX_PLURAL_ENT.finditer(w.s, w.starts):
            if has_period or m.group("n"):
                _add_entity(w, per, m, plural=True, require_head=True)
                if m.group("n"):
                    w.blank(m, "n")
    if not has_period:  # counted entities ("på tre skolor") are only read beside a period
        return per
    for m in _RX_NUM_ENT.finditer(w.s, w.starts):
        if has_period:
            before = len(per)
            _add_entity(w, per, m, plural=True, require_head=True)
            if len(per) > before:
                w.blank(m, "n")
    return per


# --- counts --------------------------------------------------------------------------------

_QMIN = r"minst|som minst|atminstone|inte mindre an|lagst|minimum|min\.|inte farre an|fler an"
_QMAX = r"hogst|som mest|som hogst|maximalt|max\.?|inte mer an|inte fler an|upp till"
_QAPPROX = r"totalt|sammanlagt|sammantaget|cirka|ca\.?|c:a|ungefar|omkring|runt|kring|drygt|knappt|nastan"
_RSEP = r"[ ]?(?:-|–|/)[ ]?|[ ]+(?:till|a|eller)[ ]+"
_RX_MIN_MAX = _Anchored(
    _w(rf"(?:{_QMIN}){_SP}(?P<a>{_NUM}){_SP}(?:och|men|,){_SP}(?:{_QMAX}){_SP}(?P<b>{_NUM})"), _first_words(_QMIN)
)
_RX_BETWEEN = _Anchored(_w(rf"mellan{_SP}(?P<a>{_NUM}){_SP}och{_SP}(?P<b>{_NUM})"), {"mellan"})
_RX_COUNT = _Anchored(
    _w(rf"(?:(?P<q>{_QMIN}|{_QMAX}|{_QAPPROX}){_SP})?(?P<a>{_NUM})(?:(?:{_RSEP})(?P<b>{_NUM}))?"),
    _first_words(f"{_QMIN}|{_QMAX}|{_QAPPROX}") | NUMBER_WORDS,
    numerals=True,
)
_TIMES_NOUNS = {"gang", "ganger", "ggr", "gg", "g", "g.", "tillfalle", "tillfallen", "omgang", "omgangar"}
_HOURS_NOUNS = {"timmar", "timme", "tim", "h", "timmars", "arbetstimmar", "timmes"}
_DAYS_NOUNS = {"dagar", "dag", "dygn", "arbetsdagar", "heldagar"}
_DURATION_NOUNS = {"veckor", "vecka", "veckors", "manader", "manad", "manaders", "ar", "ars", "terminer", "termin",
                   "lasar", "kvartal", "halvar", "minuter", "minut", "sekunder", "nätter"}
_PERSON_NOUNS = {
    "poliser", "polis", "personer", "person", "elever", "elev", "deltagare", "vuxna", "vuxen", "ungdomar",
    "barn", "foraldrar", "medarbetare", "anstallda", "tjanster", "tjanst", "ledamoter", "kommunpoliser",
    "individer", "unga", "ungdom", "tjej", "killar", "tjejer", "grupper", "sidor", "parter", "kommuner",
    "aktorer", "myndigheter", "organisationer", "fokusomraden", "omraden", "malgrupper", "ar",
}
_ARTICLES = {"en", "ett"}

@dataclass(slots=True)
class _CountHit:
    quota: Quota
    strong: bool  # a qualifier, a frequency noun or a number word beyond an article


_FOLLOW_TOKEN = _c(r"[\w](?:[\w/-]*[\w])?|[^\w\s]")
_FOLLOW_TOKEN_ASCII = _ascii_twin(_FOLLOW_TOKEN)


_FOLLOW_4 = "".join(rf"(?:\s*({_FOLLOW_TOKEN.pattern})" for _ in range(4)) + ")?" * 4
#: up to four tokens in one match: between two tokens there are only spaces (\s), as every other
#: character starts a token, so this takes the tokens `_FOLLOW_TOKEN.finditer` would find, in order
_FOLLOW_TOKENS_4 = _c(_FOLLOW_4)
_FOLLOW_TOKENS_4_ASCII = _ascii_twin(_FOLLOW_TOKENS_4)
#: the first of those tokens alone, the same token (all after it is optional in `_FOLLOW_4`, so
#: its first group takes the token's first choice): most counts are told by the word right after
#: the number, and the four-token match costs some three times as much as this one
_FOLLOW_FIRST = _c(rf"\s*({_FOLLOW_TOKEN.pattern})")
_FOLLOW_FIRST_ASCII = _ascii_twin(_FOLLOW_FIRST)


def _following_words(s: str, pos: int, n: int) -> list[str]:
    if n == 4:
        m = (_FOLLOW_TOKENS_4_ASCII if s.isascii() else _FOLLOW_TOKENS_4).match(s, pos, pos + 120)
        return [t for t in m.groups() if t is not None]  # type: ignore[union-attr]
    out = []
    for m in (_FOLLOW_TOKEN_ASCII if s.isascii() else _FOLLOW_TOKEN).finditer(s, pos, pos + 120):
        out.append(m.group(0))
        if len(out) >= n:
            break
    return out


#: `_preceding_word` reads the text backwards: the last word (``[\w][\w-]*`` followed by only
#: non-word characters) is, reversed, the first run of word characters and hyphens that ends
#: in a word character after the fewest characters skipped (the lazy ``\W*?``: a hyphen right
#: after the word belongs to it, as the greedy forward ``[\w-]*`` takes it)
_LAST_WORD_REVERSED = _c(r"\W*?([\w-]*\w)")


def _literals(alternation: str) -> frozenset[str]:
    """The strings a flat alternation of literals matches whole ("min\\." is "min.", "max\\.?" is
    "max" and "max."): a set look-up instead of a ``fullmatch``."""
    out: set[str] = set()
    for branch in alternation.split("|"):
        if branch.endswith(r"\.?"):
            out |= {branch[:-3], branch[:-3] + "."}
        else:
            out.add(branch.replace(r"\.", "."))
    return frozenset(out)


_QMIN_WORDS, _QMAX_WORDS = _literals(_QMIN), _literals(_QMAX)


def _preceding_word(s: str, pos: int) -> str:
    """The last word in the 40 characters before `pos`."""
    lo = pos - 40 if pos > 40 else 0
    if pos > 1 and s[pos - 1] == " ":
        # the common case, without the reversed copies: one space, and before it letters and
        # digits back to a space or the start of those 40 characters; that run is the last word
        # (the reversed scan skips the one space and takes the run: a space ends it, and no
        # hyphen follows it). `isalnum` is ``\w`` less "_" (a word with one reads on below)
        space = s.rfind(" ", lo, pos - 1)
        word = s[space + 1 if space >= 0 else lo : pos - 1]
        if word.isalnum():
            return word
    m = _LAST_WORD_REVERSED.match(s[lo:pos][::-1])
    return m.group(1)[::-1] if m else ""


def _count_noun(words: list[str]) -> tuple[str, str | None]:
    """Classify what follows a number: ('times'|'hours'|'days'|'thing'|'person'|'duration'|'none', noun)."""
    if len(words) > 1 and words[0] in ("per", "/", "i", "om", "varje", "a") and words[1] in UNIT_BY_WORD:
        return "times", None  # "minst 4 per år", "2/vecka": the count is of occasions
    for i, word in enumerate(words[:4]):
        if word in ("st", "stycken", "styck") or (word == "." and i and words[i - 1] == "st"):
            continue  # "6 st. riktade insatser"
        if word in _TIMES_NOUNS or word.startswith("gang") or word.endswith(("tillfallen", "tillfalle")):
            return "times", word
        if word in _HOURS_NOUNS:
            return "hours", word
        if word in _DAYS_NOUNS:
            return "days", word
        if word in _DURATION_NOUNS:
            return "duration", word
        if word in _PERSON_NOUNS:
            return "person", word
        if not word[:1].isalpha():
            return "none", None
        if word in ("och", "eller", "till", "av", "i", "per", "pa", "om", "med", "for", "under", "vid"):
            return ("none", None) if i == 0 else ("thing", words[i - 1])
        if i >= 1 and not _looks_adjective(word):
            return "thing", word
        if i == 0 and not _looks_adjective(word):
            return "thing", word
    return ("thing", words[-1]) if words else ("none", None)


def _first_noun(word: str) -> tuple[str, str | None] | None:
    """`_count_noun` of any words that begin with `word`, or None when the words after it may
    change it: after "per", "i", "om", "varje", "a" and "/" (a unit may follow), "st" (counted
    past) and an adjective (`_count_noun` reads on), and only then."""
    if word in ("per", "/", "i", "om", "varje", "a", "st", "stycken", "styck"):
        return None
    kind, noun = _count_noun([word])
    # ("thing" of one word: the word is no adjective, or `_count_noun` read past it to the end)
    return None if kind == "thing" and _looks_adjective(word) else (kind, noun)


#: `_first_noun` of each word seen
_FIRST_NOUN: WordMemo[tuple[str, str | None] | None] = WordMemo(_first_noun, 4096)

_NOUN_ENDINGS = ("ar", "er", "or", "n", "na", "ningar", "ioner", "ser", "ter", "ll", "k", "ok", "t", "g")


def _plausible_noun(noun: str | None) -> bool:
    """Does a word after a bare number look like a Swedish countable noun?"""
    if not noun or len(noun) < 4 or not noun.replace("-", "").isalpha():
        return False
    if not any(v in noun for v in "aeiouy"):
        return False
    return noun.endswith(_NOUN_ENDINGS)


def _looks_adjective(word: str) -> bool:
    return word.endswith(("a", "iga", "ade", "ande", "ende", "ska", "ra", "na", "ta", "da")) and not word.endswith(
        ("ning", "tion", "insats", "kontroll")
    ) and len(word) < 14 and word not in ("trafikdag", "enkat")


def _extract_count(w: _Work, *, has_period: bool, freq_period: bool) -> _CountHit | None:
    s = w.s
    starts = w.starts
    # (a pattern none of whose words is in the text is not searched: most texts have neither)
    m = _RX_MIN_MAX.search(s, starts) if _RX_MIN_MAX.slot in starts else None
    if m:
        a, b = number_value(m.group("a")), number_value(m.group("b"))
        if a is not None and b is not None and a <= b:
            kind, _ = _count_noun(_following_words(s, m.end(), 4))
            w.blank(m)
            return _CountHit(new_quota(a, b, _measure(kind)), strong=True)
    m = _RX_BETWEEN.search(s, starts) if _RX_BETWEEN.slot in starts else None
    if m:
        a, b = number_value(m.group("a")), number_value(m.group("b"))
        kind, _ = _count_noun(_following_words(s, m.end(), 4))
        if a is not None and b is not None and a <= b and kind in ("times", "hours", "days", "thing"):
            w.blank(m)
            return _CountHit(new_quota(a, b, _measure(kind)), strong=True)
    best: _CountHit | None = None
    best_m: re.Match[str] | None = None
    first = _FOLLOW_FIRST_ASCII if s.isascii() else _FOLLOW_FIRST
    for m in _RX_COUNT.finditer(s, starts):
        hit = _count_at(w, m, first, has_period=has_period, freq_period=freq_period)
        if hit is None:
            continue
        if hit.strong:
            best, best_m = hit, m
            break
        if best is None:
            best, best_m = hit, m
    if best and best_m:
        w.blank(best_m)
    return best


_MEASURES = {"hours": Measure.HOURS, "days": Measure.DAYS}
_TIMES = Measure.TIMES


def _measure(kind: str) -> Measure:
    return _MEASURES.get(kind, _TIMES)


def _count_at(
    w: _Work, m: re.Match[str], first: re.Pattern[str], *, has_period: bool, freq_period: bool
) -> _CountHit | None:
    """The count `m` of `_RX_COUNT` gives, if any (`first` is the `_FOLLOW_FIRST` that fits `w.s`)."""
    s = w.s
    q, a_txt, b_txt = m.groups()  # (its groups in order; one call, not one a group)
    a = number_value(a_txt)
    b = number_value(b_txt) if b_txt else None
    if a is None or a > 100000 or (b is not None and (b < a or b > 100000)):
        return None
    prev = _preceding_word(s, m.start())
    # (the words tested are set literals, constant frozensets: one hashed look-up, not a string
    # comparison a word of a tuple)
    if prev in {"ar", "vecka", "v", "nr", "klass", "arskurs", "den", "kapitel", "sida", "bilaga", "paragraf"}:
        return None
    end = m.end()
    token = first.match(s, end, end + 120)
    if token is None:  # nothing follows: `_count_noun` of no words is "none"
        return None
    word = token.group(1)  # `_following_words(s, end, 4)[0]`
    if word in {":e", ":a", "e", "a"} and not b_txt:
        return None
    told = _FIRST_NOUN[word]
    kind, noun = told if told is not None else _count_noun(_following_words(s, end, 4))
    article = a_txt in _ARTICLES and not q and b is None
    if kind in {"person", "none", "duration"}:
        return None
    if kind == "days" and not has_period and not q:
        return None  # "under tre dagar" is a duration
    if kind == "hours" and not has_period and not q:
        return None
    if kind == "thing" and prev in {"med", "for", "till", "fran", "av", "bland", "hos", "mellan", "at", "om"}:
        return None  # "tillsammans med två poliser", "för tre skolor"
    if kind == "thing" and prev in {"pa", "i", "vid", "kommunens"} and noun and _is_entity_head(noun):
        return None
    if kind == "thing" and not (q or has_period or w.window or w.deadline) and not _plausible_noun(noun):
        return None  # "123 zxcv": a number before something that is not a Swedish noun
    if article:
        if kind == "times":
            return _CountHit(new_quota(1, 1), strong=True)
        return _CountHit(new_quota(1, 1), strong=False) if freq_period else None
    # "ett antal", "ett par", "ett fåtal": vague, not counts
    if a_txt in _ARTICLES and word in {"antal", "par", "fatal", "flertal", "tiotal", "hundratal"}:
        return None
    lo: int | None = a
    hi: int | None = b if b is not None else a
    if q in _QMIN_WORDS:
        lo, hi = a, (b if b is not None else None)
    elif q in _QMAX_WORDS:
        lo, hi = (None, b) if b is not None else (None, a)
    return _CountHit(new_quota(lo, hi, _measure(kind)), strong=True)


# --- kinds ---------------------------------------------------------------------------------

# The markers of a conditional and of an event are one pattern each, tried (`_Anchored`) only
# at the words their branches start with: the common ones ("i", "om", "vid") fail at once.
# Vague markers are also found inside words ("samverkarkontinuerligt": `_w` binds its
# look-arounds to the first and last branch only), so they are a scan, behind a gate.
_RX_VAGUE = _g(
    _w(
        r"regelbund\w*|kontinuerlig\w*|lopande|fortlopande|aterkommande|frekvent\w*|ett antal|ett flertal|"
        r"flera(?: olika)? (?:tillfallen|ganger|insatser)|nagra (?:ganger|tillfallen)|ett par (?:ganger|tillfallen)|"
        r"tata (?:kontakter|besok|insatser|kontroller|moten|traffar)|tat kontakt|ofta|med jamna mellanrum|"
        r"stundtals|emellanat|periodvis|standigt|fortlopande|ett fatal|nagon gang|vid flera tillfallen|"
        r"i storre utstrackning|oftare|flitigt|tidvis"
    ),
    "regelbund", "kontinuerlig", "lopande", "aterkommande", "frekvent", "antal", "flertal", "flera", "nagra",
    "ett par", "tata", "tat kontakt", "ofta", "jamna", "stundtals", "emellanat", "periodvis", "standigt", "fatal",
    "nagon gang", "utstrackning", "flitigt", "tidvis",
)
# Conditions: "om" and "önskar" only at the start of a sentence or clause (after "," ";" "."),
# said with look-behinds so that a match starts at the word.
_CONDITIONALS = (
    r"(?:(?<![^,;.])|(?<=[,;.] ))om\s(?!aret\b|dagen\b|manaden\b|veckan\b)",
    r"(?:(?<![^,;])|(?<=[,;] ))onskar\s",
    r"\b(?:vid|efter|utifran|om) behov\b|\bbehov uppstar\b|\bbehovsprovat?\b",
    r"\b(?:da|nar) det (?:ar|anses|bedoms) (?:befogat|motiverat|lampligt|nodvandigt)|\bnar det behovs\b",
    r"\bom (?:\w+ ){0,6}(?:medger|kraver|tillater|onskar|onskas|behovs|uppstar|uppkommer|finns|visar|"
    r"foranleder|motiverar)\b",
    r"\bi man av\b|\bi den man\b",
    r"\bi forekommande fall\b",
    r"\b(?:vid|pa) (?:en )?(?:begaran|forfragan|efterfragan)\b",
    r"\bom mojligt\b|\bvid eventuell\w*\b|\bom sa (?:onskas|kravs)\b",
)
_RX_CONDITIONAL = _Anchored(
    "|".join(_CONDITIONALS),
    {"om", "onskar", "vid", "efter", "utifran", "behov", "behovsprova", "behovsprovat", "da", "nar", "i", "pa"},
    after={  # (the branches that begin with "i", "pa" and "vid", each with one space after the word)
        "i": (frozenset({"man", "den", "forekommande"}), ()),
        "pa": (frozenset({"en", "begaran", "forfragan", "efterfragan"}), ()),
        "vid": (frozenset({"behov", "en", "begaran", "forfragan", "efterfragan"}), ("eventuell",)),
    },
)
_EVENT_NOUNS = (
    r"\w*mote[nt]?|\w*moten(?:a)?|\w*sammantrade\w*|hogtid\w*|\w*evenemang\w*|\w*event\w*|skolstart\w*|lovstart\w*|"
    r"terminsstart\w*|\w*avslutning\w*|\w*vandring(?:en|ar|arna)?|\w*traff(?:en|ar|arna)?|\w*konferens\w*|"
    r"valborg\w*|midsommar\w*|nyar\w*|halloween|lucia|student\w*|jul(?:en|afton)?|pask(?:en)?|\w*lovet|"
    r"\w*marknad\w*|\w*festival\w*|\w*dagar(?:na)?"
)
_RX_EVENT = _Anchored(
    rf"\bi samband med\b|\bi anslutning till (?:{_EVENT_NOUNS})\b|\bvid (?:varje|alla|samtliga|de|kommande) \w+|"
    rf"\bvid (?:\w+s )?(?:forsta |nasta |kommande |stora |storre )?(?:{_EVENT_NOUNS})\b|"
    rf"\binfor (?:varje |de |den |det )?(?:{_EVENT_NOUNS}|sommar(?:en|lovet)?|hosten|varen|lovet|skolstarten)\b|"
    r"\befter (?:sommaren|lovet|utgangen|varje|avslutad\w*|genomford\w*)\b|\bforsta \w+ (?:\w+ )?efter\b|"
    r"\bnar (?:\w+ ){0,3}(?:ställs upp|stalls upp|ager rum|genomfors|arrangeras)\b",
    {"i", "vid", "infor", "efter", "forsta", "nar"},
    after={"i": (frozenset({"samband", "anslutning"}), ())},  # ("i samband med", "i anslutning till")
)


def _is_conditional(s: str, starts: _Index) -> bool:
    return _RX_CONDITIONAL.search(s, starts) is not None


def _is_event(s: str, starts: _Index) -> bool:
    return _RX_EVENT.search(s, starts) is not None


#: `_RX_VAGUE`'s hints of letters only; the others are "ett par", "nagon gang" and "tat kontakt" (`_is_vague`)
_VAGUE_WORD_HINTS = tuple(h for h in _RX_VAGUE.hints if h.isalpha())
if sorted(set(_RX_VAGUE.hints) - set(_VAGUE_WORD_HINTS)) != ["ett par", "nagon gang", "tat kontakt"]:  # (written out in `_is_vague`)
    raise AssertionError("_is_vague: a hint of _RX_VAGUE that is not letters")
_VAGUE_PIECES = _PieceGate(_VAGUE_WORD_HINTS)


def _is_vague(s: str, pieces: list[str] | None) -> bool:
    """Whether `s` has a vague marker; `pieces` is `_pieces_of` the text `s` was blanked from, or None.

    `_RX_VAGUE`'s gate, by pieces (`_PieceGate`: twenty-odd substring scans of the whole text
    cost several times its look-ups); the three hints with a space are looked for in `s` itself.
    ("tat kontakt" and "tata" are hints, not "tat": "resultat" and "stationen" hold that, and a
    miss of the gate costs a scan by the pattern.)
    """
    if (
        pieces is not None
        and not _VAGUE_PIECES.held(pieces)
        and "ett par" not in s
        and "nagon gang" not in s
        and "tat kontakt" not in s
    ):
        return False
    return _RX_VAGUE.search(s) is not None


# --- the index of anchored patterns' starts (all `_Anchored` patterns are defined above) ---

_LEAD_TOKEN = (
    rf"({_trie(_ANCHOR_WORDS)}(?![\w])"
    + "".join(f"|{re.escape(p)}\\w*" for p in _ANCHOR_PREFIXES)
    + r"|\d\w*|/)"
)
_LEAD_PATTERN = rf"[^\w](?={_LEAD_TOKEN})"


@lru_cache(maxsize=1)
def _lead() -> re.Pattern[str]:
    """The scan of text with other characters than ASCII (`_index` splits ASCII text),
    compiled when first needed."""
    return re.compile(_LEAD_PATTERN)


# --- the parser ----------------------------------------------------------------------------


def parse_sv(text: str, *, today: dt.date) -> Rule:
    """Parse one Swedish activity sentence into a :class:`Rule`; never raises.

    ``today`` fills in a missing year: "i januari" is the next January on or after it.
    For many sentences at once (a document, a promise file, lines on standard input),
    :func:`parse_many` gives the same rules faster.

    >>> r = parse_sv("Minst en gång per termin och högstadieskola.", today=dt.date(2019, 1, 15))
    >>> r.kind.value, r.quota.min, r.quota.max, r.period.unit.value, r.per
    ('quota', 1, None, 'term', ('högstadieskola',))
    >>> from rules.explain_sv import explain_sv
    >>> explain_sv(parse_sv("2 ggr/mån", today=dt.date(2025, 1, 1)))
    '2 gånger per månad'
    """
    try:
        return _parse_batch([text], [today])[0]
    except Exception as exc:  # pragma: no cover - a parser bug must never crash an import
        return _failed(text, exc)


#: how many sentences `parse_many` takes through the passes together
BATCH = 128


def parse_many(texts: Iterable[str], *, today: dt.date | Sequence[dt.date]) -> list[Rule]:
    """``[parse_sv(t, today=today) for t in texts]``, the same rules, in about two thirds of the time.

    `today` is one date for all the texts, or one date per text. The sentences go through the
    parser's passes (cleaning, dates, periods, counts, ...) `BATCH` at a time, each pass over
    all of them before the next: one pass's code and tables stay in the processor's caches
    while it reads the batch, where one sentence at a time runs every pass cold. Nothing is
    shared between the sentences but the per-word caches ``parse_sv`` has too, so each rule is
    what ``parse_sv`` gives (a test compares the two over thousands of sentences).

    >>> [r.kind.value for r in parse_many(["Minst 2 gånger per termin.", "", "Vid behov."], today=dt.date(2025, 8, 15))]
    ['quota', 'untimed', 'conditional']
    """
    texts = list(texts)
    todays = [today] * len(texts) if isinstance(today, dt.date) else list(today)
    if len(todays) != len(texts):
        raise ValueError(f"parse_many: {len(texts)} texts but {len(todays)} dates")
    rules: list[Rule] = []
    for a in range(0, len(texts), BATCH):
        batch, batch_todays = texts[a : a + BATCH], todays[a : a + BATCH]
        try:
            rules += _parse_batch(batch, batch_todays)
        except Exception:  # pragma: no cover - a parser bug: each sentence again, on its own
            rules += [parse_sv(t, today=d) for t, d in zip(batch, batch_todays, strict=True)]
    return rules


def _failed(text: object, exc: Exception) -> Rule:
    text = text if isinstance(text, str) else str(text)
    return Rule(text=text, kind=Kind.UNTIMED, notes=(f"internt fel i tolkningen: {type(exc).__name__}",))


def _parse_batch(texts: list[str], todays: list[dt.date]) -> list[Rule]:
    """The rules of `texts`: every pass over all of them in turn (see `parse_many`)."""
    rules: list[Rule | None] = [None] * len(texts)
    ws: list[_Work] = []
    for i, (given, today) in enumerate(zip(texts, todays, strict=True)):
        text = given if isinstance(given, str) else str(given)
        if len(text) > MAX_TEXT or not text.strip():
            note = "texten är för lång för en aktivitetsmening" if text.strip() else "tom text"
            rules[i] = Rule(text=text, kind=Kind.UNTIMED, notes=(note,))
        else:
            ws.append(_Work(i, text, today))
    for w in ws:
        w.original = _clean(w.text)
    for w in ws:
        w.original, w.responsible = _split_trailing_responsible(w.original)
    for w in ws:
        w.f = fold(w.original)
    for w in ws:
        w.pieces = _pieces_of(w.f)
    for w in ws:
        f, pieces = w.f, w.pieces
        s = correct_typos(f, pieces)
        if len(s) != len(f):  # typo correction changed lengths: fall back to the uncorrected text
            s = f
        if s is not f and pieces is not None:  # (a correction: the pieces change)
            w.pieces = _pieces_of(s)
        w.s = s
    for w in ws:
        w.starts = _index(w.s, w.pieces)
    for w in ws:
        if not w.responsible:
            w.responsible = _subject_parties(w.original, w.f)
    for w in ws:
        _extract_windows(w)
    for w in ws:
        _extract_named_windows(w)
    for w in ws:
        _extract_deadlines(w)
    # the kind markers are read in the text as it is now, each only when the kind depends on it
    for w in ws:
        s = w.marked = w.s
        w.marked_starts = w.starts
        # (`_RX_AVERAGE`'s gate inline: most sentences have neither hint)
        if "snitt" in s or "medel" in s:
            averages = list(_RX_AVERAGE.finditer(s))
            for m in averages:
                w.blank(m)
            w.average = bool(averages)
        else:
            w.average = False
    for w in ws:
        if w.digits:  # (blanking only takes away digits)
            _blank_noise(w)
    for w in ws:
        w.period_hit = _extract_period(w)
    for w in ws:
        w.per = _extract_per(w, has_period=w.period_hit is not None)
    for w in ws:
        period_hit = w.period_hit
        w.count = _extract_count(
            w, has_period=period_hit is not None, freq_period=bool(period_hit and period_hit.implies_once)
        )
    for w in ws:
        rules[w.i] = _rule(w)
    return rules  # type: ignore[return-value]


def _rule(w: _Work) -> Rule:
    """The rule the passes read: the kind, and what that kind keeps."""
    count, period_hit, per = w.count, w.period_hit, w.per
    quota: Quota | None = count.quota if count else None
    # vague markers: the priciest test (a scan by `_RX_VAGUE` behind its gate), read only where the kind depends on
    # it: a frequency word's quota, else a rule that is neither conditional nor an event (None: not read)
    vague: bool | None = False
    if quota is None:
        vague = None
        if period_hit and period_hit.implies_once:
            vague = _is_vague(w.marked, w.pieces)
            if not vague:
                quota = new_quota(period_hit.implied, period_hit.implied)
    period = period_hit.period if period_hit and quota else None
    average = w.average

    if _is_conditional(w.marked, w.marked_starts):
        kind = _CONDITIONAL
    elif _is_event(w.marked, w.marked_starts):
        kind = _EVENT
    elif quota is not None:
        kind = _QUOTA
    elif vague if vague is not None else _is_vague(w.marked, w.pieces):
        kind = _VAGUE
    else:
        kind = _UNTIMED
    if kind is _VAGUE or kind is _UNTIMED:
        quota, period, per = None, None, []
    if kind is _EVENT and quota is None:
        period = None
    if period is None:
        average = False
    if quota is None:
        per = [] if kind is not _EVENT else per
    return new_rule(
        w.text, kind, quota, period, average, tuple(per), w.window, w.deadline, tuple(w.responsible), w.lov, ()
    )


#: (enum members read off their class cost an ``EnumType.__getattr__`` slot call each: read once)
_CONDITIONAL, _EVENT, _QUOTA, _VAGUE, _UNTIMED = Kind.CONDITIONAL, Kind.EVENT, Kind.QUOTA, Kind.VAGUE, Kind.UNTIMED
_WEEK, _DAY = Unit.WEEK, Unit.DAY
