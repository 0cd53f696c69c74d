"""A signed medborgarlöfte (text, Markdown, Word or PDF) becomes a draft promise file.

``import_document(data, filename=..., today=...)`` is the whole job for the command
line (``lofte import``) and the web page alike; it returns an ``ImportResult``: the
draft as promise-file YAML and as a validated ``PromiseSpec``, what was understood,
what needs a person's decision, and the document's text with the source spans of
every activity found. Bad input raises ``DocumentError`` with a Swedish message
naming the file; nothing is written here (``write_draft`` writes atomically).

How a document is read
----------------------
1. **Text** (``scheduler.doc_text``) and **layout** (``scheduler.import_text``):
   headings, paragraphs and list items.
2. **Parties** (``scheduler.import_parties``): the kommun ("Åstorps kommun"; its län
   from ``scheduler.import_kommuner``), the lokalpolisområde ("Lpo Torsby").
3. **Sections**: a heading that names a party ("Lokalpolisområde Klippan kommer att
   arbeta med narkotikafrågor enligt nedan:", "Polisen lovar att:") makes that party
   responsible for the activities under it; background sections (Inledning,
   Lägesbild, Problembild, Situationen idag, Tidsram …) hold no activities.
4. **Activities**: every list item outside a background section, and every sentence
   of a paragraph that promises something ("ska", "skall", "kommer att", "lovar att")
   and is not the promise's introduction ("… lovar att gemensamt …", "nedanstående
   aktiviteter") or its validity. A list item is one activity; a later sentence of it
   that names its own actor ("Representanter från kommunförvaltningen kommer att …")
   or, with the same actor, its own date or count, starts another.
5. **Responsible unit**, first that applies: the item's marker ("/ **Polisen och
   kommunen.**", "(Kommunen)", "Ansvarig: …"; the first party is responsible, the
   others partners); the sentence's subject, unless it is a part of the section's
   party ("Skola och socialtjänst ska …" under the kommun's heading: the kommun, with
   skolan and socialtjänsten as partners); the section's party; "polisär"; else the
   kommun, flagged for review. Partners are also read from "i samverkan med …",
   "tillsammans med …", "mellan …".
6. **Validity**, best first: a sentence about the promise's time ("gäller från
   2023-03-06 till 2025-12-31", "pågår under två (2) år framåt från det att de
   tecknas", counted from the last signing date, "fram till halvårsskiftet 2021");
   the introduction ("under perioden 2022-03-01 – 2022-05-31"); a window in a
   heading ("Medborgarlöfte mars 2022 – maj 2022"); a year the text names
   ("under 2019"); the activities' own windows; else one year from the signing date
   (or ``today``), flagged for review.
7. **Rules and entities**: each activity's sentence is parsed (``rules.parse_sv``,
   with the validity's start as today); a quota per entity ("per termin och
   högstadieskola") proposes entities to name, as many as the text says
   ("kommunens två högstadieskolor") or one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rules import Rule, Window, parse_sv
from rules.sv_lexicon import NUMWORD_RE, fold, lemma_plural, number_value
from scheduler.doc_text import DocumentError, document_text
from scheduler.import_draft import draft_yaml
from scheduler.import_kommuner import KOMMUNER
from scheduler.import_parties import (
    UNITS,
    find_kommun,
    find_police_area,
    mentioned_units,
    unit_of,
    units_in_list,
)
from scheduler.import_text import Block, blocks, sentences
from scheduler.promise_file import (
    EntitySpec,
    PromiseFileError,
    PromiseFileInvalid,
    PromiseSpec,
    UnitSpec,
    parse_promise_file,
)

__all__ = [
    "DocumentError",
    "FoundActivity",
    "ImportResult",
    "ReviewNote",
    "import_document",
    "import_text",
    "write_draft",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundActivity:
    """One activity found in the document."""

    key: str
    title: str
    #: the document's words, as written (list marker and line breaks removed)
    sentence: str
    #: where ``sentence`` stands in ``ImportResult.source_text``: ``[start, end)`` per line
    spans: tuple[tuple[int, int], ...]
    unit: str
    partners: tuple[str, ...] = ()
    #: why ``unit`` is responsible, in Swedish ("markeringen '/ **Polisen**'")
    unit_reason: str
    #: what the parser made of ``sentence`` (today = the validity's start)
    rule: Rule
    entity_kind: str | None = None
    #: False for activities without count or date: noted, nothing to follow up
    tracked: bool = True
    #: the heading the activity stands under
    section: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewNote:
    """Something a person must decide or check, in Swedish; ``activity`` is a key or None."""

    message: str
    activity: str | None = None

    def __str__(self) -> str:
        return f"{self.activity}: {self.message}" if self.activity else self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """The draft made from one document (see the module docstring)."""

    filename: str
    #: the document's text as read; ``FoundActivity.spans`` point into it
    source_text: str
    kommun: str
    lan: str
    #: the lokalpolisområde's name ("Klippan"), or None when the document names none
    police_area: str | None
    validity: Window
    #: how the validity was found, in Swedish
    validity_source: str
    #: the last date the document was signed on, when it says
    signed_on: dt.date | None
    title: str
    units: tuple[UnitSpec, ...]
    entities: tuple[EntitySpec, ...]
    activities: tuple[FoundActivity, ...]
    notes: str | None
    #: what was understood, one Swedish line each
    understood: tuple[str, ...]
    #: what needs a person's decision
    review: tuple[ReviewNote, ...]
    #: the draft promise file (comments first: what was understood and what to review)
    yaml_text: str
    #: the draft, validated as ``lofte check`` does; None only if it has errors
    spec: PromiseSpec | None
    #: ``lofte check``'s errors of the draft (empty unless the document contradicts itself)
    problems: tuple[str, ...] = ()
    #: ``<kommun>-<year>.yaml``
    suggested_filename: str


def import_document(data: bytes, *, filename: str, today: dt.date) -> ImportResult:
    """Read a signed medborgarlöfte and make its draft promise file; raises ``DocumentError``.

    ``filename`` picks the format by its extension and names the file in messages;
    ``today`` stands in for a signing date the document does not give.
    """
    text = document_text(data, filename=filename)
    return import_text(text, filename=filename, today=today)


# -- vocabulary (folded) ------------------------------------------------------------------------
_CONTEXT_HEADINGS = (
    "inledning",
    "bakgrund",
    "lagesbild",
    "problembild",
    "problemformulering",
    "nulage",
    "situationen",
    "syfte",
    "orsak",
    "analys",
    "tidsram",
    "giltighet",
    "underskrift",
    "ort och datum",
    "kontaktperson",
    "kontakt",
    "fakta",
    "sammanfattning",
    "medborgardialog",
    "om medborgarloften",
    "vad ar ett medborgarlofte",
)
_MODAL = re.compile(r"\b(?:ska|skall|kommer att|lovar att|atar sig att|atar oss att|ansvarar for att|lovar)\b")
_INTRO = re.compile(
    r"\b(?:nedanstaende|foljande aktiviteter|foljande atgarder|enligt nedan|harmed|avger|"
    r"aktiviteter ska goras|det har ska vi gora)\b"
)
_VALIDITY_WORDS = re.compile(
    r"\b(?:galler|pagar|loper|giltig\w*|tidsram|tidsperiod|period(?:en)?|avser|tecknas|tills vidare|tillsvidare)\b"
)
_RELATIVE = re.compile(r"\b(?:tecknas|undertecknas|undertecknande\w*|tecknande\w*|fran det att|fran att)\b")
_HALF_YEAR = re.compile(r"\b(?:fram )?till (?:och med )?(halvarsskiftet|arsskiftet) (\d{4})")
_OPEN = re.compile(r"\b(?:tills vidare|tillsvidare|lopande|utan slutdatum)\b")
_BACKGROUND_START = re.compile(r"^(?:syftet|syfte|malet|malsattningen|visionen|bakgrunden|vi vill)\b")
#: a quotation in a news item: "– Vi vill …, säger kommunstyrelsens ordförande."
_QUOTATION = re.compile(r",\s*(?:sager|berattar)\s+\w+")
_NOT_SIGNED = re.compile(r"(?i)^(?:publicerad|uppdaterad|senast|skapad|nyhet)\b")
_POLICE_ADJECTIVE = re.compile(r"\bpolisi?ar[a-z]*\b")
_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
_SIGNED = re.compile(
    rf"^(?:[A-ZÅÄÖ][\w-]+(?: [A-ZÅÄÖ][\w-]+)?,? )?(?:den )?(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}} (?:{_MONTHS}) \d{{4}})$",
    re.IGNORECASE,
)
_SIGNED_LABEL = re.compile(r"(?i)^(?:undertecknat|underskrivet|datum|signerat)\s*:?\s*(.+)$")
_MARKER_SLASH = re.compile(r"/\s*([^/]{2,80}?)\s*$")
_MARKER_PAREN = re.compile(r"\(\s*(?:ansvarig[a]?:?\s*)?([^()]{2,80}?)\s*\)\s*\.?\s*$")
_MARKER_ANSVAR = re.compile(r"(?i)\bansvar(?:ig[a]?)?\s*(?:part(?:er)?|enhet(?:er)?)?\s*:\s*([^.;()]{2,80})")
_STOPWORDS = frozenset(
    "och i av med for pa till att en ett de den det som ska skall kommer minst samt om mot under vid fran "
    "var varje per alla sin sina sitt har kan bor fortsatt aven vidare".split()
)


@dataclass(slots=True)
class _Piece:
    """A stretch of one block that becomes one activity."""

    block: Block
    start: int
    end: int
    section: str | None
    context: tuple[str, tuple[str, ...]] | None
    marker: tuple[str, ...] = ()
    marker_text: str | None = None

    @property
    def text(self) -> str:
        return self.block.text[self.start : self.end].strip()


@dataclass(slots=True)
class _Validity:
    window: Window
    source: str
    priority: int
    assumed_start: bool = False


@dataclass(slots=True)
class _Reader:
    text: str
    filename: str
    today: dt.date
    review: list[ReviewNote] = field(default_factory=list)
    understood: list[str] = field(default_factory=list)

    def note(self, message: str, activity: str | None = None) -> None:
        self.review.append(ReviewNote(message=message, activity=activity))


def import_text(text: str, *, filename: str, today: dt.date) -> ImportResult:
    """``import_document`` for text already read (a pasted text, or ``doc_text``'s output)."""
    reader = _Reader(text=text, filename=filename, today=today)
    return _run(reader)


@functools.lru_cache(maxsize=8192)
def _parsed(text: str, today: dt.date) -> Rule:
    """``parse_sv``, remembered: the importer asks about the same sentence several times."""
    return parse_sv(text, today=today)


def _fail(filename: str, problem: str) -> DocumentError:
    return DocumentError(filename, problem)


def _run(r: _Reader) -> ImportResult:
    text = r.text
    folded_all = fold(text)
    if "lofte" not in folded_all and not ("polis" in folded_all and "kommun" in folded_all):
        raise _fail(
            r.filename,
            "dokumentet ser inte ut som ett medborgarlöfte (det nämner varken medborgarlöfte eller polisen och "
            "kommunen): kontrollera att det är rätt fil",
        )
    kommun_match = find_kommun(text)
    if kommun_match is None:
        raise _fail(
            r.filename,
            "hittar ingen kommun i dokumentet (som 'Åstorps kommun' eller 'Hagfors kommun'): "
            "ett medborgarlöfte ska nämna kommunen som skrev under",
        )
    kommun = kommun_match.name
    lan = KOMMUNER[kommun][1]
    if fold(kommun_match.written).rstrip("s") != fold(kommun).rstrip("s"):
        r.note(f"dokumentet stavar kommunen '{kommun_match.written}'; Löfte har skrivit {kommun}: kontrollera")
    police_area = find_police_area(text)
    if police_area is None:
        r.note("dokumentet namnger inget lokalpolisområde: skriv in namnet under units (polisen)")

    all_blocks = blocks(text)
    signed_on = _signed_on(all_blocks)
    pieces, validity_candidates, intro = _walk(r, all_blocks, signed_on)
    if not pieces:
        raise _fail(
            r.filename,
            f"hittar inga aktiviteter i dokumentet (punktlistor eller meningar med 'ska'): "
            f"är det ett medborgarlöfte? (kommunen: {kommun})",
        )
    validity = _choose_validity(r, validity_candidates, pieces, signed_on)
    activities = _activities(r, pieces, validity.window)
    units = _units(activities, kommun, police_area)
    entities = _entities(r, activities, text)
    activities = _with_entity_kinds(activities, entities)

    years = sorted({validity.window.start.year, validity.window.end.year})
    title = f"Medborgarlöfte {kommun} {years[0]}" + (f"–{years[-1]}" if len(years) > 1 else "")
    slug = re.sub(r"[^a-z0-9]+", "-", fold(kommun)).strip("-")
    suggested = f"{slug}-{validity.window.start.year}.yaml"
    notes = " ".join(intro) or None

    r.understood[:0] = [
        f"Kommun: {kommun} ({lan} län)"
        + (f"; lokalpolisområde: {police_area}" if police_area else "; inget lokalpolisområde namngivet"),
        f"Giltighetstid: {validity.window.start} – {validity.window.end} ({validity.source})",
    ]
    if signed_on:
        r.understood.append(f"Undertecknat (sista datum): {signed_on}")
    tracked = sum(1 for a in activities if a.tracked)
    r.understood.append(
        f"{len(activities)} aktiviteter: {tracked} följs upp mot antal eller datum, "
        f"{len(activities) - tracked} noteras utan antal"
    )
    by_unit: dict[str, int] = {}
    for a in activities:
        by_unit[a.unit] = by_unit.get(a.unit, 0) + 1
    r.understood.append("Ansvariga: " + ", ".join(f"{k} {n}" for k, n in by_unit.items()))

    untracked = [a.key for a in activities if not a.tracked]
    if untracked:
        r.note(
            "anger inget antal eller datum och noteras därför bara (tracked: false): "
            + ", ".join(untracked)
            + ". Ska någon följas upp: ange rule (t.ex. quota: {min: 1} och period: {unit: month})"
        )
    r.note(
        "ange e-postadress (email) för varje enhet under units: "
        + ", ".join(u.key for u in units)
        + " (utan adress skickas inga påminnelser)"
    )

    yaml_text = draft_yaml(
        title=title,
        kommun=kommun,
        lan=lan,
        validity=validity.window,
        units=units,
        entities=entities,
        activities=activities,
        notes=notes,
        filename=r.filename,
        understood=r.understood,
        review=r.review,
    )
    spec, problems = _validate(yaml_text, suggested)
    return ImportResult(
        filename=r.filename,
        source_text=text,
        kommun=kommun,
        lan=lan,
        police_area=police_area,
        validity=validity.window,
        validity_source=validity.source,
        signed_on=signed_on,
        title=title,
        units=units,
        entities=entities,
        activities=tuple(activities),
        notes=notes,
        understood=tuple(r.understood),
        review=tuple(r.review),
        yaml_text=yaml_text,
        spec=spec,
        problems=problems,
        suggested_filename=suggested,
    )


def _validate(yaml_text: str, source: str) -> tuple[PromiseSpec | None, tuple[str, ...]]:
    try:
        return parse_promise_file(yaml_text, source=source), ()
    except PromiseFileError as exc:
        errors = exc.errors if isinstance(exc, PromiseFileInvalid) else (exc,)
        return None, tuple(str(e) for e in errors)


# -- signing dates -------------------------------------------------------------------------------
def _date_sv(text: str) -> dt.date | None:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        day, month, year = text.split()
        return dt.date(int(year), _MONTHS.split("|").index(month.lower()) + 1, int(day))
    except ValueError:
        return None


def _signed_on(all_blocks: list[Block]) -> dt.date | None:
    """The last of the dates that stand alone on a line ("Hägersås 2022-06-14", "Datum: 2022-06-10")."""
    dates: list[dt.date] = []
    for block in all_blocks:
        if block.kind != "heading":
            continue
        line = block.text.strip(" *_")
        if _NOT_SIGNED.match(line):
            continue
        label = _SIGNED_LABEL.match(line)
        m = _SIGNED.match(label.group(1).strip() if label else line)
        if m:
            day = _date_sv(m.group(1))
            if day is not None:
                dates.append(day)
    return max(dates) if dates else None


# -- walking the document ------------------------------------------------------------------------
def _heading_party(text: str) -> tuple[str, tuple[str, ...]] | None:
    """The party a heading names as the actor of what follows ("Polisen lovar att:", "Kommunens åtaganden")."""
    folded = fold(text)
    if _INTRO.search(folded) and "enligt nedan" not in folded:
        return None
    keys = [unit_of(n) for n in _parsed(text, dt.date(2000, 1, 1)).responsible]
    found = [k for k in keys if k]
    if not found:
        words = text.replace("*", " ").split()
        first = fold(words[0]) if words else ""
        if first.endswith("s") and unit_of(words[0][:-1]) and len(words) <= 4:
            found = [unit_of(words[0][:-1]) or ""]
    if not found:
        return None
    return found[0], tuple(found[1:])


def _is_context_heading(text: str) -> bool:
    folded = fold(text).strip(" *_#:")
    return folded.startswith(_CONTEXT_HEADINGS)


def _walk(
    r: _Reader, all_blocks: list[Block], signed_on: dt.date | None
) -> tuple[list[_Piece], list[_Validity], list[str]]:
    pieces: list[_Piece] = []
    candidates: list[_Validity] = []
    intro: list[str] = []
    section: str | None = None
    context: tuple[str, tuple[str, ...]] | None = None
    background = False
    base = signed_on or r.today
    for block in all_blocks:
        if block.kind == "heading":
            heading = block.text.strip(" *_")
            background = _is_context_heading(heading)
            section = heading
            party = _heading_party(heading)
            if party is not None:
                context = party
            _validity_candidate(candidates, heading, base, signed_on, priority=2, heading=True)
            continue
        if block.kind == "item" and not background:
            if len(block.text.split()) >= 3 and not _QUOTATION.search(fold(block.text)):
                pieces.extend(_split_item(block, section, context))
            continue
        for start, end in sentences(block.text):
            sentence = block.text[start:end].strip()
            folded = fold(sentence)
            if _validity_candidate(candidates, sentence, base, signed_on, priority=1 if background else 3):
                continue
            if background or not _MODAL.search(folded) or sentence.endswith(("?", ":")):
                continue
            if _BACKGROUND_START.match(folded) or _QUOTATION.search(folded):
                continue
            if _is_intro(sentence, folded):
                intro.append(sentence)
                _validity_candidate(candidates, sentence, base, signed_on, priority=1, intro=True)
                continue
            piece = _Piece(block=block, start=start, end=end, section=section, context=context)
            _set_marker(piece)
            pieces.append(piece)
    return pieces, candidates, intro


def _is_intro(sentence: str, folded: str) -> bool:
    if _INTRO.search(folded):
        return True
    if "lovar" not in folded and "lofte" not in folded:
        return False
    rule = _parsed(sentence, dt.date(2000, 1, 1))
    top = {unit_of(n) for n in rule.responsible} & {"polisen", "kommunen"}
    return len(top) >= 2 and rule.quota is None and rule.deadline is None


def _set_marker(piece: _Piece) -> None:
    """Lift a responsible marker off the end of the piece ("/ **Polisen**", "(Kommunen)", "Ansvarig: X")."""
    text = piece.text.rstrip()
    for rx in (_MARKER_SLASH, _MARKER_PAREN):
        m = rx.search(text)
        if m:
            units = units_in_list(m.group(1).replace("*", " "))
            if units:
                piece.marker, piece.marker_text = tuple(units), text[m.start() :].strip()
                return
    m = _MARKER_ANSVAR.search(text)
    if m:
        units = units_in_list(m.group(1))
        if units:
            piece.marker, piece.marker_text = tuple(units), m.group(0).strip()


def _without_marker(piece: _Piece) -> str:
    text = piece.text
    if piece.marker_text and piece.marker_text in text:
        cut = text.rfind(piece.marker_text)
        text = (text[:cut] + text[cut + len(piece.marker_text) :]).strip(" ./")
    return text


def _split_item(block: Block, section: str | None, context: tuple[str, tuple[str, ...]] | None) -> list[_Piece]:
    """A list item is one activity; a later sentence with its own actor (and a new actor or its own date
    or count) starts another."""
    whole = _Piece(block=block, start=0, end=len(block.text), section=section, context=context)
    _set_marker(whole)
    spans = sentences(block.text)
    if len(spans) < 2:
        return [whole]
    out: list[_Piece] = []
    current = _Piece(block=block, start=spans[0][0], end=spans[0][1], section=section, context=context)
    current_unit = _subject_unit(_plain(block.text[spans[0][0] : spans[0][1]]))
    for start, end in spans[1:]:
        sentence = _plain(block.text[start:end])
        if whole.marker_text and whole.marker_text in sentence:
            sentence = sentence.replace(whole.marker_text, "").strip(" ./")
        unit = _subject_unit(sentence)
        rule = _parsed(sentence, dt.date(2000, 1, 1))
        own_timing = rule.quota is not None or rule.deadline is not None
        starts_with_actor = unit is not None and fold(sentence).split()[0] not in ("aktiviteten", "den", "det")
        if starts_with_actor and (unit != (current_unit or _whole_unit(whole, context)) or own_timing):
            out.append(current)
            current = _Piece(block=block, start=start, end=end, section=section, context=context)
            current_unit = unit
        else:
            current.end = end
    out.append(current)
    if len(out) == 1:
        return [whole]
    for piece in out:
        _set_marker(piece)
        if not piece.marker and whole.marker and piece is out[-1]:
            piece.marker, piece.marker_text = whole.marker, whole.marker_text
    return out


def _whole_unit(piece: _Piece, context: tuple[str, tuple[str, ...]] | None) -> str | None:
    if piece.marker:
        return piece.marker[0]
    return context[0] if context else None


def _plain(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip()


def _subject_unit(sentence: str) -> str | None:
    """The unit of the sentence's own subject, if it names one."""
    for name in _parsed(sentence, dt.date(2000, 1, 1)).responsible:
        key = unit_of(name)
        if key:
            return key
    return None


# -- validity ------------------------------------------------------------------------------------
def _validity_candidate(
    out: list[_Validity],
    sentence: str,
    base: dt.date,
    signed_on: dt.date | None,
    *,
    priority: int,
    heading: bool = False,
    intro: bool = False,
) -> bool:
    """Record the sentence's window if it speaks of the promise's time; True when it is a validity sentence."""
    folded = fold(sentence)
    about_time = bool(_VALIDITY_WORDS.search(folded))
    if not (about_time or heading or intro or priority >= 3):
        return False
    relative = bool(_RELATIVE.search(folded))
    rule = _parsed(sentence, base)
    quoted = _quote(sentence)
    half = _HALF_YEAR.search(folded)
    if (half and about_time) or (half and heading):
        year = int(half.group(2))
        end = dt.date(year, 6, 30) if half.group(1) == "halvarsskiftet" else dt.date(year, 12, 31)
        start = signed_on or base
        if start <= end:
            out.append(_Validity(Window(start=start, end=end), f"tolkad ur {quoted}", 0, assumed_start=True))
            return True
    if rule.window is not None:
        if heading and not about_time and not _mentions_promise(folded):
            priority = 2
        elif (priority >= 3 and (about_time and _mentions_promise(folded))) or (priority == 1 and about_time):
            priority = 0
        if priority >= 3 and _MODAL.search(folded):
            return False  # an activity's own window, not the promise's
        source = f"tolkad ur {quoted}"
        assumed = relative and signed_on is None
        if relative and signed_on is not None:
            source += f", räknat från sista underskriften {signed_on}"
        out.append(_Validity(rule.window, source, priority, assumed_start=assumed))
        return about_time or heading or intro
    if about_time and _mentions_promise(folded) and rule.deadline is not None and not heading:
        start = signed_on or base
        if start <= rule.deadline:
            out.append(_Validity(Window(start=start, end=rule.deadline), f"tolkad ur {quoted}", 0, assumed_start=True))
            return True
    if about_time and _mentions_promise(folded) and _OPEN.search(folded) and not _MODAL.search(folded):
        start = signed_on or base
        end = _one_year(start)
        out.append(_Validity(Window(start=start, end=end), f"löftet gäller tills vidare ({quoted})", 9, True))
        return True
    return False


def _mentions_promise(folded: str) -> bool:
    return bool(
        re.search(r"\b(?:medborgarloft\w*|loftet|loftena|overenskommelsen|aktiviteterna|dess aktiviteter)\b", folded)
    )


def _quote(sentence: str, limit: int = 90) -> str:
    plain = " ".join(_plain(sentence).split())
    return f"'{plain}'" if len(plain) <= limit else f"'{plain[: limit - 1].rstrip()}…'"


def _one_year(start: dt.date) -> dt.date:
    try:
        return start.replace(year=start.year + 1) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)


def _choose_validity(
    r: _Reader, candidates: list[_Validity], pieces: list[_Piece], signed_on: dt.date | None
) -> _Validity:
    if candidates:
        best = min(candidates, key=lambda c: c.priority)
        if best.priority == 9:
            r.note(
                f"löftet gäller tills vidare: Löfte har antagit ett år, {best.window.start} – {best.window.end}; "
                "ändra validity"
            )
            return best
        if best.priority >= 3:
            r.note(f"giltighetstiden {best.window.start} – {best.window.end} är {best.source}: kontrollera validity")
        if best.assumed_start:
            start = best.window.start
            r.note(
                f"startdagen {start} är antagen ({'sista underskriften' if signed_on else 'dagens datum'}): "
                "ändra validity.start till dagen löftet började gälla"
            )
        return _cover_activities(r, best, pieces)
    start = signed_on or r.today
    window = Window(start=start, end=_one_year(start))
    r.note(
        "dokumentet anger ingen giltighetstid: Löfte har antagit ett år från "
        + ("sista underskriften" if signed_on else "dagens datum")
        + f", {window.start} – {window.end}; ändra validity"
    )
    guessed = _Validity(window, "antagen: dokumentet anger ingen giltighetstid", 10, True)
    return _cover_activities(r, guessed, pieces)


def _cover_activities(r: _Reader, chosen: _Validity, pieces: list[_Piece]) -> _Validity:
    """A guessed validity grows to cover the activities' own windows; a stated one is kept."""
    if chosen.priority <= 1:
        return chosen
    start, end = chosen.window.start, chosen.window.end
    for piece in pieces:
        rule = _parsed(piece.text, start)
        for day in (
            rule.window.start if rule.window else None,
            rule.window.end if rule.window else None,
            rule.deadline,
        ):
            if day is not None:
                start, end = min(start, day), max(end, day)
    if (start, end) != (chosen.window.start, chosen.window.end):
        r.note(f"giltighetstiden är utökad till {start} – {end} så att aktiviteternas egna datum ryms: kontrollera")
        return dataclasses.replace(chosen, window=Window(start=start, end=end))
    return chosen


# -- activities ----------------------------------------------------------------------------------
def _activities(r: _Reader, pieces: list[_Piece], validity: Window) -> list[FoundActivity]:
    out: list[FoundActivity] = []
    keys: set[str] = set()
    for piece in pieces:
        sentence = piece.text
        rule = _parsed(sentence, validity.start)
        title = _title(_without_marker(piece))
        key = _unique(_key(title), keys)
        unit, partners, reason = _responsible(piece, sentence)
        if reason.startswith("antagen"):
            r.note(f"dokumentet säger inte vem som ansvarar; Löfte har skrivit {unit}: kontrollera unit", key)
        tracked = rule.quota is not None or rule.deadline is not None
        if rule.deadline is not None and rule.quota is None:
            r.note(
                f"har en sista dag ({rule.deadline}) men inget antal: ange rule.quota (t.ex. {{min: 1, max: 1}}) "
                "om något ska göras ett visst antal gånger",
                key,
            )
        spans = piece.block.source_spans(piece.start + _lead(piece), piece.end)
        out.append(
            FoundActivity(
                key=key,
                title=title,
                sentence=sentence,
                spans=spans,
                unit=unit,
                partners=partners,
                unit_reason=reason,
                rule=rule,
                tracked=tracked,
                section=piece.section,
            )
        )
    return out


def _lead(piece: _Piece) -> int:
    raw = piece.block.text[piece.start : piece.end]
    return len(raw) - len(raw.lstrip())


def _responsible(piece: _Piece, sentence: str) -> tuple[str, tuple[str, ...], str]:
    body = _without_marker(piece)
    subject = [k for k in (unit_of(n) for n in _parsed(body, dt.date(2000, 1, 1)).responsible) if k]
    mentioned = mentioned_units(body)
    context = piece.context
    partners: list[str]
    if piece.marker:
        unit, partners = piece.marker[0], [*piece.marker[1:], *subject]
        reason = f"markeringen '{piece.marker_text}'"
    elif subject:
        top = subject[0]
        if context and top == context[0]:
            unit, partners = top, [*context[1], *subject[1:]]
            reason = "meningens subjekt"
        elif context and UNITS[top].part_of == context[0]:
            unit, partners = context[0], [*context[1], *subject]
            reason = f"rubriken '{piece.section}'"
        else:
            unit, partners = top, subject[1:]
            reason = "meningens subjekt"
    elif context:
        unit, partners = context[0], list(context[1])
        reason = f"rubriken '{piece.section}'"
    elif _POLICE_ADJECTIVE.search(fold(body)):
        unit, partners, reason = "polisen", [], "'polisär' i meningen"
    else:
        unit, partners, reason = "kommunen", [], "antagen, dokumentet nämner ingen ansvarig"
    partners = [p for p in dict.fromkeys([*partners, *mentioned]) if p != unit]
    return unit, tuple(partners), reason


def _title(text: str, limit: int = 70) -> str:
    plain = " ".join(_plain(text).split())
    spans = sentences(plain)
    first = plain[spans[0][0] : spans[0][1]] if spans else plain
    first = first.rstrip(" .!?:;")
    if len(first) <= limit:
        return first
    for sep in (" – ", ", ", " för att ", " i syfte att ", " som "):
        cut = first.find(sep)
        if 20 <= cut <= limit:
            return first[:cut]
    return first[: first.rfind(" ", 0, limit - 1)].rstrip(" ,") + "…"


def _key(title: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", fold(title)) if w not in _STOPWORDS]
    key = ""
    for word in words[:3]:
        if key and len(key) + 1 + len(word) > 40:
            break
        key = f"{key}-{word}" if key else word[:40]
    return key or "aktivitet"


def _unique(key: str, keys: set[str]) -> str:
    candidate, n = key, 2
    while candidate in keys:
        candidate, n = f"{key}-{n}", n + 1
    keys.add(candidate)
    return candidate


# -- units and entities --------------------------------------------------------------------------
def _units(activities: Iterable[FoundActivity], kommun: str, police_area: str | None) -> tuple[UnitSpec, ...]:
    used: dict[str, None] = {"polisen": None, "kommunen": None}
    for a in activities:
        used[a.unit] = None
        for p in a.partners:
            used[p] = None
    return tuple(
        UnitSpec(key=key, name=UNITS[key].name(kommun, police_area), part_of=UNITS[key].part_of) for key in used
    )


_COUNT_RX = re.compile(rf"\b(\d{{1,2}}|{NUMWORD_RE}|bada) ([a-z]+)")


def _entity_count(text: str, kind: str) -> tuple[int, str] | None:
    """How many of ``kind`` the text names ("kommunens två högstadieskolor" → 2), and the phrase."""
    folded_kind = fold(kind)
    best: tuple[int, str] | None = None
    for m in _COUNT_RX.finditer(fold(text)):
        lemma = lemma_plural(m.group(2))
        if not (lemma == folded_kind or lemma_plural(m.group(2)[:-2]) == folded_kind or lemma.endswith(folded_kind)):
            continue
        n = 2 if m.group(1) == "bada" else number_value(m.group(1))
        if n is not None and 1 <= n <= 30 and (best is None or n > best[0]):
            best = (n, text[m.start() : m.end()])
    return best


def _entities(r: _Reader, activities: list[FoundActivity], text: str) -> tuple[EntitySpec, ...]:
    kinds = list(dict.fromkeys(a.rule.per[0] for a in activities if a.rule.per))
    out: list[EntitySpec] = []
    for kind in kinds:
        found = _entity_count(text, kind)
        count = found[0] if found else 1
        label = kind[:1].upper() + kind[1:]
        for n in range(1, count + 1):
            out.append(
                EntitySpec(kind=kind, key=f"{re.sub(r'[^a-z0-9]+', '-', fold(kind))}-{n}", name=f"{label} {n} (namnge)")
            )
        users = ", ".join(a.key for a in activities if a.rule.per and a.rule.per[0] == kind)
        if found:
            r.note(
                f"namnge de {count} verksamheterna av sorten {kind} under entities "
                f"(dokumentet: '{found[1]}'); används av: {users}"
            )
        else:
            r.note(
                f"dokumentet säger inte hur många av sorten {kind} det finns: Löfte har lagt in en; "
                f"namnge den och lägg till fler under entities (används av: {users})"
            )
    return tuple(out)


def _with_entity_kinds(activities: list[FoundActivity], entities: tuple[EntitySpec, ...]) -> list[FoundActivity]:
    kinds = {e.kind for e in entities}
    return [
        dataclasses.replace(a, entity_kind=a.rule.per[0]) if a.rule.per and a.rule.per[0] in kinds else a
        for a in activities
    ]


# -- writing -------------------------------------------------------------------------------------
def write_draft(result: ImportResult, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write the draft to ``path`` atomically; an existing file is kept unless ``force``.

    Raises ``FileExistsError`` when the file exists and ``force`` is false. The text goes
    to a temporary file in the same directory first, so a failure leaves nothing half-written.
    """
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(os.fspath(target))
    directory = target.parent if str(target.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(result.yaml_text)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if someone created the file meanwhile
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                if target.exists():
                    raise FileExistsError(os.fspath(target)) from None
                os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
