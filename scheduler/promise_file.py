"""Promise files: one signed medborgarlöfte as YAML a coordinator can read and edit.

``load_promise_file(path)`` reads a file and returns a ``PromiseSpec``: the validated
content with every activity's rule resolved (parser output plus the file's
overrides), every unit and entity reference resolved, and the school calendar built.
Anything wrong raises ``PromiseFileInvalid`` (a ``PromiseFileError``) that lists
**every** problem of the file, each with file, line, field and a Swedish message::

    examples/x.yaml, rad 42, fält 'activities[3].unit': okänd enhet 'polis' (kända: polisen, kommunen)

Things that are valid but need a person's eye (a tracked activity whose sentence
gives nothing measurable, an estimated school calendar, a unit without an email
address) are not errors: they are ``ReviewItem`` s in ``PromiseSpec.review``, which
``lofte check`` lists under "Behöver granskas".
``dump_promise_file(spec)`` writes a spec back; loading the result gives an equal spec.

The format
----------
YAML, read with ``yaml.SafeLoader`` (compose only: no tag constructs anything). Every
value is read as the text written and then interpreted by the schema, so ``18:00``
is a time and ``no`` is text, not YAML 1.1's integer 1080 and ``False``. Keys are
English and fixed; values are Swedish where people wrote them. Comments (``#``) are
free. A key given twice, an unknown key, an alias (``*name``) or a merge (``<<``) is
an error. Field paths in messages count list items from 0: ``activities[3]`` is the
fourth activity.

Top level:

==================  =======================================================================
``title``           required; the document's name ("Medborgarlöfte Åstorp 2019")
``kommun``          required; the kommun's name ("Åstorp")
``lan``             required; the län, with or without "län" ("Skåne", "Värmlands län")
``validity``        required mapping: ``start`` and ``end``, dates YYYY-MM-DD, both
                    inclusive; the rules are parsed with ``start`` as "today"
``units``           required list of the responsible units (see below)
``entities``        optional list of the places a quota multiplies over (see below)
``school_calendar`` optional: a path (relative to this file) to a school-calendar text
                    file (format: ``rules/school.py``), or that file's ``key: value``
                    lines written inline as a mapping; a key the calendar may repeat
                    (``lovdag``) takes a list. ``kommun``/``län`` may be left out inline:
                    the promise's own are used. Absent: estimated from the län's
                    typical school year (flagged for review when an activity needs it)
``activities``      required list of activities (see below)
``notes``           optional free text
==================  =======================================================================

``units`` items (the parties that signed and the units that carry out activities):
``key`` (required, a short id: lower-case letters, digits, ``-`` and ``_``; å, ä, ö are
fine), ``name`` (required, "Lokalpolisområde Klippan"), ``email`` (optional; reminders
need it), ``part_of`` (optional key of the unit this one belongs to: socialtjänsten is
part of kommunen).

``entities`` items: ``kind`` (required, the singular lower-case word the sentence uses:
``högstadieskola``, ``fritidsgård``, ``tätort``), ``key`` (required, unique),
``name`` (required), ``notes`` (optional).

``activities`` items:

====================  =====================================================================
``key``               required; a stable id (same characters as unit keys), never reused
``title``             required; a short name
``sentence``          required; the document's own words, verbatim
``unit``              required; key of the responsible unit (it gets the reminders)
``partners``          optional list of unit keys doing it together with ``unit``
``entity_kind``       optional ``kind`` from ``entities``: the quota counts per entity of
                      that kind ("per termin och högstadieskola"). When absent, the kind
                      the parser found in the sentence is used
``rule``              optional mapping that overrides what the parser understood, with the
                      keys of the rule contract (``shared/reference/rule-json.md``):
                      ``kind`` (quota, vague, conditional, event, untimed), ``quota``
                      (``min``, ``max``, ``measure``: times, hours, days), ``period``
                      (``unit``: day, week, month, quarter, tertial, half_year, term,
                      school_year, year; ``every``), ``average``, ``per`` (list of entity
                      kinds), ``window`` (``start``, ``end``), ``deadline``. Only the keys
                      given override; ``null`` clears a value. Giving ``quota`` to a rule
                      the parser found no count in makes it a quota; ``kind: vague`` or
                      ``untimed`` alone drops the parser's quota
``tracked``           optional, default ``true``: the activity is meant to be followed up
                      with a count. A tracked activity without quota or deadline is listed
                      for review; ``false`` says "noted, no count to follow"
``school_bound``      optional; ``true`` when occurrences follow the school calendar
                      (none on lov). Default: true when ``entity_kind`` is a school kind
                      (a word ending in "skola", not förskola)
``weekdays``          optional list of preferred weekdays in Swedish (måndag … söndag)
``time``              optional time of day, ``"18:00"`` (18.00 is read the same)
``duration_minutes``  optional whole minutes, more than 0
``location``          optional free text
``notes``             optional free text
====================  =====================================================================

A value written ``ja``/``nej`` is read as true/false.

A short example::

    title: Medborgarlöfte Åstorp 2019
    kommun: Åstorp
    lan: Skåne
    validity: {start: 2019-01-01, end: 2019-12-31}
    units:
      - {key: polisen, name: Lokalpolisområde Klippan, email: polisen.klippan@example.se}
      - {key: kommunen, name: Åstorps kommun, email: kommunen@example.se}
    entities:
      - {kind: högstadieskola, key: bjorkskolan, name: Björkskolan}
    activities:
      - key: forelasningar
        title: Föreläsningar om droger
        sentence: "Föreläsningar för högstadieelever ... Minst en gång per termin och högstadieskola."
        unit: polisen
        time: "18:00"

Errors and review
-----------------
Errors (``PromiseFileError``): a file that cannot be read or is not YAML; a missing,
unknown or duplicate key; a value of the wrong shape (a malformed date, weekday, time,
e-mail address, län); a reference to an unknown unit or entity kind; a rule whose
fields contradict each other; a window or deadline outside the validity; a school
calendar that is invalid (overlapping terms, a lov outside the terms, a bad date...),
reported with the calendar's own line. Everything the file's structure allows to be
checked is checked, so one run reports all problems.

Review items (``ReviewItem``): see above; they never stop a file from loading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules import (
    CalendarFileError,
    Kind,
    Measure,
    Rule,
    RuleValueError,
    SchoolCalendar,
    Unit,
    Window,
    canonical_lan,
    estimated_school_calendar,
    parse_many,
    parse_school_calendar,
)
from rules.school import LAN
from scheduler.yaml_lines import Located, YamlSyntaxError, load_with_lines
from scheduler.yaml_lines import Path as DataPath

__all__ = [
    "RULE_KEYS",
    "WEEKDAYS_SV",
    "ActivitySpec",
    "CalendarSource",
    "EntitySpec",
    "PromiseFileError",
    "PromiseFileInvalid",
    "PromiseFileModel",
    "PromiseSpec",
    "ReviewItem",
    "UnitSpec",
    "dump_promise_file",
    "load_promise_file",
    "parse_promise_file",
    "promise_file_data",
]

#: Swedish weekday names, Monday first: index = ``date.weekday()``.
WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
#: The rule-contract keys a file may override.
RULE_KEYS = ("kind", "quota", "period", "average", "per", "window", "deadline")


# -- errors -------------------------------------------------------------------------------
def _where(path: str, line: int | None, field_name: str | None) -> str:
    where = path if line is None else f"{path}, rad {line}"
    if field_name:
        where += f", fält '{field_name}'"
    return where


class PromiseFileError(ValueError):
    """One problem in a promise file: ``path``, ``line`` (1-based or None), ``field``, ``problem``.

    ``problem`` is Swedish and ``str()`` is the whole message a user sees.
    """

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        super().__init__(f"{_where(path, line, field)}: {problem}")

    @property
    def message_sv(self) -> str:
        return str(self)


class PromiseFileInvalid(PromiseFileError):
    """Every problem of one file, one per line in ``str()``; ``errors`` holds them.

    ``path``, ``line``, ``field`` and ``problem`` are those of the first problem.
    """

    def __init__(self, errors: Sequence[PromiseFileError]) -> None:
        if not errors:
            raise ValueError("PromiseFileInvalid needs at least one error")
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.path, first.line, first.field, first.problem)
        self.args = ("\n".join(str(e) for e in self.errors),)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewItem:
    """Something valid that a person should look at ("behöver granskas")."""

    path: str
    line: int | None
    field: str | None
    message: str
    #: the activity's key, or None for the file as a whole
    activity: str | None = None

    def __str__(self) -> str:
        return f"{_where(self.path, self.line, self.field)}: {self.message}"


# -- value parsing for the schema (Swedish messages) -----------------------------------------
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text(value: Any) -> str:
    if value is None:
        raise ValueError("värde saknas")
    if isinstance(value, list | dict):
        raise ValueError("ska vara text, inte en lista eller mappning")
    text = str(value).strip()
    if not text:
        raise ValueError("värde saknas")
    return text


_KEY_RE = re.compile(r"[a-z0-9åäö][a-z0-9åäö_-]*")


def _key(value: Any) -> str:
    text = _text(value).lower()
    if not _KEY_RE.fullmatch(text):
        raise ValueError(
            f"ogiltig nyckel '{value}': använd små bokstäver, siffror, - och _ (inga mellanslag)"
        )
    return text


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = _text(value)
    if _DATE_RE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"ogiltigt datum '{text}': skriv ÅÅÅÅ-MM-DD, till exempel 2022-03-01")


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f"'{text}' är inte ett heltal")
    return int(text)


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"får inte vara negativt ({value})")
    return value


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError(f"ska vara minst 1 ({value})")
    return value


_TRUE = frozenset({"true", "ja", "yes", "sant"})
_FALSE = frozenset({"false", "nej", "no", "falskt"})


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _fold(_text(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"skriv true eller false (eller ja/nej), inte '{value}'")


def _time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    text = _text(value)
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    raise ValueError(f"ogiltig tid '{text}': skriv TT:MM, till exempel \"18:00\"")


_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _email(value: Any) -> str:
    text = _text(value)
    if not _EMAIL_RE.fullmatch(text):
        raise ValueError(f"ogiltig e-postadress '{text}'")
    return text


def _suggest(word: str, choices: Iterable[str]) -> str:
    """' (menade du 'x'?)' when a choice is close, else ''."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        close = [c for c in options if _fold(c) == _fold(word)]
    return f" (menade du '{close[0]}'?)" if close else ""


