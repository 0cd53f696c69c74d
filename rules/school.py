"""School-year calendars per kommun: terms, lov, lovdagar, and a small text format.

Every kommun (huvudman) decides its own läsårstider and no national machine-readable
source exists (``../shared/reference/school-year.md``). The engine therefore keeps one
``SchoolCalendar`` per kommun, read from a coordinator's text file (or inlined in a
promise file), or estimated with ``estimated_school_calendar`` and marked *estimated*
until someone confirms it.

Model
-----
* ``Term``: a hösttermin (``HT``) or vårtermin (``VT``), first and last teaching day,
  both inclusive. A hösttermin lies inside 1 July–31 December, a vårtermin inside
  1 January–30 June of its year, so terms line up with the ``term`` periods of
  ``rules.periods`` (HT = July–December, VT = January–June). This also means two terms
  can only overlap when the same term is given twice.
* ``Break``: a named lov (``höstlov``, ``jullov``, ``sportlov``, ``påsklov``,
  ``sommarlov``) or a single day off (``lovdag``, ``studiedag``), both ends inclusive.
  ``läslov`` is read as ``höstlov``. A break other than jullov/sommarlov must lie inside
  one term; jullov and sommarlov must lie between the first term's start and the last
  term's end. Breaks must not overlap each other.
* The days between a hösttermin and the next year's vårtermin are jullov, and the days
  between a vårtermin and the same year's hösttermin are sommarlov, even when the file
  names no such break (``is_lov`` is true; ``break_named`` returns an implied break).
* ``is_school_day(d)``: ``d`` lies in a term, in no break, and is a working day of the
  calendar's ``WorkCalendar`` (no weekend, no PUBLIC/DE_FACTO holiday). Klämdagar are
  school days unless the file lists them as lovdag (as most kommuner do for the Friday
  after Kristi himmelsfärd).

The file format
---------------
UTF-8 text, one entry a line. Grammar (``[...]`` optional, ``|`` alternatives)::

    line      = blank | comment | entry [comment]
    comment   = "#" any text up to the end of the line
    entry     = key ":" value [marker]
    key       = "kommun" | "län" | "bekräftad"
              | ("ht" | "vt") " " YEAR
              | LOV [" " YEAR]
    LOV       = "höstlov" | "läslov" | "jullov" | "sportlov" | "påsklov" | "sommarlov"
              | "lovdag" | "lovdagar" | "studiedag" | "studiedagar"
    value     = text                                   (kommun: the kommun's name)
              | LÄN                                    (län: one of the 21 län)
              | "ja" | "nej"                           (bekräftad)
              | RANGE                                  (ht/vt: first and last teaching day)
              | RANGE | DATE | WEEKS                   (a lov)
              | (DATE | RANGE) {"," (DATE | RANGE)}    (lovdag/studiedag: one or more)
    RANGE     = DATE SEP DATE,  SEP = "–" | "—" | ".." | " - " (hyphen between spaces) | " till "
    DATE      = YYYY-MM-DD (ISO 8601)
    WEEKS     = ("v" | "vecka") N [SEP' ["v"] M]       ISO week N (to week M) of YEAR, Monday–Sunday
    marker    = "(uppskattad)" | "(bekräftad)"         overrides "bekräftad" for this line
    YEAR      = four digits

Rules:

* Keys are case-insensitive and may be written without å/ä/ö (``lan``, ``hostlov``).
* ``kommun`` and at least one term are required; ``län`` is optional and is stored
  under its short name (``Skåne`` for "Skåne län"); ``bekräftad`` defaults to ``nej``,
  which marks every entry *estimated*. Each of ``kommun``, ``län``, ``bekräftad``,
  ``ht YEAR``, ``vt YEAR`` and ``LOV YEAR`` (except lovdag/studiedag) may occur once.
* ``ht 2025`` must lie inside 2025-07-01 – 2025-12-31 and ``vt 2026`` inside
  2026-01-01 – 2026-06-30.
* A lov given in weeks needs the YEAR (the ISO week-year): ``sportlov 2026: v8``.
  A lov given in dates may omit it; when present it must be the start date's year.
* Every mistake raises ``CalendarFileError(path, line, field, problem)`` with the
  problem in Swedish, for example ``okänt datum '2025-13-01'``, ``slutdatum före
  startdatum``, ``okänd nyckel 'hostlv'``, ``vecka 53 finns inte år 2025``,
  ``höstlov 2026 (2026-10-26 – 2026-11-01) ligger utanför terminerna``.

Example (``examples/calendars/`` holds complete files)::

    # Läsårstider, Åstorp kommun
    kommun: Åstorp
    län: Skåne
    bekräftad: nej
    ht 2025: 2025-08-18 – 2025-12-19
    höstlov 2025: v44
    studiedag: 2025-09-26
    vt 2026: 2026-01-08 – 2026-06-11
    sportlov 2026: v8
    påsklov 2026: 2026-03-30 – 2026-04-06   # stilla veckan och annandag påsk
    lovdag: 2026-05-15 (bekräftad)

>>> cal = parse_school_calendar(EXAMPLE, source="exempel.txt")
>>> cal.kommun, cal.lan, [t.key for t in cal.terms]
('Åstorp', 'Skåne', ['2025-HT', '2026-VT'])
>>> cal.is_school_day(dt.date(2025, 10, 28)), cal.break_at(dt.date(2025, 10, 28)).name
(False, 'höstlov')
>>> cal.is_school_day(dt.date(2025, 10, 21)), cal.is_lov(dt.date(2025, 12, 29))
(True, True)

The same content can come from a YAML promise file as ``(key, value, line)`` entries,
see ``SchoolCalendar.from_entries``; ``SchoolCalendar.to_text`` writes the format back.

Estimated defaults
------------------
``estimated_school_calendar`` builds a calendar from the typical year of the reference:

* hösttermin: Monday of ISO week 34 (16–23 Aug) to the last weekday on or before 21 Dec;
* höstlov: ISO week 44, Monday–Sunday;
* jullov: the days between the hösttermin and the vårtermin;
* vårtermin: the first weekday on or after 8 Jan to the Friday of ISO week 24
  (11–18 June; the previous working day should that be a holiday). With the hösttermin
  above this gives 182–189 school days a läsår, above the legal minimum of 178
  (skolförordningen 3 kap.); ending on the Friday on or before 14 June instead would
  fall to 177 in years such as 2027/28.
* sportlov: the län's week (``SPORTLOV_WEEK``), Monday–Sunday;
* påsklov: ``"before"`` = Monday–Sunday of the week of Easter Sunday (stilla veckan),
  ``"after"`` = Easter Monday to the Sunday after;
* one lovdag: the Friday after Kristi himmelsfärd (a klämdag most kommuner close).

Everything it returns is ``estimated=True``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from dateutil.easter import easter

from rules.errors import CalendarFileError, RuleValueError
from rules.holidays_se import WorkCalendar

__all__ = [
    "BREAK_NAMES",
    "LAN",
    "SPORTLOV_WEEK",
    "Break",
    "SchoolCalendar",
    "Term",
    "TermKind",
    "canonical_lan",
    "estimated_school_calendar",
    "parse_school_calendar",
]

_ONE_DAY = dt.timedelta(days=1)

#: The break names the model knows, canonical spelling.
BREAK_NAMES = ("höstlov", "jullov", "sportlov", "påsklov", "sommarlov", "lovdag", "studiedag")
#: Names between terms rather than inside one.
_BETWEEN_TERMS = frozenset({"jullov", "sommarlov"})
#: Single days off: several per year, so their keys may repeat.
_DAYS_OFF = frozenset({"lovdag", "studiedag"})

#: The 21 län: short name → (official name, default sportlov ISO week).
#: Weeks from Skolporten's 2020/21 table; where it gives a range (Uppsala 8–9,
#: Östergötland 7–8, Halland 7–8, Västra Götaland 7–10, Gävleborg 9–10) one week was
#: picked. Kommuner inside a län deviate: a default only, to be confirmed.
LAN: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "Stockholm": ("Stockholms län", 9),
        "Uppsala": ("Uppsala län", 9),
        "Södermanland": ("Södermanlands län", 8),
        "Östergötland": ("Östergötlands län", 8),
        "Jönköping": ("Jönköpings län", 7),
        "Kronoberg": ("Kronobergs län", 8),
        "Kalmar": ("Kalmar län", 8),
        "Gotland": ("Gotlands län", 9),
        "Blekinge": ("Blekinge län", 8),
        "Skåne": ("Skåne län", 8),
        "Halland": ("Hallands län", 8),
        "Västra Götaland": ("Västra Götalands län", 7),
        "Värmland": ("Värmlands län", 9),
        "Örebro": ("Örebro län", 8),
        "Västmanland": ("Västmanlands län", 9),
        "Dalarna": ("Dalarnas län", 9),
        "Gävleborg": ("Gävleborgs län", 9),
        "Västernorrland": ("Västernorrlands län", 10),
        "Jämtland": ("Jämtlands län", 10),
        "Västerbotten": ("Västerbottens län", 10),
        "Norrbotten": ("Norrbottens län", 10),
    }
)
#: Short län name → default sportlov ISO week.
SPORTLOV_WEEK: Mapping[str, int] = MappingProxyType({name: week for name, (_, week) in LAN.items()})


def _fold(text: str) -> str:
    """Lower case without diacritics, whitespace collapsed: 'Höstlov  2025' → 'hostlov 2025'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def _lan_token(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _fold(text))


