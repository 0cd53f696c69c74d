"""``lofte plan FILE``: the planned occurrences of a promise file.

The whole validity is always planned (so what is shown never depends on the range
asked for, see ``rules.planner``); ``--from``/``--to`` (both inclusive) and ``--unit``
only choose what is printed. Formats:

* ``table`` (default): Swedish, grouped by responsible unit and activity, one row per
  occurrence with its period and the period's last feasible day, then the activities
  that are not planned and the problems;
* ``json``: the same content for programs (dates ISO 8601, instants in UTC);
* ``ics``: a VCALENDAR with one event per occurrence (``scheduler.ical_plan``); its
  DTSTAMP is the promise file's modification time, so the output only changes when the
  file does.

Problems (a quota that does not fit its period) do not change the exit status: the
plan is still printed, like ``lofte check``'s review items. An invalid file, an unknown
unit or a bad date exit 2 with a Swedish message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rules import explain_sv
from rules.periods import MONTHS_SV
from rules.planner import ActivityPlan, PeriodPlan, Plan, PlannedOccurrence
from scheduler.cli import UserError
from scheduler.ical_plan import EventText, render_plan_ics
from scheduler.planning import plan_spec
from scheduler.promise_file import PromiseFileError, PromiseFileInvalid, load_promise_file

if TYPE_CHECKING:
    from scheduler.promise_file import ActivitySpec, PromiseSpec, UnitSpec

WEEKDAYS_SHORT_SV = ("mån", "tis", "ons", "tor", "fre", "lör", "sön")
FORMATS = ("table", "json", "ics")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="visa planerade tillfällen för en löftesfil",
        description="Planera aktiviteterna i en löftesfil och visa tillfällena: datum, tid, period och "
        "sista dag då periodens antal fortfarande kan nås.",
    )
    p.add_argument("file", metavar="FIL", help="löftesfil (YAML), till exempel examples/orkelljunga-2022.yaml")
    p.add_argument("--from", dest="start", type=_date, default=None, metavar="DATUM",
                   help="visa från och med ÅÅÅÅ-MM-DD (standard: giltighetstidens start)")  # fmt: skip
    p.add_argument("--to", dest="end", type=_date, default=None, metavar="DATUM",
                   help="visa till och med ÅÅÅÅ-MM-DD (standard: giltighetstidens slut)")  # fmt: skip
    p.add_argument("--unit", default=None, metavar="ENHET", help="visa bara en ansvarig enhet (nyckel eller namn)")
    p.add_argument("--format", choices=FORMATS, default="table", help="utdata: table (standard), json eller ics")
    p.set_defaults(func=run)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ogiltigt datum {value!r}, skriv ÅÅÅÅ-MM-DD") from None


# -- building the plan -----------------------------------------------------------------------------
def _load(path: str) -> PromiseSpec:
    try:
        return load_promise_file(path)
    except PromiseFileError as exc:
        errors = exc.errors if isinstance(exc, PromiseFileInvalid) else (exc,)
        listed = "\n".join(f"  {e}" for e in errors)
        raise UserError(f"{path} är inte giltig ({len(errors)} fel):\n{listed}") from None


def _unit_filter(spec: PromiseSpec, wanted: str | None) -> UnitSpec | None:
    if wanted is None:
        return None
    folded = wanted.strip().casefold()
    for unit in spec.units:
        if folded in (unit.key.casefold(), unit.name.casefold()):
            return unit
    known = ", ".join(u.key for u in spec.units)
    raise UserError(f"okänd enhet '{wanted}' i {spec.path} (kända: {known})")


def date_sv(day: dt.date) -> str:
    """'tor 10 mars 2022'."""
    return f"{WEEKDAYS_SHORT_SV[day.weekday()]} {day.day} {MONTHS_SV[day.month - 1]} {day.year}"


def _time_sv(occurrence: PlannedOccurrence, zone: dt.tzinfo) -> str:
    if occurrence.start is None or occurrence.end is None:
        return "heldag"
    start, end = occurrence.start.astimezone(zone), occurrence.end.astimezone(zone)
    return f"{start:%H:%M}–{end:%H:%M}"


# -- what is shown -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class PlanView:
    """A plan with the file it came from and the part of it to print."""

    spec: PromiseSpec
    plan: Plan
    start: dt.date
    end: dt.date
    unit: UnitSpec | None = None

    def activities(self) -> list[tuple[ActivitySpec, ActivityPlan]]:
        """(file activity, its plan) for the chosen unit, in file order."""
        return [
            (activity, self.plan.activity(activity.key))
            for activity in self.spec.activities
            if self.unit is None or activity.unit.key == self.unit.key
        ]

    def periods(self, activity_plan: ActivityPlan) -> list[PeriodPlan]:
        """The periods of an activity that share a day with the range."""
        return [p for p in activity_plan.periods if p.span.start <= self.end and self.start <= p.span.end]

    def occurrences(self, period: PeriodPlan) -> list[PlannedOccurrence]:
        return [o for o in period.occurrences if self.start <= o.day <= self.end]

    def entity_name(self, key: str) -> str:
        for entity in self.spec.entities:
            if entity.key == key:
                return entity.name
        return key

    def problems(self) -> list[Any]:
        keys = {a.key for a, _ in self.activities()}
        return [p for p in self.plan.problems if p.activity in keys]


def build_view(path: str, *, start: dt.date | None, end: dt.date | None, unit: str | None) -> PlanView:
    """Load, plan and choose what to show; every user mistake raises ``UserError``."""
    spec = _load(path)
    chosen = _unit_filter(spec, unit)
    start = start or spec.validity.start
    end = end or spec.validity.end
    if end < start:
        raise UserError(f"--to ({end}) ligger före --from ({start})")
    return PlanView(spec=spec, plan=plan_spec(spec), start=start, end=end, unit=chosen)


def run(args: argparse.Namespace) -> int:
    view = build_view(args.file, start=args.start, end=args.end, unit=args.unit)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(view), ensure_ascii=False, indent=2) + "\n")
    elif args.format == "ics":
        stamp = dt.datetime.fromtimestamp(int(os.stat(args.file).st_mtime), tz=dt.UTC)
        body = to_ics(view, stamp=stamp)
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:  # CRLF line ends as written, not translated
            sys.stdout.flush()
            buffer.write(body)
            buffer.flush()
        else:  # a text-only stream (pytest's capsys)
            sys.stdout.write(body.decode("utf-8"))
    else:
        sys.stdout.write(to_table(view))
    return 0


# -- table ---------------------------------------------------------------------------------------------
HEADINGS = ("Datum", "Tid", "Verksamhet", "Period", "Tillfälle", "Senast möjliga dag", "Not")


def _rows(view: PlanView, activity_plan: ActivityPlan, zone: dt.tzinfo) -> list[tuple[str, ...]]:
    rows: list[tuple[dt.date, str, tuple[str, ...]]] = []
    for period in view.periods(activity_plan):
        for occurrence in view.occurrences(period):
            notes = []
            if occurrence.pinned:
                notes.append("fäst")
            if occurrence.average:
                notes.append("snitt")
            if not period.feasible:
                notes.append("ryms inte")
            row = (
                date_sv(occurrence.day),
                _time_sv(occurrence, zone),
                view.entity_name(occurrence.entity) if occurrence.entity else "–",
                period.span.label,
                f"{occurrence.slot + 1} av {period.required}",
                date_sv(period.last_feasible_day) if period.last_feasible_day else "–",
                ", ".join(notes),
            )
            rows.append((occurrence.day, occurrence.entity, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _table(rows: list[tuple[str, ...]], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in (HEADINGS, *rows)) for i in range(len(HEADINGS))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in (HEADINGS, *rows)]


def to_table(view: PlanView) -> str:
    """The Swedish table of ``view``."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only the table and ics need a zone

    zone = ZoneInfo("Europe/Stockholm")
    spec = view.spec
    out = [f"Plan för {spec.title} ({spec.path})"]
    out.append(f"Giltigt: {date_sv(spec.validity.start)} – {date_sv(spec.validity.end)}")
    shown = f"Visar: {date_sv(view.start)} – {date_sv(view.end)}"
    out.append(shown + (f", enhet {view.unit.name}" if view.unit else ""))
    if spec.calendar is not None:
        state = "uppskattad" if spec.calendar.estimated else "bekräftad"
        out.append(f"Skolkalender: {spec.calendar.kommun}, {state}")
    out.append(
        "Tillfällen läggs på arbetsdagar utom klämdagar (lördag och söndag bara när aktiviteten önskar det), "
        "aktiviteter som följer skolkalendern bara på skoldagar."
    )

    total = 0
    skipped: list[tuple[ActivitySpec, ActivityPlan]] = []
    by_unit: dict[str, list[tuple[ActivitySpec, ActivityPlan]]] = {}
    for activity, activity_plan in view.activities():
        if activity_plan.unscheduled is not None:
            skipped.append((activity, activity_plan))
        else:
            by_unit.setdefault(activity.unit.key, []).append((activity, activity_plan))
    for unit in spec.units:
        items = by_unit.get(unit.key)
        if not items:
            continue
        out += ["", f"{unit.name} ({unit.key})"]
        for activity, activity_plan in items:
            out += ["", f"  {activity.key}: {activity.title}", f"  {explain_sv(activity.rule)}"]
            rows = _rows(view, activity_plan, zone)
            total += len(rows)
            if rows:
                out += _table(rows, "    ")
            else:
                out.append("    inga tillfällen i det visade intervallet")
    if skipped:
        out += ["", f"Planeras inte ({len(skipped)}):"]
        for activity, activity_plan in skipped:
            reason = activity_plan.unscheduled.message_sv if activity_plan.unscheduled else ""
            out.append(f"  {activity.key}: {activity.title} – {reason}")
    problems = view.problems()
    if problems:
        out += ["", f"Problem ({len(problems)}):"]
        out += [f"  {p}" for p in problems]
    planned = len(view.activities()) - len(skipped)
    out += ["", f"{total} {'tillfälle' if total == 1 else 'tillfällen'} i {planned} planerade "
                f"{'aktivitet' if planned == 1 else 'aktiviteter'}, {len(skipped)} planeras inte, "
                f"{len(problems)} problem."]  # fmt: skip
    return "\n".join(out) + "\n"