def _lan(value: Any) -> str:
    text = _text(value)
    try:
        return canonical_lan(text)
    except RuleValueError:
        hint = _suggest(text, LAN)
        raise ValueError(f"okänt län '{text}'{hint or ' (kända: ' + ', '.join(LAN) + ')'}") from None


def _choice(enum: type[Kind] | type[Unit] | type[Measure]) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, enum):
            return value
        text = _text(value).lower()
        try:
            return enum(text)
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise ValueError(f"okänt värde '{text}' (tillåtna: {known})") from None

    return BeforeValidator(check)


def _list(value: Any) -> list[Any]:
    """None → []; a comma-separated text → its parts; a list stays."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError("ska vara en lista (en rad per värde som börjar med '- ')")


def _items(value: Any) -> list[Any]:
    """A list of mappings: None → [], anything but a list is an error."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError("ska vara en lista (en rad per post som börjar med '- ')")
    return list(value)


def _weekday(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    text = _fold(_text(value))
    for index, name in enumerate(WEEKDAYS_SV):
        if text in (_fold(name), _fold(name) + "ar"):
            return index
    raise ValueError(f"okänd veckodag '{value}' (kända: {', '.join(WEEKDAYS_SV)})")


Text = Annotated[str, BeforeValidator(_text)]
Key = Annotated[str, BeforeValidator(_key)]
Date = Annotated[dt.date, BeforeValidator(_date)]
Bool = Annotated[bool, BeforeValidator(_bool)]
Time = Annotated[dt.time, BeforeValidator(_time)]
Email = Annotated[str, BeforeValidator(_email)]
NonNegInt = Annotated[int, BeforeValidator(_int), AfterValidator(_non_negative)]
PosInt = Annotated[int, BeforeValidator(_int), AfterValidator(_positive)]
Weekday = Annotated[int, BeforeValidator(_weekday)]


def _check_end(end: dt.date, info: ValidationInfo) -> dt.date:
    start = info.data.get("start")
    if isinstance(start, dt.date) and end < start:
        raise ValueError(f"slutdatum {end} före startdatum {start}")
    return end


# -- the schema (pydantic v2) ---------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitModel(_Model):
    key: Key
    name: Text
    email: Email | None = None
    part_of: Key | None = None


class EntityModel(_Model):
    kind: Key
    key: Key
    name: Text
    notes: Text | None = None


class ValidityModel(_Model):
    start: Date
    end: Date

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        return _check_end(end, info)


class QuotaModel(_Model):
    min: NonNegInt | None = None
    max: NonNegInt | None = None
    measure: Annotated[Measure, _choice(Measure)] = Measure.TIMES

    @model_validator(mode="after")
    def _bounds(self) -> QuotaModel:
        if self.min is None and self.max is None:
            raise ValueError("quota behöver min eller max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) är större än max ({self.max})")
        return self


class PeriodModel(_Model):
    unit: Annotated[Unit, _choice(Unit)]
    every: PosInt = 1


class WindowModel(_Model):
    start: Date
    end: Date

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        return _check_end(end, info)


class RuleModel(_Model):
    """Overrides of the parsed rule; only the keys present in the file count."""

    kind: Annotated[Kind, _choice(Kind)] | None = None
    quota: QuotaModel | None = None
    period: PeriodModel | None = None
    average: Bool | None = None
    per: Annotated[list[Key], BeforeValidator(_list)] | None = None
    window: WindowModel | None = None
    deadline: Date | None = None

    def overrides(self) -> dict[str, Any]:
        """The given keys in the JSON shape of ``rule-json.md`` (``None`` clears)."""
        out: dict[str, Any] = {}
        for name in RULE_KEYS:
            if name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if name == "average":
                out[name] = bool(value)
            elif name == "per":
                out[name] = list(value or [])
            elif isinstance(value, BaseModel):
                out[name] = value.model_dump(mode="json")
            elif isinstance(value, dt.date):
                out[name] = value.isoformat()
            else:
                out[name] = value.value if isinstance(value, Kind) else value
        return out


class ActivityModel(_Model):
    key: Key
    title: Text
    sentence: Text
    unit: Key
    partners: Annotated[list[Key], BeforeValidator(_list)] = []
    entity_kind: Key | None = None
    rule: RuleModel | None = None
    tracked: Bool = True
    school_bound: Bool | None = None
    weekdays: Annotated[list[Weekday], BeforeValidator(_list)] = []
    time: Time | None = None
    duration_minutes: PosInt | None = None
    location: Text | None = None
    notes: Text | None = None


def _calendar_value(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("ska vara en sökväg till en kalenderfil eller kalenderns rader som mappning")


class PromiseFileModel(_Model):
    """The file as written; ``load_promise_file`` turns it into a ``PromiseSpec``."""

    title: Text
    kommun: Text
    lan: Annotated[str, BeforeValidator(_lan)]
    validity: ValidityModel
    units: Annotated[list[UnitModel], BeforeValidator(_items)]
    entities: Annotated[list[EntityModel], BeforeValidator(_items)] = []
    school_calendar: Annotated[Any, BeforeValidator(_calendar_value)] = None
    activities: Annotated[list[ActivityModel], BeforeValidator(_items)]
    notes: Text | None = None

    @field_validator("units", "activities")
    @classmethod
    def _not_empty(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("listan är tom")
        return value


# -- the resolved spec -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitSpec:
    key: str
    name: str
    email: str | None = None
    part_of: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitySpec:
    kind: str
    key: str
    name: str
    notes: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarSource:
    """Where the school calendar came from: a file, the promise file itself, or an estimate."""

    kind: Literal["file", "inline", "estimated"]
    #: the calendar file, resolved (``kind == "file"``)
    path: Path | None = None
    #: the inline ``(key, value)`` lines, in order (``kind == "inline"``)
    entries: tuple[tuple[str, str], ...] = ()
    #: the path as written in the promise file
    written: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivitySpec:
    """One activity, resolved: its rule, its unit and the entities its quota multiplies over."""

    key: str
    title: str
    sentence: str
    unit: UnitSpec
    partners: tuple[UnitSpec, ...] = ()
    #: ``entity_kind`` as written in the file (None: taken from the rule's ``per``)
    entity_kind: str | None = None
    #: the entities the quota is counted for, one quota each; empty when not per entity
    entities: tuple[EntitySpec, ...] = ()
    rule: Rule
    #: the rule keys the file overrides, in the JSON shape of rule-json.md
    overrides: dict[str, Any] = field(default_factory=dict)
    tracked: bool = True
    school_bound: bool = False
    #: preferred weekdays, 0 = måndag (as ``date.weekday()``)
    weekdays: tuple[int, ...] = ()
    time: dt.time | None = None
    duration_minutes: int | None = None
    location: str | None = None
    notes: str | None = None
    #: what the parser alone made of ``sentence`` (None if it was not run)
    parsed: Rule | None = field(default=None, compare=False)
    review: tuple[ReviewItem, ...] = field(default=(), compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def per_kind(self) -> str | None:
        """The entity kind the quota multiplies over, or None."""
        return self.rule.per[0] if self.rule.per else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseSpec:
    """A validated promise file: what ``lofte load``, ``lofte plan`` and the importer use."""

    title: str
    kommun: str
    #: short län name ("Skåne")
    lan: str
    validity: Window
    units: tuple[UnitSpec, ...]
    entities: tuple[EntitySpec, ...] = ()
    activities: tuple[ActivitySpec, ...]
    calendar_source: CalendarSource
    calendar: SchoolCalendar | None = field(default=None, compare=False)
    notes: str | None = None
    #: every review item of the file, activities' included, in file order
    review: tuple[ReviewItem, ...] = field(default=(), compare=False)
    path: str = field(default="", compare=False)

    def unit(self, key: str) -> UnitSpec:
        """The unit with ``key``; ``KeyError`` if none."""
        for unit in self.units:
            if unit.key == key:
                return unit
        raise KeyError(key)

    def activity(self, key: str) -> ActivitySpec:
        """The activity with ``key``; ``KeyError`` if none."""
        for activity in self.activities:
            if activity.key == key:
                return activity
        raise KeyError(key)


# -- loading ---------------------------------------------------------------------------------
def load_promise_file(path: str | os.PathLike[str]) -> PromiseSpec:
    """Read, validate and resolve a promise file.

    Raises ``PromiseFileInvalid`` listing every problem (never another exception for
    bad input). The calendar path in the file is relative to the file's directory.
    """
    source = os.fspath(path)
    file = Path(source)
    problem: str | None = None
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "filen finns inte"
    except IsADirectoryError:
        problem = "är en katalog, inte en fil"
    except UnicodeDecodeError:
        problem = "filen är inte sparad som UTF-8"
    except OSError as exc:
        problem = f"kan inte läsa filen ({exc.strerror or exc})"
    if problem is not None:
        raise PromiseFileInvalid([PromiseFileError(source, None, None, problem)])
    return parse_promise_file(text, source=source, base_dir=file.parent)


def parse_promise_file(text: str, *, source: str, base_dir: str | os.PathLike[str] | None = None) -> PromiseSpec:
    """Validate and resolve promise-file ``text``; ``source`` names it in messages.

    ``base_dir`` is where a relative ``school_calendar`` path starts (default: the
    current directory).
    """
    try:
        located = load_with_lines(text.removeprefix("\ufeff"))
    except YamlSyntaxError as exc:
        raise PromiseFileInvalid([PromiseFileError(source, exc.line, None, exc.problem)]) from None
    return _Resolver(source=source, located=located, base_dir=Path(base_dir or ".")).run()


def _field_name(path: DataPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(path: DataPath) -> type[BaseModel] | None:
    """The schema class that reads the mapping at ``path`` (to list its keys)."""
    model: type[BaseModel] = PromiseFileModel
    for part in path:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        inner = _inner_model(info.annotation) if info is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _validation_problem(error: Mapping[str, Any]) -> str:
    kind, value = error["type"], error.get("input")
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    if kind == "missing":
        return "saknas (måste anges)"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        model = _model_at(tuple(error["loc"][:-1]))
        known = list(model.model_fields) if model else []
        hint = _suggest(key, known)
        return f"okänd nyckel '{key}'{hint}" + (f" (kända: {', '.join(known)})" if known else "")
    if value is None:
        return "värde saknas"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "ska vara en mappning (rader 'nyckel: värde')"
    if kind == "list_type":
        return "ska vara en lista"
    if kind == "string_type":
        return "ska vara text"
    return f"ogiltigt värde '{value}'"


_SCHOOL_SUFFIX = "skola"


def _is_school_kind(kind: str | None) -> bool:
    """True for kinds that follow a school calendar: högstadieskola, grundskola, skola."""
    return kind is not None and kind.endswith(_SCHOOL_SUFFIX) and kind != "förskola"


_KIND_REVIEW_SV = {
    Kind.UNTIMED: "meningen anger inget antal, ingen frekvens och inget datum",
    Kind.VAGUE: "meningen anger en frekvens som inte går att mäta (t.ex. 'regelbundet')",
    Kind.CONDITIONAL: "aktiviteten görs vid behov eller på villkor; inget antal att följa upp",
    Kind.EVENT: "aktiviteten är knuten till andra händelser; inget antal att följa upp",
}


@dataclass(slots=True)
class _Resolver:
    """Checks everything the file's structure allows and builds the spec (see module docstring)."""

    source: str
    located: Located
    base_dir: Path
    errors: list[PromiseFileError] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)

    # -- reporting --
    def error(self, path: DataPath, problem: str) -> None:
        self.errors.append(PromiseFileError(self.source, self.located.line_of(path), _field_name(path), problem))

    def note(self, path: DataPath, message: str, *, activity: str | None = None) -> ReviewItem:
        item = ReviewItem(
            path=self.source,
            line=self.located.line_of(path),
            field=_field_name(path) or None,
            message=message,
            activity=activity,
        )
        self.review.append(item)
        return item

    def fail(self) -> PromiseFileInvalid:
        ordered = sorted(self.errors, key=lambda e: (e.path != self.source, e.line or 0))
        return PromiseFileInvalid(ordered)

    # -- the steps --
    def run(self) -> PromiseSpec:
        for line, problem in self.located.problems:
            self.errors.append(PromiseFileError(self.source, line, None, problem))
        data = self.located.data
        if data is None:
            raise PromiseFileInvalid([PromiseFileError(self.source, None, None, "filen är tom")])
        if not isinstance(data, dict):
            raise PromiseFileInvalid(
                [PromiseFileError(self.source, 1, None, "filen ska bestå av nycklar som 'title:' och 'kommun:'")]
            )
        model: PromiseFileModel | None = None
        try:
            model = PromiseFileModel.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                self.error(tuple(err["loc"]), _validation_problem(err))

        validity = model.validity if model else _salvage(ValidityModel, data.get("validity"))
        lan = model.lan if model else _salvage_lan(data.get("lan"))
        kommun = model.kommun if model else _salvage_text(data.get("kommun"))
        units = self.units(data, model)
        entities = self.entities(data, model)
        today = validity.start if validity else None
        activities = self.activities(
            data, model=model, units=units, entities=entities, today=today, validity=validity
        )
        calendar, calendar_source = self.calendar(data, kommun, lan, validity, activities)

        if self.errors or model is None or validity is None or calendar_source is None:
            if not self.errors:  # pragma: no cover - a failed model always reports errors
                self.error((), "filen kunde inte läsas")
            raise self.fail()
        window = Window(start=validity.start, end=validity.end)
        return PromiseSpec(
            title=model.title,
            kommun=model.kommun,
            lan=model.lan,
            validity=window,
            units=tuple(u for u in units.values() if u is not None),
            entities=tuple(e for _, e in entities),
            activities=tuple(a for a in activities if a is not None),
            calendar_source=calendar_source,
            calendar=calendar,
            notes=model.notes,
            review=tuple(sorted(self.review, key=lambda r: r.line or 0)),
            path=self.source,
        )

    def units(self, data: dict[str, Any], model: PromiseFileModel | None) -> dict[str, UnitSpec | None]:
        """Unit key → spec (None when the unit itself is invalid: references still resolve)."""
        raw = model.units if model else _salvage_items(UnitModel, data.get("units"))
        out: dict[str, UnitSpec | None] = {}
        lines: dict[str, DataPath] = {}
        for index, unit in enumerate(raw):
            path: DataPath = ("units", index)
            key = unit.key if isinstance(unit, UnitModel) else _raw_key(data, path)
            if key is None:
                continue
            if key in out:
                self.error((*path, "key"), f"enheten '{key}' finns redan (rad {self.located.line_of(lines[key])})")
                continue
            lines[key] = path
            out[key] = (
                UnitSpec(key=unit.key, name=unit.name, email=unit.email, part_of=unit.part_of)
                if isinstance(unit, UnitModel)
                else None
            )
        for index, unit in enumerate(raw):
            if not isinstance(unit, UnitModel):
                continue
            path = ("units", index)
            if unit.part_of is not None and (unit.part_of not in out or unit.part_of == unit.key):
                self.error((*path, "part_of"), self.unknown_unit(unit.part_of, out))
            if unit.email is None:
                self.note((*path,), f"enheten '{unit.key}' saknar e-postadress: inga påminnelser kan skickas")
        return out

    @staticmethod
    def unknown_unit(key: str, units: Mapping[str, object]) -> str:
        return f"okänd enhet '{key}'{_suggest(key, units)} (kända: {', '.join(units) or 'inga'})"

    def entities(self, data: dict[str, Any], model: PromiseFileModel | None) -> list[tuple[int, EntitySpec]]:
        raw = model.entities if model else _salvage_items(EntityModel, data.get("entities"))
        out: list[tuple[int, EntitySpec]] = []
        seen: dict[str, int] = {}
        for index, entity in enumerate(raw):
            if not isinstance(entity, EntityModel):
                continue
            if entity.key in seen:
                first = self.located.line_of(("entities", seen[entity.key]))
                self.error(("entities", index, "key"), f"'{entity.key}' finns redan (rad {first})")
                continue
            seen[entity.key] = index
            out.append((index, EntitySpec(kind=entity.kind, key=entity.key, name=entity.name, notes=entity.notes)))
        return out

    def activities(
        self,
        data: dict[str, Any],
        *,
        model: PromiseFileModel | None,
        units: dict[str, UnitSpec | None],
        entities: list[tuple[int, EntitySpec]],
        today: dt.date | None,
        validity: ValidityModel | None,
    ) -> list[ActivitySpec | None]:
        raw = model.activities if model else _salvage_items(ActivityModel, data.get("activities"))
        # Kinds written in the file count as known even if their entity is invalid.
        kinds = {e.kind for _, e in entities} | set(_raw_values(data, "entities", "kind"))
        seen: dict[str, int] = {}
        out: list[ActivitySpec | None] = []
        # every sentence of the file parsed in one go (`parse_many`: the same rules, faster)
        models = [(index, act) for index, act in enumerate(raw) if isinstance(act, ActivityModel)]
        parsed = (
            dict(zip((i for i, _ in models), parse_many([a.sentence for _, a in models], today=today), strict=True))
            if today is not None
            else {}
        )
        for index, act in enumerate(raw):
            # Keys are compared as written, so a duplicate is found even next to an invalid item.
            key = act.key if isinstance(act, ActivityModel) else _raw_key(data, ("activities", index))
            if key is not None and key in seen:
                first = self.located.line_of(("activities", seen[key]))
                self.error(("activities", index, "key"), f"aktiviteten '{key}' finns redan (rad {first})")
            elif key is not None:
                seen[key] = index
            if not isinstance(act, ActivityModel):
                out.append(None)
                continue
            out.append(
                self.activity(
                    index, act, units=units, entities=entities, kinds=kinds, parsed=parsed.get(index), validity=validity
                )
            )
        return out

    def activity(
        self,
        index: int,
        act: ActivityModel,
        *,
        units: dict[str, UnitSpec | None],
        entities: list[tuple[int, EntitySpec]],
        kinds: set[str],
        parsed: Rule | None,
        validity: ValidityModel | None,
    ) -> ActivitySpec | None:
        """One activity of the file; `parsed` is its sentence's rule (None when the file has no
        validity start to parse it against)."""
        base: DataPath = ("activities", index)
        review_start = len(self.review)
        ok = True
        if act.unit not in units:
            self.error((*base, "unit"), self.unknown_unit(act.unit, units))
            ok = False
        for position, partner in enumerate(act.partners):
            if partner not in units:
                self.error((*base, "partners", position), self.unknown_unit(partner, units))
                ok = False
            elif partner == act.unit:
                self.error((*base, "partners", position), f"'{partner}' är redan ansvarig enhet (unit)")
                ok = False
        if act.entity_kind is not None and act.entity_kind not in kinds:
            self.error((*base, "entity_kind"), self.unknown_kind(act.entity_kind, kinds))
            ok = False

        overrides = act.rule.overrides() if act.rule else {}
        rule = self.rule(base, act, parsed, overrides, kinds)
        if rule is None:
            return None
        if validity is not None:
            self.within_validity(base, rule, overrides, validity)
        if act.tracked and rule.quota is None and rule.deadline is None:
            self.note(
                (*base, "rule") if "kind" in overrides else (*base, "sentence"),
                f"{_KIND_REVIEW_SV.get(rule.kind, 'inget antal att följa upp')}: "
                "ange rule (t.ex. quota och period) eller sätt tracked: false",
                activity=act.key,
            )
        if not ok:
            return None
        per_kind = rule.per[0] if rule.per else None
        unit = units[act.unit]
        partners = tuple(units[p] for p in act.partners)
        if unit is None or any(p is None for p in partners):
            return None  # the unit itself is invalid; its error is already reported
        school_bound = act.school_bound if act.school_bound is not None else _is_school_kind(per_kind)
        return ActivitySpec(
            key=act.key,
            title=act.title,
            sentence=act.sentence,
            unit=unit,
            partners=tuple(p for p in partners if p is not None),
            entity_kind=act.entity_kind,
            entities=tuple(e for _, e in entities if e.kind == per_kind),
            rule=rule,
            overrides=overrides,
            tracked=act.tracked,
            school_bound=school_bound,
            weekdays=tuple(dict.fromkeys(act.weekdays)),
            time=act.time,
            duration_minutes=act.duration_minutes,
            location=act.location,
            notes=act.notes,
            parsed=parsed,
            review=tuple(self.review[review_start:]),
            line=self.located.line_of(base),
        )

    @staticmethod
    def unknown_kind(kind: str, kinds: set[str]) -> str:
        known = ", ".join(sorted(kinds)) if kinds else "inga: filen har inga entities"
        return f"okänd sort '{kind}'{_suggest(kind, kinds)} (sorter under entities: {known})"

    def rule(
        self,
        base: DataPath,
        act: ActivityModel,
        parsed: Rule | None,
        overrides: dict[str, Any],
        kinds: set[str],
    ) -> Rule | None:
        """The parser's rule with the file's overrides; None (and an error) if they clash."""
        data: dict[str, Any] = (
            parsed.to_json() if parsed is not None else {"text": act.sentence, "kind": Kind.UNTIMED.value}
        )
        data.update(overrides)
        if "kind" not in overrides:
            if overrides.get("quota") and data["kind"] in (Kind.VAGUE, Kind.UNTIMED):
                data["kind"] = Kind.QUOTA.value
            elif "quota" in overrides and overrides["quota"] is None and data["kind"] == Kind.QUOTA:
                data["kind"] = Kind.UNTIMED.value
        elif data["kind"] in (Kind.VAGUE, Kind.UNTIMED) and "quota" not in overrides:
            data["quota"] = None

        rule_path: DataPath = (*base, "rule")
        per = list(data.get("per") or [])
        per_written = "per" in overrides
        if act.entity_kind is not None:
            if per_written and per and per != [act.entity_kind]:
                self.error((*rule_path, "per"), f"rule.per {per} motsäger entity_kind '{act.entity_kind}'")
                return None
            per, per_written = [act.entity_kind], True
        data["per"] = per
        for kind in per:
            if kind in kinds:
                continue
            if per_written and act.entity_kind is None:
                self.error((*rule_path, "per"), self.unknown_kind(kind, kinds))
                return None
            if not per_written:
                self.note(
                    (*base, "sentence"),
                    f"meningen räknas per '{kind}', men filen har inga entities av den sorten: "
                    "lägg till dem under entities, eller ange entity_kind eller rule.per",
                    activity=act.key,
                )
        if len(per) > 1:
            self.note((*base, "sentence"), f"räknas per flera sorter ({', '.join(per)}); Löfte räknar per '{per[0]}'")

        kind = data["kind"]
        problem = None
        if kind == Kind.QUOTA and not data.get("quota"):
            problem = "kind 'quota' kräver quota (t.ex. quota: {min: 1})"
        elif kind in (Kind.VAGUE, Kind.UNTIMED) and data.get("quota"):
            problem = f"kind '{kind}' kan inte ha quota: ändra kind till quota eller ta bort quota"
        elif data.get("average") and not data.get("period"):
            problem = "average: true kräver en period"
        if problem is not None:
            self.error(rule_path, problem)
            return None
        try:
            rule = Rule.from_json(data)
        except RuleValueError as exc:  # pragma: no cover - the checks above and the schema cover it
            self.error(rule_path, f"regeln går inte ihop ({exc})")
            return None
        if parsed is not None and parsed.notes:
            rule = dataclasses.replace(rule, notes=parsed.notes)
        return rule

    def within_validity(
        self, base: DataPath, rule: Rule, overrides: dict[str, Any], validity: ValidityModel
    ) -> None:
        span = f"giltighetstiden {validity.start} – {validity.end}"
        window = rule.window
        if window is not None and not (validity.start <= window.start and window.end <= validity.end):
            written = "window" in overrides
            self.error(
                (*base, "rule", "window") if written else (*base, "sentence"),
                f"perioden {window.start} – {window.end} ligger utanför {span}"
                + ("" if written else " (tolkat ur meningen; rätta med rule.window)"),
            )
        deadline = rule.deadline
        if deadline is not None and not validity.start <= deadline <= validity.end:
            written = "deadline" in overrides
            self.error(
                (*base, "rule", "deadline") if written else (*base, "sentence"),
                f"sista dagen {deadline} ligger utanför {span}"
                + ("" if written else " (tolkat ur meningen; rätta med rule.deadline)"),
            )

    def calendar(
        self,
        data: dict[str, Any],
        kommun: str | None,
        lan: str | None,
        validity: ValidityModel | None,
        activities: list[ActivitySpec | None],
    ) -> tuple[SchoolCalendar | None, CalendarSource | None]:
        value = data.get("school_calendar")
        path: DataPath = ("school_calendar",)
        calendar: SchoolCalendar | None = None
        source: CalendarSource | None = None
        try:
            if isinstance(value, str) and value.strip():
                written = value.strip()
                file = self.base_dir / written
                shown = os.fspath(file)
                try:
                    text = file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    reason = "finns inte" if isinstance(exc, FileNotFoundError) else "kan inte läsas"
                    self.error(path, f"kalenderfilen '{shown}' {reason}")
                    return None, None
                source = CalendarSource(kind="file", path=file.resolve(), written=written)
                calendar = parse_school_calendar(text, source=shown)
            elif isinstance(value, dict):
                entries = self.inline_entries(value)
                source = CalendarSource(kind="inline", entries=tuple((k, v) for k, v, _ in entries))
                calendar = SchoolCalendar.from_entries(
                    self.with_defaults(entries, kommun, lan), source=self.source
                )
            elif value is None:
                source = CalendarSource(kind="estimated")
                if kommun is not None and lan is not None and validity is not None:
                    first, last = _school_years(validity.start, validity.end)
                    calendar = estimated_school_calendar(kommun=kommun, lan=lan, first_year=first, last_year=last)
            else:
                return None, None  # the schema has reported the wrong shape
        except CalendarFileError as exc:
            inline = source is not None and source.kind == "inline"
            name = (f"school_calendar.{exc.field}" if exc.field else "school_calendar") if inline else exc.field
            self.errors.append(PromiseFileError(exc.path, exc.line, name, exc.problem))
            return None, source
        except RuleValueError as exc:
            self.error(path, str(exc))
            return None, source

        needed = [a for a in activities if a is not None and _needs_calendar(a)]
        if calendar is not None and validity is not None and needed:
            self.review_calendar(calendar, source=source, kommun=kommun, lan=lan, validity=validity, needed=needed)
        return calendar, source

    def inline_entries(self, value: dict[str, Any]) -> list[tuple[str, str, int | None]]:
        entries: list[tuple[str, str, int | None]] = []
        for key, item in value.items():
            path: DataPath = ("school_calendar", key)
            if isinstance(item, list):
                for position, piece in enumerate(item):
                    if isinstance(piece, str):
                        entries.append((key, piece, self.located.line_of((*path, position))))
                    else:
                        self.error((*path, position), "ska vara text (ett datum eller ett datumintervall)")
            elif isinstance(item, dict):
                self.error(path, "ska vara text eller en lista, inte en mappning")
            else:
                entries.append((key, item or "", self.located.line_of(path)))
        return entries

    def with_defaults(
        self, entries: list[tuple[str, str, int | None]], kommun: str | None, lan: str | None
    ) -> list[tuple[str, str, int | None]]:
        """The inline calendar may leave out kommun and län: the promise's own are meant."""
        line = self.located.line_of(("school_calendar",))
        keys = {_fold(key) for key, _, _ in entries}
        head: list[tuple[str, str, int | None]] = []
        if "kommun" not in keys and kommun is not None:
            head.append(("kommun", kommun, line))
        if "lan" not in keys and lan is not None:
            head.append(("län", lan, line))
        return head + entries

    def review_calendar(
        self,
        calendar: SchoolCalendar,
        *,
        source: CalendarSource | None,
        kommun: str | None,
        lan: str | None,
        validity: ValidityModel,
        needed: list[ActivitySpec],
    ) -> None:
        path: DataPath = ("school_calendar",)
        who = ", ".join(a.key for a in needed)
        if source is not None and source.kind == "estimated":
            self.note(
                (),
                f"ingen skolkalender anges: terminer och lov är uppskattade från {calendar.lan or lan} län; "
                f"bekräfta mot kommunens läsårstider (används av: {who})",
            )
        elif calendar.estimated:
            self.note(path, f"skolkalendern är markerad som uppskattad (bekräftad: nej); används av: {who}")
        if kommun is not None and _fold(calendar.kommun) != _fold(kommun):
            self.note(path, f"skolkalendern gäller {calendar.kommun}, men löftet gäller {kommun}")
        if lan is None:
            return
        first, last = _school_years(validity.start, validity.end)
        reference = estimated_school_calendar(kommun=kommun or "?", lan=lan, first_year=first, last_year=last)
        have = {t.key for t in calendar.terms}
        missing = [
            t.label
            for t in reference.terms_between(validity.start, validity.end)
            if t.key not in have
        ]
        if missing:
            self.note(
                path,
                f"skolkalendern saknar {', '.join(missing)}, som ligger inom giltighetstiden "
                f"{validity.start} – {validity.end}",
            )


def _needs_calendar(activity: ActivitySpec) -> bool:
    period = activity.rule.period
    return activity.school_bound or (period is not None and period.unit in (Unit.TERM, Unit.SCHOOL_YEAR))


def _school_years(start: dt.date, end: dt.date) -> tuple[int, int]:
    """``first_year``/``last_year`` for ``estimated_school_calendar`` covering start..end."""
    first = start.year if start.month >= 7 else start.year - 1
    last = end.year + 1 if end.month >= 7 else end.year
    return first, last


def _salvage(model: type[ValidityModel], value: Any) -> ValidityModel | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _salvage_items(model: type[_Model], value: Any) -> list[Any]:
    """Each item validated on its own (the file as a whole did not validate)."""
    if not isinstance(value, list):
        return []
    out: list[Any] = []
    for item in value:
        try:
            out.append(model.model_validate(item))
        except ValidationError:
            out.append(None)
    return out


def _salvage_text(value: Any) -> str | None:
    try:
        return _text(value)
    except ValueError:
        return None


def _salvage_lan(value: Any) -> str | None:
    try:
        return _lan(value)
    except ValueError:
        return None


def _raw_key(data: dict[str, Any], path: DataPath) -> str | None:
    """The key of an invalid list item, when it at least has a usable one."""
    node: Any = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    try:
        return _key(node.get("key")) if isinstance(node, dict) else None
    except ValueError:
        return None


def _raw_values(data: dict[str, Any], section: str, name: str) -> list[str]:
    items = data.get(section)
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            try:
                out.append(_key(item.get(name)))
            except ValueError:
                continue
    return out


# -- dumping ---------------------------------------------------------------------------------
def promise_file_data(
    spec: PromiseSpec, *, base_dir: str | os.PathLike[str] | None = None, pin_rules: bool = False
) -> dict[str, Any]:
    """The spec as plain data in the file's key order (what ``dump_promise_file`` writes).

    A calendar file's path is written relative to ``base_dir`` when given, else as it
    was written. ``pin_rules`` writes every rule key, so that a later parser cannot
    change the interpretation; by default only the file's own overrides are written.
    """
    out: dict[str, Any] = {
        "title": spec.title,
        "kommun": spec.kommun,
        "lan": spec.lan,
        "validity": {"start": spec.validity.start, "end": spec.validity.end},
        "units": [_compact(dataclasses.asdict(u)) for u in spec.units],
    }
    if spec.entities:
        out["entities"] = [_compact(dataclasses.asdict(e)) for e in spec.entities]
    cal = spec.calendar_source
    if cal.kind == "file" and cal.path is not None:
        out["school_calendar"] = (
            os.path.relpath(cal.path, Path(base_dir).resolve()) if base_dir is not None else cal.written
        ) or os.fspath(cal.path)
    elif cal.kind == "inline":
        inline: dict[str, Any] = {}
        for key, value in cal.entries:
            if key in inline:
                previous = inline[key]
                inline[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                inline[key] = value
        out["school_calendar"] = inline
    out["activities"] = [_activity_data(a, pin_rules=pin_rules) for a in spec.activities]
    if spec.notes:
        out["notes"] = spec.notes
    return out


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _activity_data(activity: ActivitySpec, *, pin_rules: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": activity.key,
        "title": activity.title,
        "sentence": activity.sentence,
        "unit": activity.unit.key,
    }
    if activity.partners:
        out["partners"] = [p.key for p in activity.partners]
    if activity.entity_kind is not None:
        out["entity_kind"] = activity.entity_kind
    if pin_rules:
        full = activity.rule.to_json()
        rule = {k: full[k] for k in RULE_KEYS}
    else:
        rule = dict(activity.overrides)
    if rule:
        out["rule"] = rule
    if not activity.tracked:
        out["tracked"] = False
    if activity.school_bound != _is_school_kind(activity.per_kind):
        out["school_bound"] = activity.school_bound
    if activity.weekdays:
        out["weekdays"] = [WEEKDAYS_SV[d] for d in activity.weekdays]
    if activity.time is not None:
        out["time"] = activity.time.strftime("%H:%M")
    for name in ("duration_minutes", "location", "notes"):
        value = getattr(activity, name)
        if value is not None:
            out[name] = value
    return out


def dump_promise_file(
    spec: PromiseSpec, *, base_dir: str | os.PathLike[str] | None = None, pin_rules: bool = False
) -> str:
    """The spec as promise-file YAML; ``load_promise_file`` of it gives an equal spec.

    Comments of the original file are not kept. See ``promise_file_data`` for the options.
    """
    data = promise_file_data(spec, base_dir=base_dir, pin_rules=pin_rules)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False)
