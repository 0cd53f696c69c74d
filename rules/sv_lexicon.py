"""Swedish word lists and small morphology used by the parser and the explainer.

Every form here is *folded*: lower case, with å/ä → a, ö → o, é → e, so that
text written without diacritics ("gang", "manad") reads the same as text with
them. ``fold`` keeps the string's length, so positions in folded text are
positions in the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from rules.model import Unit

_V = TypeVar("_V")

__all__ = [
    "MONTHS",
    "NUMBER_WORDS",
    "NUMWORD_RE",
    "ORDINALS",
    "UNIT_BY_WORD",
    "fold",
    "lemma_plural",
    "number_value",
]


class WordMemo(dict[str, _V]):
    """The values of a pure function of one word, looked up as ``memo[word]``.

    What ``functools.lru_cache`` gives, at a fraction of its cost per call: a hit is one C-level
    dict look-up (``memo[word]`` or ``map(memo.__getitem__, words)``), with no call of a
    Python-level wrapper and no argument tuple. A miss computes the value (`__missing__`); at
    `limit` words the memo starts over, so its size stays bounded on any input.
    """

    __slots__ = ("fn", "limit")

    def __init__(self, fn: Callable[[str], _V], limit: int) -> None:
        super().__init__()
        self.fn = fn
        self.limit = limit

    def __missing__(self, word: str) -> _V:
        value = self.fn(word)
        if len(self) >= self.limit:
            self.clear()
        self[word] = value
        return value


_FOLD = {
    "å": "a", "ä": "a", "à": "a", "á": "a", "â": "a", "æ": "a",
    "ö": "o", "ø": "o", "ó": "o", "ò": "o", "ô": "o",
    "é": "e", "è": "e", "ê": "e", "ë": "e",
    "ü": "u", "ú": "u", "í": "i", "ï": "i", "ç": "c", "ñ": "n",
}
# str.translate with a dict looks every character up one by one (about 10 µs for a sentence);
# one C-level str.replace per letter that occurs is several times faster and gives the same string.
_FOLD_PAIRS = tuple(_FOLD.items())
#: lower case and `_FOLD` in one `bytes.translate` table of Latin-1: every Latin-1 character's
#: lower case is one Latin-1 character (whatever its neighbours), and every letter `_FOLD` folds is
#: Latin-1, so Latin-1 text folds by one C-level byte translation (``str.lower`` looks each
#: character beyond ASCII up in the Unicode tables)
_LOWER_FOLD_LATIN1 = bytes(ord(_FOLD.get(chr(c).lower(), chr(c).lower())) for c in range(256))


def fold(text: str) -> str:
    """Lower-case and strip Swedish diacritics, keeping the length.

    >>> fold("Två gånger i MÅNADEN")
    'tva ganger i manaden'
    """
    if text.isascii():
        return text.lower()
    try:  # text of Latin-1 characters (nearly all Swedish text): one C-level byte translation
        return text.encode("latin-1").translate(_LOWER_FOLD_LATIN1).decode("latin-1")
    except UnicodeEncodeError:  # a wider character ("–", "€")
        pass
    low = text.lower()
    if len(low) != len(text):  # a rare character whose lower case is longer (e.g. 'İ')
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if low.isascii():
        return low
    for char, plain in _FOLD_PAIRS:
        if char in low:
            low = low.replace(char, plain)
    return low


# --- numbers -------------------------------------------------------------------------------

_UNITS = {"en": 1, "ett": 1, "tva": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6, "sju": 7, "atta": 8, "nio": 9}
_TEENS = {
    "tio": 10, "elva": 11, "tolv": 12, "tretton": 13, "fjorton": 14, "femton": 15, "sexton": 16,
    "sjutton": 17, "arton": 18, "aderton": 18, "nitton": 19,
}
_TENS = {
    "tjugo": 20, "trettio": 30, "fyrtio": 40, "femtio": 50, "sextio": 60, "sjuttio": 70,
    "attio": 80, "nittio": 90,
}
_U = "|".join(sorted(_UNITS, key=len, reverse=True))
_T = "|".join(sorted(_TEENS, key=len, reverse=True))
_X = "|".join(sorted(_TENS, key=len, reverse=True))
_SUB100 = rf"(?:(?:{_X})(?:{_U})?|{_T}|{_U})"
_SUB100_WORDS = {x + u for x in _TENS for u in ("", *_UNITS)} | set(_TEENS) | set(_UNITS)
#: a number written in words, from "en" to "niohundranittionio" (and "tusen").
NUMWORD_RE = rf"(?:(?:{_U})?hundra{_SUB100}?|{_SUB100}|tusen)"
#: every word NUMWORD_RE matches whole (about 1,300): the parser looks tokens up here instead of scanning.
NUMBER_WORDS = frozenset(
    {u + "hundra" + rest for u in ("", *_UNITS) for rest in ("", *_SUB100_WORDS)} | _SUB100_WORDS | {"tusen"}
)
_NUMWORD_FULL = re.compile(rf"(?:(?P<h>{_U})?(?P<hundra>hundra))?(?P<rest>(?P<x>{_X})?(?P<u>{_T}|{_U})?)")

ORDINALS = {
    "andra": 2, "tredje": 3, "fjarde": 4, "femte": 5, "sjatte": 6, "sjunde": 7, "attonde": 8,
    "nionde": 9, "tionde": 10, "elfte": 11, "tolfte": 12, "fjortonde": 14, "femtonde": 15,
}


def number_value(token: str) -> int | None:
    """The value of a folded number token: digits ("1 200", "12") or words ("tolv", "tjugofem").

    >>> number_value("tjugofem"), number_value("1 200"), number_value("tva"), number_value("bil")
    (25, 1200, 2, None)
    """
    return NUMBER_VALUES[token]


def _number_value(token: str) -> int | None:
    token = token.strip()
    compact = token.replace(" ", "").replace("\u00a0", "")
    if compact.isdigit():
        return int(compact)
    if token == "tusen":  # noqa: S105 - a number word, not a password
        return 1000
    m = _NUMWORD_FULL.fullmatch(token)
    if not m or not token:
        return None
    value = 0
    if m.group("hundra"):
        value += 100 * (_UNITS[m.group("h")] if m.group("h") else 1)
    if m.group("x"):
        value += _TENS[m.group("x")]
    if m.group("u"):
        u = m.group("u")
        value += _TEENS.get(u) or _UNITS[u]
        if m.group("x") and u in _TEENS:  # "tjugotolv" is not a number
            return None
    return value if value or token else None


#: `number_value` of each token seen (``NUMBER_VALUES[token]``: the parser's look-up, without a call)
NUMBER_VALUES: WordMemo[int | None] = WordMemo(_number_value, 4096)


# --- calendar words ------------------------------------------------------------------------

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "mars": 3, "mar": 3, "april": 4, "apr": 4,
    "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "augusti": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
#: month names written in full (the bare abbreviations "jul", "mar" are ordinary words too).
FULL_MONTHS = [m for m in MONTHS if len(m) > 4 or m in ("mars", "maj", "juni", "juli")]

#: period words (indefinite, definite and abbreviated forms) and the unit they name.
UNIT_BY_WORD: dict[str, Unit] = {}
for _unit, _forms in {
    Unit.DAY: ["dag", "dagen", "dygn", "dygnet", "d"],
    Unit.WEEK: ["vecka", "veckan", "v", "v.", "vec", "veckor"],
    Unit.MONTH: ["manad", "manaden", "man", "man.", "manader", "mnd", "mnd."],
    Unit.QUARTER: ["kvartal", "kvartalet"],
    Unit.TERTIAL: ["tertial", "tertialet"],
    Unit.HALF_YEAR: ["halvar", "halvaret"],
    Unit.TERM: ["termin", "terminen", "terminer", "host- och vartermin", "var- och hosttermin",
                "hosttermin och vartermin", "vartermin och hosttermin"],
    Unit.SCHOOL_YEAR: ["lasar", "lasaret"],
    Unit.YEAR: ["ar", "aret", "kalenderar", "kalenderaret"],
}.items():
    for _form in _forms:
        UNIT_BY_WORD[_form] = _unit

#: adverbs that name a frequency of once per unit.
FREQ_ADVERBS: dict[str, Unit] = {
    "dagligen": Unit.DAY, "dagligdags": Unit.DAY,
    "veckovis": Unit.WEEK, "veckovisa": Unit.WEEK,
    "manadsvis": Unit.MONTH, "manatligen": Unit.MONTH, "manadligen": Unit.MONTH, "manatliga": Unit.MONTH,
    "kvartalsvis": Unit.QUARTER, "kvartalsvisa": Unit.QUARTER,
    "tertialvis": Unit.TERTIAL, "tertialsvis": Unit.TERTIAL,
    "halvarsvis": Unit.HALF_YEAR, "halvarligen": Unit.HALF_YEAR,
    "terminsvis": Unit.TERM,
    "lasarsvis": Unit.SCHOOL_YEAR,
    "arligen": Unit.YEAR, "arsvis": Unit.YEAR, "arliga": Unit.YEAR, "arlig": Unit.YEAR, "arligt": Unit.YEAR,
}

WEEKDAYS = {
    "mandag": 0, "tisdag": 1, "onsdag": 2, "torsdag": 3, "fredag": 4, "lordag": 5, "sondag": 6,
}

#: the Swedish name of each unit, singular indefinite (for explanations).
UNIT_SV = {
    Unit.DAY: "dag", Unit.WEEK: "vecka", Unit.MONTH: "månad", Unit.QUARTER: "kvartal",
    Unit.TERTIAL: "tertial", Unit.HALF_YEAR: "halvår", Unit.TERM: "termin",
    Unit.SCHOOL_YEAR: "läsår", Unit.YEAR: "år",
}
#: units whose noun is neuter ("vartannat år") rather than common gender ("varannan vecka").
NEUTER_UNITS = {Unit.QUARTER, Unit.TERTIAL, Unit.HALF_YEAR, Unit.SCHOOL_YEAR, Unit.YEAR}


# --- nouns ---------------------------------------------------------------------------------

_PLURAL_RULES = (
    ("orna", "a"), ("arna", ""), ("erna", ""), ("ena", "e"), ("na", ""),
    ("or", "a"), ("ar", ""), ("er", ""), ("en", "e"),
)


def lemma_plural(word: str) -> str:
    """Singular indefinite form of a plural Swedish noun (folded or not).

    >>> [lemma_plural(w) for w in ["högstadieskolor", "fritidsgårdarna", "tätorter", "butiker",
    ...                             "försäljningsställen", "klasser"]]
    ['högstadieskola', 'fritidsgård', 'tätort', 'butik', 'försäljningsställe', 'klass']
    """
    for suffix, repl in _PLURAL_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + repl
    return word


def lemma_singular(word: str) -> str:
    """Singular indefinite form of a singular noun, definite or not ("skolan" → "skola").

    >>> [lemma_singular(w) for w in ["skolan", "fritidsgården", "stället", "skola", "butik"]]
    ['skola', 'fritidsgård', 'ställe', 'skola', 'butik']
    """
    if word.endswith("an") and len(word) > 4 and word[-3] not in "aeiouyåäö":
        return word[:-1]
    if word.endswith("et") and len(word) > 4:
        return word[:-1]
    if word.endswith("en") and len(word) > 4 and word[-3] not in "aeiouyåäö":
        return word[:-2]
    return word


#: heads of entity kinds that per-entity quotas multiply over (folded, singular).
ENTITY_HEADS = (
    "skola", "gard", "tatort", "ort", "butik", "klass", "forening", "stadsdel", "omrade", "boende",
    "restaurang", "stalle", "enhet", "kommundel", "by", "fritidshem", "bibliotek", "station", "park",
    "torg", "ombud", "verksamhet", "arskurs", "grupp", "skolklass", "forskola", "anlaggning",
)