_LAN_ALIASES: dict[str, str] = {}
for _short in LAN:
    _LAN_ALIASES[_lan_token(_short)] = _short
    _LAN_ALIASES[_lan_token(_short) + "s"] = _short


def canonical_lan(name: str) -> str:
    """The short name of a län, written with or without "län", genitive -s or diacritics.

    >>> canonical_lan("Västra Götalands län"), canonical_lan("varmland"), canonical_lan("Skåne län")
    ('Västra Götaland', 'Värmland', 'Skåne')
    """
    token = _lan_token(name)
    if token.endswith("lan") and token[:-3] in _LAN_ALIASES:
        token = token[:-3]
    try:
        return _LAN_ALIASES[token]
    except KeyError:
        raise RuleValueError(f"okänt län '{name}'") from None


_BREAK_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "hostlov": "höstlov",
        "laslov": "höstlov",
        "jullov": "jullov",
        "sportlov": "sportlov",
        "pasklov": "påsklov",
        "sommarlov": "sommarlov",
        "lovdag": "lovdag",
        "lovdagar": "lovdag",
        "studiedag": "studiedag",
        "studiedagar": "studiedag",
    }
)


def _canonical_break(name: str) -> str | None:
    return _BREAK_ALIASES.get(_fold(name))


class TermKind(StrEnum):
    """Which term of the läsår."""

    HT = "HT"  #: hösttermin, inside July–December
    VT = "VT"  #: vårtermin, inside January–June