# -- json ------------------------------------------------------------------------------------------------
def to_json(view: PlanView) -> dict[str, Any]:
    """The JSON shape of ``lofte plan --format json``."""
    spec = view.spec
    activities: list[dict[str, Any]] = []
    for activity, activity_plan in view.activities():
        periods = []
        for period in view.periods(activity_plan):
            data = period.to_json()
            data["occurrences"] = [o.to_json() for o in view.occurrences(period)]
            periods.append(data)
        activities.append(
            {
                "key": activity.key,
                "title": activity.title,
                "unit": activity.unit.key,
                "kind": activity.rule.kind.value,
                "summary": explain_sv(activity.rule),
                "school_bound": activity.school_bound,
                "entities": [{"key": e.key, "name": e.name} for e in activity.entities],
                "unscheduled": activity_plan.unscheduled.to_json() if activity_plan.unscheduled else None,
                "periods": periods,
            }
        )
    return {
        "promise": {
            "title": spec.title,
            "kommun": spec.kommun,
            "file": Path(spec.path).name,
            "validity": spec.validity.to_json(),
            "school_calendar": None
            if spec.calendar is None
            else {"kommun": spec.calendar.kommun, "estimated": spec.calendar.estimated},
        },
        "range": {"from": view.start.isoformat(), "to": view.end.isoformat()},
        "unit": view.unit.key if view.unit else None,
        "activities": activities,
        "problems": [p.to_json() for p in view.problems()],
    }


