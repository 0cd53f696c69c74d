"""A lint of subscribed-feed bodies: the checklist of ``../shared/reference/ical-feeds.md`` §3.

``lint(body)`` returns the problems found (empty: clean), each a short English line
naming the rule and where. It checks bytes, not a parsed model, so it sees what a
client's parser sees: encoding, line ends, folding, order of properties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

__all__ = ["ContentLine", "lint", "unfold"]

MAX_OCTETS = 75
MAX_BODY = 1_000_000
CALENDAR_REQUIRED = ("VERSION", "PRODID", "CALSCALE", "METHOD", "NAME", "X-WR-CALNAME", "X-WR-TIMEZONE",
                     "REFRESH-INTERVAL", "X-PUBLISHED-TTL")  # fmt: skip
EVENT_REQUIRED = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "LAST-MODIFIED", "DESCRIPTION", "URL")
EVENT_FORBIDDEN = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "DURATION")


@dataclass(frozen=True, slots=True)
class ContentLine:
    number: int  #: physical line number (1-based) where it starts
    name: str
    params: dict[str, str] = field(default_factory=dict)
    value: str = ""


def unfold(text: str) -> list[ContentLine]:
    """Content lines of ``text`` (CRLF line ends, folded with CRLF + one space or tab)."""
    out: list[ContentLine] = []
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\r\n"), start=1):
        if line[:1] in (" ", "\t") and logical:
            start, previous = logical[-1]
            logical[-1] = (start, previous + line[1:])
        elif line:
            logical.append((number, line))
    for number, line in logical:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        out.append(ContentLine(number, name.upper(), dict(p.split("=", 1) for p in params if "=" in p), value))
    return out


_DATE = re.compile(r"^\d{8}$")
_DATETIME = re.compile(r"^\d{8}T\d{6}Z?$")


def lint(body: bytes) -> list[str]:
    problems: list[str] = []
    if body.startswith(b"\xef\xbb\xbf"):
        problems.append("UTF-8 BOM at the start")
    if len(body) >= MAX_BODY:
        problems.append(f"body of {len(body)} bytes is not under {MAX_BODY}")
    if not body.endswith(b"\r\n"):
        problems.append("the last line does not end with CRLF")
    for number, raw in enumerate(body.split(b"\r\n"), start=1):
        if b"\n" in raw or b"\r" in raw:
            problems.append(f"line {number}: a bare LF or CR (lines must end with CRLF)")
        if len(raw) > MAX_OCTETS:
            problems.append(f"line {number}: {len(raw)} octets, more than {MAX_OCTETS} (not folded)")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"line {number}: folding splits a multibyte character")
    try:  # a character split by folding is reported above; unfold bytes first to read the rest
        text = body.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        return [*problems, f"not UTF-8: {exc}"]
    lines = unfold(text)
    if not lines or (lines[0].name, lines[0].value) != ("BEGIN", "VCALENDAR"):
        return [*problems, "does not start with BEGIN:VCALENDAR"]
    if (lines[-1].name, lines[-1].value) != ("END", "VCALENDAR"):
        problems.append("does not end with END:VCALENDAR")

    # calendar properties, all before the first component
    first_component = next((i for i, line in enumerate(lines[1:], 1) if line.name == "BEGIN"), len(lines) - 1)
    calendar = {line.name: line for line in lines[1:first_component]}
    depth = 0
    for line in lines[first_component:-1]:
        depth += {"BEGIN": 1, "END": -1}.get(line.name, 0)
        if depth == 0 and line.name not in ("BEGIN", "END"):  # Outlook ignores it there
            problems.append(f"line {line.number}: calendar property {line.name} after the first component")
    for name in CALENDAR_REQUIRED:
        if name not in calendar:
            problems.append(f"calendar property {name} missing")
    if "VERSION" in calendar and calendar["VERSION"].value != "2.0":
        problems.append("VERSION is not 2.0")
    if "CALSCALE" in calendar and calendar["CALSCALE"].value != "GREGORIAN":
        problems.append("CALSCALE is not GREGORIAN")
    methods = [line.value for line in lines if line.name == "METHOD"]
    if methods != ["PUBLISH"]:
        problems.append(f"METHOD must be PUBLISH once, found {methods}")
    refresh = calendar.get("REFRESH-INTERVAL")
    if refresh is not None and refresh.params.get("VALUE") != "DURATION":
        problems.append("REFRESH-INTERVAL without VALUE=DURATION")
    ttl = calendar.get("X-PUBLISHED-TTL")
    if refresh is not None and ttl is not None and refresh.value != ttl.value:
        problems.append(f"REFRESH-INTERVAL {refresh.value} and X-PUBLISHED-TTL {ttl.value} differ")

    # components
    timezones: dict[str, int] = {}
    used_tzids: set[str] = set()
    uids: set[str] = set()
    stack: list[str] = []
    component: list[ContentLine] = []
    tz_parts: list[tuple[str, list[ContentLine]]] = []
    for line in lines[1:-1]:
        if line.name == "BEGIN":
            stack.append(line.value)
            if line.value == "VEVENT":
                component = []
            elif line.value in ("STANDARD", "DAYLIGHT"):
                tz_parts.append((line.value, []))
            elif line.value == "VTIMEZONE":
                tz_parts = []
            elif line.value == "VALARM":
                problems.append(f"line {line.number}: VALARM in a shared feed")
            continue
        if line.name == "END":
            if not stack or stack[-1] != line.value:
                problems.append(f"line {line.number}: END:{line.value} does not close BEGIN:{stack[-1:]}")
                continue
            stack.pop()
            if line.value == "VEVENT":
                problems.extend(_event(component, uids, used_tzids))
            elif line.value == "VTIMEZONE":
                problems.extend(_timezone(tz_parts, timezones, line.number))
            continue
        if stack and stack[-1] == "VEVENT":
            component.append(line)
        elif stack and stack[-1] in ("STANDARD", "DAYLIGHT") and tz_parts:
            tz_parts[-1][1].append(line)
        elif stack and stack[-1] == "VTIMEZONE" and line.name == "TZID":
            tz_parts.append(("TZID", [line]))
    if stack:
        problems.append(f"unclosed components: {stack}")
    for tzid in sorted(used_tzids):
        if timezones.get(tzid) != 1:
            problems.append(f"TZID {tzid} used, declared by {timezones.get(tzid, 0)} VTIMEZONE (need exactly 1)")
    return problems


def _timezone(parts: list[tuple[str, list[ContentLine]]], timezones: dict[str, int], number: int) -> list[str]:
    problems = []
    tzid = next((lines[0].value for kind, lines in parts if kind == "TZID"), None)
    if tzid is None:
        return [f"line {number}: VTIMEZONE without TZID"]
    timezones[tzid] = timezones.get(tzid, 0) + 1
    kinds = sorted(kind for kind, _ in parts if kind != "TZID")
    if kinds != ["DAYLIGHT", "STANDARD"]:
        problems.append(f"VTIMEZONE {tzid}: needs one STANDARD and one DAYLIGHT, has {kinds}")
    for kind, lines in parts:
        if kind == "TZID":
            continue
        names = {line.name: line for line in lines}
        if "RDATE" in names:
            problems.append(f"VTIMEZONE {tzid} {kind}: RDATE (Outlook misreads it)")
        rrule = names.get("RRULE")
        if rrule is None or "BYDAY=" not in rrule.value:
            problems.append(f"VTIMEZONE {tzid} {kind}: needs a yearly RRULE with BYDAY")
    return problems


def _event(lines: list[ContentLine], uids: set[str], used_tzids: set[str]) -> list[str]:
    props: dict[str, ContentLine] = {}
    problems = []
    for line in lines:
        if line.name in props and line.name in EVENT_REQUIRED:
            problems.append(f"line {line.number}: {line.name} twice in one VEVENT")
        props[line.name] = line
    where = f"VEVENT {props['UID'].value}" if "UID" in props else f"VEVENT at line {lines[0].number if lines else '?'}"
    for name in EVENT_REQUIRED:
        if name not in props:
            problems.append(f"{where}: {name} missing")
    for name in EVENT_FORBIDDEN:
        if name in props:
            problems.append(f"{where}: {name} (each occurrence is its own VEVENT with DTSTART/DTEND)")
    if "UID" in props:
        if props["UID"].value in uids:
            problems.append(f"{where}: UID not unique")
        uids.add(props["UID"].value)
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        if name in props and not (_DATETIME.match(props[name].value) and props[name].value.endswith("Z")):
            problems.append(f"{where}: {name} {props[name].value} is not UTC")
    if props.get("STATUS") is not None and props["STATUS"].value == "CANCELLED":
        problems.append(f"{where}: STATUS:CANCELLED (drop the event instead)")
    if props.get("SEQUENCE") is not None and not props["SEQUENCE"].value.isdigit():
        problems.append(f"{where}: SEQUENCE {props['SEQUENCE'].value} is not a non-negative integer")
    start, end = props.get("DTSTART"), props.get("DTEND")
    if start is None or end is None:
        return problems
    all_day = start.params.get("VALUE") == "DATE"
    if all_day != (end.params.get("VALUE") == "DATE"):
        problems.append(f"{where}: DTSTART and DTEND differ in VALUE=DATE")
    for line in (start, end):
        if line.params.get("VALUE") == "DATE":
            if "TZID" in line.params:
                problems.append(f"{where}: TZID on a DATE value")
            if not _DATE.match(line.value):
                problems.append(f"{where}: {line.name} {line.value} is not a DATE")
        else:
            if not _DATETIME.match(line.value):
                problems.append(f"{where}: {line.name} {line.value} is not a DATE-TIME")
            if "TZID" in line.params:
                used_tzids.add(line.params["TZID"])
            elif not line.value.endswith("Z"):
                problems.append(f"{where}: {line.name} is a floating time (no TZID, no Z)")
    comparable = start.params.get("TZID") == end.params.get("TZID") and start.value[-1:] == end.value[-1:]
    if comparable and end.value <= start.value:
        problems.append(f"{where}: DTEND {end.value} is not after DTSTART {start.value}")
    summary = props.get("SUMMARY")
    if summary is not None and summary.value.startswith("Sista dag: "):
        if not all_day:
            problems.append(f"{where}: a deadline is not an all-day event")
        if props.get("TRANSP") is None or props["TRANSP"].value != "TRANSPARENT":
            problems.append(f"{where}: a deadline without TRANSP:TRANSPARENT")
    return problems


# -- the lint itself: it must catch what it claims to ------------------------------------------------
def _good() -> bytes:
    from scheduler.ical_plan import VTIMEZONE_STOCKHOLM

    head = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//SV\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n"
        "NAME:Löfte – test\r\nX-WR-CALNAME:Löfte – test\r\nX-WR-TIMEZONE:Europe/Stockholm\r\n"
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nX-PUBLISHED-TTL:PT1H\r\n"
    )
    event = (
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20250101T000000Z\r\nLAST-MODIFIED:20250101T000000Z\r\nSEQUENCE:0\r\n"
        "DTSTART;TZID=Europe/Stockholm:20250314T100000\r\nDTEND;TZID=Europe/Stockholm:20250314T110000\r\n"
        "SUMMARY:Möte\r\nDESCRIPTION:Ansvarig: X\r\nURL:https://x/y\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:u2\r\nDTSTAMP:20250101T000000Z\r\nLAST-MODIFIED:20250101T000000Z\r\nSEQUENCE:1\r\n"
        "DTSTART;VALUE=DATE:20250331\r\nDTEND;VALUE=DATE:20250401\r\nSUMMARY:Sista dag: Möte\r\n"
        "DESCRIPTION:Ansvarig: X\r\nURL:https://x/y\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n"
    )
    return (head + VTIMEZONE_STOCKHOLM + event + "END:VCALENDAR\r\n").encode()


def test_a_clean_feed_passes() -> None:
    assert lint(_good()) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda b: b"\xef\xbb\xbf" + b, "BOM"),
        (lambda b: b.replace(b"\r\n", b"\n"), "CRLF"),
        (lambda b: b.replace(b"SUMMARY:M\xc3\xb6te\r\n", b"SUMMARY:" + "ö".encode() * 40 + b"\r\n", 1), "octets"),
        (lambda b: b.replace(b"DESCRIPTION:Ansvarig: X\r\n", b"DESCRIPTION:" + b"a" * 62 + b"\xc3\r\n \xb6\r\n", 1),
         "multibyte"),
        (lambda b: b.replace(b"METHOD:PUBLISH", b"METHOD:REQUEST"), "METHOD"),
        (lambda b: b.replace(b"X-WR-CALNAME:L\xc3\xb6fte \xe2\x80\x93 test\r\n", b""), "X-WR-CALNAME missing"),
        (lambda b: b.replace(b"END:VCALENDAR", b"X-WR-CALNAME:late\r\nEND:VCALENDAR"), "after the first component"),
        (lambda b: b.replace(b"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", b"RDATE:20250330T020000"), "RDATE"),
        (lambda b: b.replace(b"BEGIN:VTIMEZONE", b"BEGIN:X-NONE").replace(b"END:VTIMEZONE", b"END:X-NONE"),
         "declared by 0"),
        (lambda b: b.replace(b"20250314T110000", b"20250314T090000"), "not after DTSTART"),
        (lambda b: b.replace(b"DTEND;VALUE=DATE:20250401", b"DTEND;VALUE=DATE:20250331"), "not after DTSTART"),
        (lambda b: b.replace(b"DTSTART;VALUE=DATE:", b"DTSTART;VALUE=DATE;TZID=Europe/Stockholm:"), "TZID on a DATE"),
        (lambda b: b.replace(b"UID:u2", b"UID:u1"), "not unique"),
        (lambda b: b.replace(b"DTSTAMP:20250101T000000Z\r\nLAST-MODIFIED:20250101T000000Z\r\nSEQUENCE:0",
                             b"DTSTAMP:20250101T000000\r\nLAST-MODIFIED:20250101T000000Z\r\nSEQUENCE:0"), "not UTC"),
        (lambda b: b.replace(b"TRANSP:TRANSPARENT\r\n", b""), "TRANSPARENT"),
        (lambda b: b.replace(b"SEQUENCE:1\r\n", b"SEQUENCE:1\r\nRRULE:FREQ=DAILY\r\n"), "RRULE"),
        (lambda b: b.replace(b"SEQUENCE:1\r\n", b"SEQUENCE:1\r\nSTATUS:CANCELLED\r\n"), "CANCELLED"),
        (lambda b: b.replace(b"URL:https://x/y\r\nTRANSP", b"BEGIN:VALARM\r\nEND:VALARM\r\nURL:https://x/y\r\nTRANSP"),
         "VALARM"),
        (lambda b: b + b"X" * 1_000_000, "under"),
    ],
    ids=["bom", "lf", "long-line", "split-char", "method", "no-name", "late-property", "rdate", "no-vtimezone",
         "end-before-start", "all-day-end-equal", "tzid-on-date", "duplicate-uid", "dtstamp-local", "deadline-opaque",
         "rrule", "cancelled", "valarm", "too-big"],
)  # fmt: skip
def test_lint_catches(edit: object, expected: str) -> None:
    problems = lint(edit(_good()))  # type: ignore[operator]
    assert any(expected in p for p in problems), problems