_TERM_LABEL = {TermKind.HT: "höstterminen", TermKind.VT: "vårterminen"}


def _half_year(kind: TermKind, year: int) -> tuple[dt.date, dt.date]:
    if kind is TermKind.HT:
        return dt.date(year, 7, 1), dt.date(year, 12, 31)
    return dt.date(year, 1, 1), dt.date(year, 6, 30)


def _check_dates(start: dt.date, end: dt.date) -> None:
    for value in (start, end):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise RuleValueError(f"väntade ett datum, inte {value!r}")
    if end < start:
        raise RuleValueError(f"slutdatum före startdatum ({start} – {end})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Term:
    """A hösttermin or vårtermin: first and last teaching day, both inclusive.

    >>> t = Term(kind="HT", start=dt.date(2025, 8, 18), end=dt.date(2025, 12, 19))
    >>> t.key, t.label, t.estimated
    ('2025-HT', 'höstterminen 2025', True)
    """

    kind: TermKind
    start: dt.date
    end: dt.date
    estimated: bool = True

    def __post_init__(self) -> None:
        try:
            kind = TermKind(str(self.kind).upper())
        except ValueError:
            raise RuleValueError(f"okänd termin '{self.kind}' (HT eller VT)") from None
        object.__setattr__(self, "kind", kind)
        _check_dates(self.start, self.end)
        low, high = _half_year(kind, self.start.year)
        if self.start < low or self.end > high:
            raise RuleValueError(f"{self.name} {self.start.year} måste ligga inom {low} – {high}")

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def name(self) -> str:
        """The key word of the file format: 'ht' or 'vt'."""
        return self.kind.value.lower()

    @property
    def key(self) -> str:
        """The key of the matching ``term`` period: '2025-HT'."""
        return f"{self.year}-{self.kind.value}"

    @property
    def label(self) -> str:
        """Swedish: 'höstterminen 2025'."""
        return f"{_TERM_LABEL[self.kind]} {self.year}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True, kw_only=True)
class Break:
    """A lov or a single day off, both ends inclusive. ``name`` is stored canonically.

    >>> Break(name="Läslov", start=dt.date(2025, 10, 27), end=dt.date(2025, 11, 2)).label
    'höstlov 2025'
    """

    name: str
    start: dt.date
    end: dt.date
    estimated: bool = True

    def __post_init__(self) -> None:
        canonical = _canonical_break(self.name) if isinstance(self.name, str) else None
        if canonical is None:
            raise RuleValueError(f"okänt lov '{self.name}' (kända: {', '.join(BREAK_NAMES)})")
        object.__setattr__(self, "name", canonical)
        _check_dates(self.start, self.end)

    @property
    def label(self) -> str:
        """Swedish, as a key of the file: 'sportlov 2026', or 'lovdag 2026-05-15'."""
        if self.name in _DAYS_OFF:
            if self.start == self.end:
                return f"{self.name} {self.start}"
            return f"{self.name} {self.start} – {self.end}"
        return f"{self.name} {self.start.year}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


class _CalendarProblem(RuleValueError):
    """A cross-entry problem; ``culprit`` lets the file reader point at the right line."""

    def __init__(self, problem: str, culprit: object) -> None:
        self.culprit = culprit
        super().__init__(problem)


def _describe(item: Term | Break) -> str:
    if isinstance(item, Term):
        return f"{item.name} {item.year}"
    return item.label


def _check_calendar(kommun: str, terms: tuple[Term, ...], breaks: tuple[Break, ...]) -> None:
    """Cross-entry validation (raises ``_CalendarProblem``); ``terms``/``breaks`` are sorted."""
    if not kommun.strip():
        raise _CalendarProblem("kommun saknas", "kommun")
    if not terms:
        raise _CalendarProblem("minst en termin krävs (t.ex. 'ht 2025: 2025-08-18 – 2025-12-19')", "terms")
    # Terms stay inside their half-year, so only a term given twice can overlap another.
    for before, after in itertools.pairwise(terms):
        if after.start <= before.end:
            raise _CalendarProblem(f"terminerna överlappar: {_describe(before)} och {_describe(after)}", after)
    seen: set[str] = set()
    for term in terms:
        if term.key in seen:
            raise _CalendarProblem(f"{_describe(term)} anges två gånger", term)
        seen.add(term.key)
    first, last = terms[0].start, terms[-1].end
    for item in breaks:
        if item.name in _BETWEEN_TERMS:
            inside = first <= item.start and item.end <= last
        else:
            inside = any(t.start <= item.start and item.end <= t.end for t in terms)
        if not inside:
            raise _CalendarProblem(f"{_describe(item)} ({item.start} – {item.end}) ligger utanför terminerna", item)
    for before_b, after_b in itertools.pairwise(breaks):
        if after_b.start <= before_b.end:
            raise _CalendarProblem(f"loven överlappar: {_describe(before_b)} och {_describe(after_b)}", after_b)


def _gap_name(before: Term, after: Term) -> str | None:
    if before.kind is TermKind.HT and after.kind is TermKind.VT and after.year == before.year + 1:
        return "jullov"
    if before.kind is TermKind.VT and after.kind is TermKind.HT and after.year == before.year:
        return "sommarlov"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SchoolCalendar:
    """The läsårstider of one kommun: terms, breaks (lov, lovdagar, studiedagar).

    ``terms`` and ``breaks`` are stored sorted. ``work`` decides weekends and holidays.
    ``source`` (a file name, for messages) does not take part in equality.
    Invalid combinations raise ``RuleValueError`` with a Swedish message; a file reader
    turns it into a ``CalendarFileError`` with the line.
    """

    kommun: str
    lan: str | None = None
    terms: tuple[Term, ...]
    breaks: tuple[Break, ...] = ()
    work: WorkCalendar = field(default_factory=WorkCalendar)
    source: str = field(default="", compare=False)
    _starts: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    _off: Mapping[dt.date, Break] = field(init=False, repr=False, compare=False)
    _implied: tuple[Break, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms = tuple(sorted(self.terms, key=lambda t: (t.start, t.end)))
        breaks = tuple(sorted(self.breaks, key=lambda b: (b.start, b.end, b.name)))
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "breaks", breaks)
        if self.lan is not None:
            try:
                object.__setattr__(self, "lan", canonical_lan(self.lan))
            except RuleValueError as exc:
                raise _CalendarProblem(str(exc), "lan") from None
        _check_calendar(self.kommun, terms, breaks)

        off: dict[dt.date, Break] = {}
        for item in breaks:
            day = item.start
            while day <= item.end:  # bounded by the break's length
                off[day] = item
                day += _ONE_DAY
        implied: list[Break] = []
        for before, after in itertools.pairwise(terms):
            name = _gap_name(before, after)
            if name is None or after.start - before.end <= _ONE_DAY:
                continue
            gap_start, gap_end = before.end + _ONE_DAY, after.start - _ONE_DAY
            explicit = [b for b in breaks if b.name == name and b.start <= gap_end and gap_start <= b.end]
            if explicit:
                owner = explicit[0]
            else:
                owner = Break(name=name, start=gap_start, end=gap_end, estimated=before.estimated or after.estimated)
                implied.append(owner)
            day = gap_start
            while day <= gap_end:  # bounded by the gap
                off.setdefault(day, owner)
                day += _ONE_DAY
        object.__setattr__(self, "_starts", tuple(t.start for t in terms))
        object.__setattr__(self, "_off", MappingProxyType(off))
        object.__setattr__(self, "_implied", tuple(implied))

    # -- questions ---------------------------------------------------------------------
    @property
    def first_day(self) -> dt.date:
        """The first teaching day of the first term."""
        return self.terms[0].start

    @property
    def last_day(self) -> dt.date:
        """The last teaching day of the last term."""
        return self.terms[-1].end

    @property
    def estimated(self) -> bool:
        """True when any term or break is estimated (not confirmed by a coordinator)."""
        return any(t.estimated for t in self.terms) or any(b.estimated for b in self.breaks)

    @property
    def lovdagar(self) -> tuple[dt.date, ...]:
        """Every day of the lovdag and studiedag entries, in order."""
        return tuple(sorted(d for d, b in self._off.items() if b.name in _DAYS_OFF))

    def term_at(self, day: dt.date) -> Term | None:
        """The term whose first..last teaching day includes ``day``, or None."""
        index = bisect.bisect_right(self._starts, day) - 1
        if index >= 0 and day <= self.terms[index].end:
            return self.terms[index]
        return None

    def break_at(self, day: dt.date) -> Break | None:
        """The break (explicit, or an implied jullov/sommarlov) covering ``day``, or None."""
        return self._off.get(day)

    def is_lov(self, day: dt.date) -> bool:
        """True when pupils are off for a lov, lovdag, studiedag, or between two terms.

        Days before the first term or after the last are unknown, and so False.
        """
        return day in self._off

    def is_school_day(self, day: dt.date) -> bool:
        """True when ``day`` is in a term, not in a break, and a working day."""
        return self.term_at(day) is not None and day not in self._off and self.work.is_working_day(day)

    def school_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """School days from ``start`` to ``end``, both inclusive."""
        out: list[dt.date] = []
        day = start
        while day <= end:  # bounded by the span
            if self.is_school_day(day):
                out.append(day)
            day += _ONE_DAY
        return out

    def terms_between(self, start: dt.date, end: dt.date) -> tuple[Term, ...]:
        """Terms that share at least one day with ``start``..``end`` (inclusive), in order."""
        return tuple(t for t in self.terms if t.start <= end and start <= t.end)

    def break_named(self, name: str, near: dt.date) -> Break | None:
        """The break called ``name`` closest to ``near`` (0 days when it contains it).

        ``name`` may be any spelling the file accepts ("Påsklov", "laslov"). Jullov and
        sommarlov fall back to the implied gap between terms. Ties go to the earlier break.
        """
        canonical = _canonical_break(name)
        if canonical is None:
            raise RuleValueError(f"okänt lov '{name}' (kända: {', '.join(BREAK_NAMES)})")
        found = [b for b in (*self.breaks, *self._implied) if b.name == canonical]

        def distance(item: Break) -> tuple[int, dt.date]:
            if near < item.start:
                return (item.start - near).days, item.start
            if near > item.end:
                return (near - item.end).days, item.start
            return 0, item.start

        return min(found, key=distance, default=None)

    # -- the text format -----------------------------------------------------------------
    @classmethod
    def from_entries(
        cls,
        entries: Iterable[tuple[str, object, int | None]],
        *,
        source: str,
        work: WorkCalendar | None = None,
    ) -> SchoolCalendar:
        """Build a calendar from ``(key, value, line)`` entries (the file format's lines).

        ``value`` is normally a string; a ``date``, ``int``, ``bool`` or list (as YAML
        produces for ``lovdag: 2026-05-15`` or ``lovdag: [2026-05-15, 2026-06-05]``) is
        turned into its text form first. ``line`` may be None when unknown.
        Raises ``CalendarFileError`` naming ``source``, the line and the key.
        """
        return _Reader(source=source).read(entries, work=work or WorkCalendar())

    def to_text(self) -> str:
        """The calendar in the file format; ``parse_school_calendar`` reads it back equal."""
        confirmed = not self.estimated
        lines = [f"# Läsårstider för {self.kommun}" + ("" if confirmed else " (uppskattade)")]
        lines.append(f"kommun: {self.kommun}")
        if self.lan is not None:
            lines.append(f"län: {self.lan}")
        lines.append(f"bekräftad: {'ja' if confirmed else 'nej'}")

        def marker(estimated: bool) -> str:
            if estimated == (not confirmed):
                return ""
            return " (uppskattad)" if estimated else " (bekräftad)"

        items: list[tuple[dt.date, int, str]] = []
        for term in self.terms:
            text = f"{term.name} {term.year}: {term.start} – {term.end}{marker(term.estimated)}"
            items.append((term.start, 0, text))
        for item in self.breaks:
            span = f"{item.start}" if item.start == item.end else f"{item.start} – {item.end}"
            key = item.name if item.name in _DAYS_OFF else f"{item.name} {item.start.year}"
            items.append((item.start, 1, f"{key}: {span}{marker(item.estimated)}"))
        lines += [text for _, _, text in sorted(items)]
        return "\n".join(lines) + "\n"


def parse_school_calendar(text: str, *, source: str, work: WorkCalendar | None = None) -> SchoolCalendar:
    """Read the text format described in the module docstring.

    ``source`` names the file in error messages; the caller (the shell) reads the file.
    Raises ``CalendarFileError(source, line, field, problem)`` on any mistake.
    """
    entries: list[tuple[str, object, int | None]] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise CalendarFileError(source, number, None, f"raden saknar ':' (väntade 'nyckel: värde'): '{line}'")
        entries.append((key.strip(), value.strip(), number))
    return SchoolCalendar.from_entries(entries, source=source, work=work)


# -- reading entries ----------------------------------------------------------------------
_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_SEP = re.compile(r"\s*(?:–|—|\.\.)\s*|\s+-\s+|\s+till\s+", re.IGNORECASE)
_WEEKS = re.compile(r"^v(?:ecka)?\s*(\d{1,2})(?:\s*(?:–|—|-|\.\.|till)\s*(?:v(?:ecka)?\s*)?(\d{1,2}))?$", re.IGNORECASE)
_MARKER = re.compile(r"\s*\((uppskattad|bekräftad|bekraftad)\)\s*$", re.IGNORECASE)
_KEY = re.compile(r"^([a-z]+)(?:\s+(\S+))?$")
_KNOWN_KEYS = "kommun, län, bekräftad, ht ÅÅÅÅ, vt ÅÅÅÅ, " + ", ".join(BREAK_NAMES)


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, dt.date | int):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value)
    if value is None:
        return ""
    return str(value).strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Item:
    """One term or break as read, before ``bekräftad`` is known."""

    what: str  # "ht", "vt", or a canonical break name
    start: dt.date
    end: dt.date
    marker: bool | None  # estimated override from "(uppskattad)"/"(bekräftad)"
    line: int | None
    key: str