# -- ics -------------------------------------------------------------------------------------------------
def to_ics(view: PlanView, *, stamp: dt.datetime) -> bytes:
    """``view`` as a VCALENDAR (see ``scheduler.ical_plan``)."""
    spec = view.spec
    by_activity = {a.key: a for a, _ in view.activities()}
    periods: dict[tuple[str, str, str], PeriodPlan] = {}
    chosen: list[PlannedOccurrence] = []
    for _, activity_plan in view.activities():
        for period in view.periods(activity_plan):
            periods[(period.activity, period.entity, period.span.key)] = period
            chosen += view.occurrences(period)
    chosen.sort(key=lambda o: (o.day, o.start or dt.datetime.min.replace(tzinfo=dt.UTC), o.activity, o.entity))

    def text(occurrence: PlannedOccurrence) -> EventText:
        activity = by_activity[occurrence.activity]
        period = periods[(occurrence.activity, occurrence.entity, occurrence.period_key)]
        summary = activity.title
        if occurrence.entity:
            summary += f" – {view.entity_name(occurrence.entity)}"
        lines = [f"{period.span.label}: tillfälle {occurrence.slot + 1} av {period.required}."]
        if period.last_feasible_day:
            lines.append(f"Senast möjliga dag för perioden: {date_sv(period.last_feasible_day)}.")
        lines.append(f"Löftet: {activity.sentence}")
        return EventText(summary=summary, location=activity.location, description="\n".join(lines))

    return render_plan_ics(chosen, promise=Path(spec.path).stem, name=spec.title, text=text, stamp=stamp)
