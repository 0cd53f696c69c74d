"""A small iCalendar rendering of a plan, for ``lofte plan --format ics``.

One VEVENT per planned occurrence, no RRULE (ical-feeds.md §17):

* ``UID`` = ``uuid5(NAMESPACE, "{promise}/{activity}/{entity}/{period_key}/{slot}")``:
  stable while the slot exists, so a client moves an event instead of duplicating it
  when the planner gives its slot a new day;
* a timed occurrence is written in local time with ``TZID=Europe/Stockholm`` and the
  Outlook-compatible VTIMEZONE of ical-feeds.md §15 (one STANDARD, one DAYLIGHT, RRULE
  with BYDAY, no RDATE) instead of ``add_missing_timezones()``, whose RDATE lists
  Outlook misreads;
* an all-day occurrence has ``DTSTART;VALUE=DATE`` and an exclusive ``DTEND`` the day
  after (§20);
* ``DTSTAMP`` is the ``stamp`` passed in (UTC), never "now", so equal plans give equal bytes.

The full subscription feed (SEQUENCE, LAST-MODIFIED, refresh hints, tokens) is
``scheduler/ical.py``'s job; this module stays small on purpose.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar

from rules.planner import DEFAULT_TZ, PlannedOccurrence

__all__ = ["NAMESPACE", "VTIMEZONE_STOCKHOLM", "EventText", "occurrence_uid", "render_plan_ics"]

#: The uuid5 namespace of Löfte's planned occurrences (a fixed, random UUID).
NAMESPACE = uuid.UUID("6f1f4bde-5a43-4c1e-9a54-2f3b8d0c7e21")
#: Europe/Stockholm as Outlook reads it (ical-feeds.md §15).
VTIMEZONE_STOCKHOLM = (
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Stockholm\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "END:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "TZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventText:
    """The words of one event: SUMMARY, and optional LOCATION and DESCRIPTION."""

    summary: str
    location: str | None = None
    description: str | None = None


def occurrence_uid(promise: str, occurrence: PlannedOccurrence) -> str:
    """The stable UID of ``occurrence`` in promise ``promise``.

    >>> o = PlannedOccurrence(activity="mpk", entity="", period_key="2022-03", slot=0, day=dt.date(2022, 3, 10))
    >>> occurrence_uid("orkelljunga-2022", o) == occurrence_uid("orkelljunga-2022", o)
    True
    """
    o = occurrence
    return str(uuid.uuid5(NAMESPACE, f"{promise}/{o.activity}/{o.entity}/{o.period_key}/{o.slot}"))


def render_plan_ics(
    occurrences: Iterable[PlannedOccurrence],
    *,
    promise: str,
    name: str,
    text: Callable[[PlannedOccurrence], EventText],
    stamp: dt.datetime,
) -> bytes:
    """A VCALENDAR with one VEVENT per occurrence, in the order given.

    ``promise`` goes into every UID, ``name`` into X-WR-CALNAME/NAME, ``text`` gives
    each event's words, ``stamp`` (aware) is every DTSTAMP. Timed occurrences are
    written in Europe/Stockholm local time.
    """
    if stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware")
    zone = ZoneInfo(DEFAULT_TZ)
    stamp_utc = stamp.astimezone(dt.UTC)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Löfte//lofte plan//SV")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    events: list[icalendar.Event] = []
    timed = False
    for occurrence in occurrences:
        words = text(occurrence)
        event = icalendar.Event()
        event.add("uid", occurrence_uid(promise, occurrence))
        event.add("dtstamp", stamp_utc)
        if occurrence.start is None or occurrence.end is None:
            event.add("dtstart", occurrence.day)
            event.add("dtend", occurrence.day + dt.timedelta(days=1))
        else:
            timed = True
            event.add("dtstart", occurrence.start.astimezone(zone))
            event.add("dtend", occurrence.end.astimezone(zone))
        event.add("summary", words.summary)
        if words.location:
            event.add("location", words.location)
        if words.description:
            event.add("description", words.description)
        events.append(event)
    if timed:
        cal.add_component(icalendar.Component.from_ical(VTIMEZONE_STOCKHOLM))
    for event in events:
        cal.add_component(event)
    body: bytes = cal.to_ical()
    return body