@dataclass(slots=True, kw_only=True)
class _Reader:
    source: str
    seen: dict[str, int | None] = field(default_factory=dict)

    def fail(self, line: int | None, key: str | None, problem: str) -> CalendarFileError:
        return CalendarFileError(self.source, line, key, problem)

    def date(self, text: str, line: int | None, key: str) -> dt.date:
        if not re.fullmatch(_DATE, text):
            raise self.fail(line, key, f"okänt datum '{text}' (väntade ÅÅÅÅ-MM-DD)")
        try:
            return dt.date.fromisoformat("-".join(f"{int(p):02d}" for p in text.split("-")))
        except ValueError:
            raise self.fail(line, key, f"okänt datum '{text}'") from None

    def span(self, text: str, line: int | None, key: str, year: int | None) -> tuple[dt.date, dt.date]:
        """A DATE, RANGE or WEEKS value → (start, end)."""
        weeks = _WEEKS.match(text)
        if weeks:
            if year is None:
                raise self.fail(line, key, f"veckan saknar år: skriv t.ex. '{key} 2026: {text}'")
            first = int(weeks.group(1))
            last = int(weeks.group(2) or first)
            for week in (first, last):
                if not 1 <= week <= 53:
                    raise self.fail(line, key, f"okänd vecka 'v{week}' (1–53)")
                try:
                    dt.date.fromisocalendar(year, week, 1)
                except ValueError:
                    raise self.fail(line, key, f"vecka {week} finns inte år {year}") from None
            if last < first:
                raise self.fail(line, key, f"slutvecka före startvecka (v{first} – v{last})")
            return dt.date.fromisocalendar(year, first, 1), dt.date.fromisocalendar(year, last, 7)
        parts = _SEP.split(text)
        if len(parts) > 2 or not all(parts):
            raise self.fail(line, key, f"väntade ett datum eller 'ÅÅÅÅ-MM-DD – ÅÅÅÅ-MM-DD', inte '{text}'")
        start = self.date(parts[0], line, key)
        end = self.date(parts[-1], line, key)
        if end < start:
            raise self.fail(line, key, f"slutdatum före startdatum ({start} – {end})")
        if year is not None and start.year != year:
            raise self.fail(line, key, f"året i nyckeln ({year}) stämmer inte med startdatumet {start}")
        return start, end

    def once(self, norm: str, line: int | None, key: str) -> None:
        if norm in self.seen:
            where = f"rad {self.seen[norm]}" if self.seen[norm] is not None else "tidigare"
            raise self.fail(line, key, f"'{key}' anges redan ({where})")
        self.seen[norm] = line

    def read(self, entries: Iterable[tuple[str, object, int | None]], *, work: WorkCalendar) -> SchoolCalendar:
        kommun: tuple[str, int | None] | None = None
        lan: str | None = None
        confirmed = False
        items: list[_Item] = []
        for entry in entries:
            try:
                raw_key, raw_value, line = entry
            except (TypeError, ValueError):
                raise self.fail(None, None, f"ogiltig post {entry!r}: väntade (nyckel, värde, rad)") from None
            key = str(raw_key).strip()
            value = _value_text(raw_value)
            norm = _fold(key)
            match = _KEY.match(norm)
            if not match:
                raise self.fail(line, key, f"okänd nyckel '{key}' (kända: {_KNOWN_KEYS})")
            word, year_text = match.group(1), match.group(2)
            marker_match = _MARKER.search(value)
            marker: bool | None = None
            if marker_match:
                marker = marker_match.group(1).lower() == "uppskattad"
                value = value[: marker_match.start()].strip()
            if not value:
                raise self.fail(line, key, "värde saknas")
            year: int | None = None
            if year_text is not None:
                if not re.fullmatch(r"\d{4}", year_text):
                    raise self.fail(line, key, f"okänt år '{year_text}' (väntade ÅÅÅÅ)")
                year = int(year_text)

            if word in ("kommun", "lan", "bekraftad"):
                if year_text is not None:
                    raise self.fail(line, key, f"okänd nyckel '{key}' (kända: {_KNOWN_KEYS})")
                self.once(word, line, key)
                if word == "kommun":
                    kommun = (value, line)
                elif word == "lan":
                    try:
                        lan = canonical_lan(value)
                    except RuleValueError as exc:
                        raise self.fail(line, key, str(exc)) from None
                else:
                    answer = _fold(value)
                    if answer not in ("ja", "nej"):
                        raise self.fail(line, key, f"väntade 'ja' eller 'nej', inte '{value}'")
                    confirmed = answer == "ja"
            elif word in ("ht", "vt"):
                if year is None:
                    raise self.fail(line, key, f"terminen saknar år: skriv t.ex. '{word} 2025'")
                self.once(f"{word} {year}", line, key)
                if _WEEKS.match(value) or len(_SEP.split(value)) != 2:
                    raise self.fail(line, key, f"väntade 'ÅÅÅÅ-MM-DD – ÅÅÅÅ-MM-DD', inte '{value}'")
                start, end = self.span(value, line, key, None)
                low, high = _half_year(TermKind(word.upper()), year)
                if start < low or end > high:
                    raise self.fail(line, key, f"{word} {year} måste ligga inom {low} – {high}")
                items.append(_Item(what=word, start=start, end=end, marker=marker, line=line, key=key))
            elif word in _BREAK_ALIASES:
                name = _BREAK_ALIASES[word]
                if name in _DAYS_OFF:
                    pieces = [p.strip() for p in value.split(",")]
                else:
                    if year is not None:
                        self.once(f"{name} {year}", line, key)
                    pieces = [value]
                for piece in pieces:
                    start, end = self.span(piece, line, key, year)
                    items.append(_Item(what=name, start=start, end=end, marker=marker, line=line, key=key))
            else:
                raise self.fail(line, key, f"okänd nyckel '{key}' (kända: {_KNOWN_KEYS})")

        if kommun is None:
            raise self.fail(None, "kommun", "kommun saknas")
        built: list[tuple[Term | Break, _Item]] = []
        for item in items:
            estimated = (not confirmed) if item.marker is None else item.marker
            obj: Term | Break
            try:
                if item.what in ("ht", "vt"):
                    obj = Term(kind=TermKind(item.what.upper()), start=item.start, end=item.end, estimated=estimated)
                else:
                    obj = Break(name=item.what, start=item.start, end=item.end, estimated=estimated)
            except RuleValueError as exc:  # pragma: no cover - the reader checks first
                raise self.fail(item.line, item.key, str(exc)) from None
            built.append((obj, item))
        try:
            return SchoolCalendar(
                kommun=kommun[0],
                lan=lan,
                terms=tuple(o for o, _ in built if isinstance(o, Term)),
                breaks=tuple(o for o, _ in built if isinstance(o, Break)),
                work=work,
                source=self.source,
            )
        except _CalendarProblem as exc:
            for obj, item in built:
                if obj is exc.culprit:
                    raise self.fail(item.line, item.key, str(exc)) from None
            field_name = "kommun" if exc.culprit == "kommun" else None
            raise self.fail(kommun[1] if field_name else None, field_name, str(exc)) from None


# -- estimated defaults -------------------------------------------------------------------
def _weekday_on_or_before(day: dt.date, work: WorkCalendar) -> dt.date:
    for _ in range(14):  # bounded: a working day is never two weeks away
        if work.is_working_day(day):
            return day
        day -= _ONE_DAY
    raise RuleValueError(f"ingen arbetsdag nära {day}")  # pragma: no cover


def _weekday_on_or_after(day: dt.date, work: WorkCalendar) -> dt.date:
    for _ in range(14):  # bounded, as above
        if work.is_working_day(day):
            return day
        day += _ONE_DAY
    raise RuleValueError(f"ingen arbetsdag nära {day}")  # pragma: no cover


_MAX_ESTIMATED_YEARS = 50


def estimated_school_calendar(
    *,
    kommun: str,
    lan: str,
    first_year: int,
    last_year: int,
    pasklov: Literal["before", "after"] = "before",
    work: WorkCalendar | None = None,
) -> SchoolCalendar:
    """A calendar from the typical Swedish year (see the module docstring), all estimated.

    It covers the läsår ``first_year``/``first_year+1`` … ``last_year-1``/``last_year``:
    hösttermin ``first_year`` to vårtermin ``last_year``.

    >>> cal = estimated_school_calendar(kommun="Hagfors", lan="Värmlands län",
    ...                                 first_year=2025, last_year=2026)
    >>> [(t.key, str(t.start), str(t.end)) for t in cal.terms]
    [('2025-HT', '2025-08-18', '2025-12-19'), ('2026-VT', '2026-01-08', '2026-06-12')]
    >>> s = cal.break_named("sportlov", dt.date(2026, 3, 1)); (str(s.start), str(s.end))
    ('2026-02-23', '2026-03-01')
    """
    if last_year <= first_year:
        raise RuleValueError(f"last_year ({last_year}) must be after first_year ({first_year})")
    if last_year - first_year > _MAX_ESTIMATED_YEARS:
        raise RuleValueError(f"at most {_MAX_ESTIMATED_YEARS} läsår can be estimated at once")
    if pasklov not in ("before", "after"):
        raise RuleValueError(f"pasklov must be 'before' or 'after', not {pasklov!r}")
    work = work or WorkCalendar()
    short_lan = canonical_lan(lan)
    sportlov_week = SPORTLOV_WEEK[short_lan]
    terms: list[Term] = []
    breaks: list[Break] = []
    for year in range(first_year, last_year):
        ht_start = dt.date.fromisocalendar(year, 34, 1)
        ht_end = _weekday_on_or_before(dt.date(year, 12, 21), work)
        vt_start = _weekday_on_or_after(dt.date(year + 1, 1, 8), work)
        vt_end = _weekday_on_or_before(dt.date.fromisocalendar(year + 1, 24, 5), work)
        terms += [
            Term(kind=TermKind.HT, start=ht_start, end=ht_end),
            Term(kind=TermKind.VT, start=vt_start, end=vt_end),
        ]
        easter_sunday = easter(year + 1)
        if pasklov == "before":
            easter_break = (easter_sunday - dt.timedelta(days=6), easter_sunday)
        else:
            easter_break = (easter_sunday + _ONE_DAY, easter_sunday + dt.timedelta(days=7))
        ascension_friday = easter_sunday + dt.timedelta(days=40)
        breaks += [
            Break(
                name="höstlov",
                start=dt.date.fromisocalendar(year, 44, 1),
                end=dt.date.fromisocalendar(year, 44, 7),
            ),
            Break(name="jullov", start=ht_end + _ONE_DAY, end=vt_start - _ONE_DAY),
            Break(
                name="sportlov",
                start=dt.date.fromisocalendar(year + 1, sportlov_week, 1),
                end=dt.date.fromisocalendar(year + 1, sportlov_week, 7),
            ),
            Break(name="påsklov", start=easter_break[0], end=easter_break[1]),
            Break(name="lovdag", start=ascension_friday, end=ascension_friday),
        ]
    return SchoolCalendar(
        kommun=kommun,
        lan=short_lan,
        terms=tuple(terms),
        breaks=tuple(breaks),
        work=work,
        source=f"uppskattad ({kommun}, {first_year}–{last_year})",
    )


#: The module docstring's example, for doctests and documentation.
EXAMPLE = """\
# Läsårstider, Åstorp kommun
kommun: Åstorp
län: Skåne
bekräftad: nej
ht 2025: 2025-08-18 – 2025-12-19
höstlov 2025: v44
studiedag: 2025-09-26
vt 2026: 2026-01-08 – 2026-06-11
sportlov 2026: v8
påsklov 2026: 2026-03-30 – 2026-04-06   # stilla veckan och annandag påsk
lovdag: 2026-05-15 (bekräftad)
"""
