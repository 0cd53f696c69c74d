"""``lofte check FILE...``: validate promise files and show, in Swedish, how each is understood.

For a valid file it prints the promise (kommun, validity, school calendar, units,
entities), then per activity how the sentence was understood, the responsible unit,
the entities the quota multiplies over and what needs review, and ends with a list
"Behöver granskas". Exit 0 when every file is valid (review items do not fail), 2
otherwise, with every error of every invalid file on standard error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rules.school import LAN
from scheduler.planning import plan_spec
from scheduler.promise_file import WEEKDAYS_SV, PromiseFileError, PromiseFileInvalid, load_promise_file

try:  # describe_sv is the multi-line explanation; older cores only have explain_sv
    from rules.explain_sv import describe_sv as _describe
except ImportError:  # pragma: no cover - depends on the core's version
    from rules.explain_sv import explain_sv as _describe

if TYPE_CHECKING:
    from collections.abc import Callable

    from rules.planner import PlanProblem
    from scheduler.promise_file import ActivitySpec, PromiseSpec

#: At most this many plan problems are listed per activity; the rest are counted.
PROBLEMS_PER_ACTIVITY = 5

_CALENDAR_SV = {
    "file": "från {path}",
    "inline": "i löftesfilen",
    "estimated": "uppskattad från länets typiska läsår",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="kontrollera en löftesfil",
        description="Kontrollera löftesfiler och visa hur Löfte förstår varje aktivitet.",
    )
    p.add_argument("files", nargs="+", metavar="FIL", help="löftesfil (YAML), till exempel examples/astorp-2019.yaml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = 0
    for number, path in enumerate(args.files):
        if number:
            sys.stdout.write("\n")
        try:
            spec = load_promise_file(path)
        except PromiseFileError as exc:
            errors = exc.errors if isinstance(exc, PromiseFileInvalid) else (exc,)
            sys.stderr.write(f"lofte: {path} är inte giltig ({len(errors)} fel):\n")
            for error in errors:
                sys.stderr.write(f"  {error}\n")
            status = 2
            continue
        sys.stdout.write(report(spec))
    return status


def report(spec: PromiseSpec, *, describe: Callable[..., str] = _describe) -> str:
    """The Swedish report of one valid promise file."""
    out: list[str] = [f"{spec.title} ({spec.path})"]
    lan = LAN[spec.lan][0] if spec.lan in LAN else f"{spec.lan} län"
    out.append(f"Kommun: {spec.kommun}, {lan}")
    out.append(f"Giltigt: {spec.validity.start} – {spec.validity.end} ({spec.validity.days} dagar)")
    cal = spec.calendar_source
    where = _CALENDAR_SV[cal.kind].format(path=cal.written or cal.path)
    state = ""
    if spec.calendar is not None:
        if cal.kind != "estimated":
            state = ", uppskattad" if spec.calendar.estimated else ", bekräftad"
        terms = ", ".join(t.label for t in spec.calendar.terms_between(spec.validity.start, spec.validity.end))
        state += f"; terminer inom giltighetstiden: {terms or 'inga'}"
    out.append(f"Skolkalender: {where}{state}")

    out.append("Enheter:")
    width = max(len(u.key) for u in spec.units)
    for unit in spec.units:
        line = f"  {unit.key:<{width}}  {unit.name}"
        line += f" <{unit.email}>" if unit.email else " (ingen e-postadress)"
        if unit.part_of:
            line += f", del av {unit.part_of}"
        out.append(line)
    if spec.entities:
        out.append("Verksamheter:")
        kinds: dict[str, list[str]] = {}
        for entity in spec.entities:
            kinds.setdefault(entity.kind, []).append(entity.name)
        out.extend(f"  {kind}: {', '.join(names)}" for kind, names in kinds.items())

    out.append("")
    out.append(f"Aktiviteter ({len(spec.activities)}):")
    for number, activity in enumerate(spec.activities, start=1):
        out.append("")
        out.extend(_activity(number, activity, describe))

    out.append("")
    problems = plan_spec(spec).problems
    if problems:
        out.append(f"Planeringsproblem ({len(problems)}): Löfte planerar det som ryms, resten behöver ett beslut.")
        out.extend(_problems(spec, problems))
        out.append("")
    if spec.review:
        out.append(f"Behöver granskas ({len(spec.review)}):")
        out.extend(f"  {item}" for item in spec.review)
        out.append("")
    count = len(spec.activities)
    summary = f"Filen är giltig: {count} {'aktivitet' if count == 1 else 'aktiviteter'}"
    tracked = sum(1 for a in spec.activities if a.tracked)
    summary += f", {tracked} följs upp mot antal eller datum"
    if problems:
        summary += f", {len(problems)} planeringsproblem"
    summary += f", {len(spec.review)} att granska." if spec.review else ", inget att granska."
    out.append(summary)
    return "\n".join(out) + "\n"


def _problems(spec: PromiseSpec, problems: tuple[PlanProblem, ...]) -> list[str]:
    """Each problem with the file, line and field of its activity, a few per activity."""
    index = {a.key: (i, a) for i, a in enumerate(spec.activities)}
    by_activity: dict[str, list[PlanProblem]] = {}
    for problem in problems:
        by_activity.setdefault(problem.activity, []).append(problem)
    out: list[str] = []
    for key, items in by_activity.items():
        number, activity = index.get(key, (None, None))
        if activity is None:  # a pin of an activity no longer in the file
            where = f"{spec.path}, aktivitet '{key}'"
        else:
            where = f"{spec.path}"
            if activity.line is not None:
                where += f", rad {activity.line}"
            where += f", fält 'activities[{number}].sentence'"
        for problem in items[:PROBLEMS_PER_ACTIVITY]:
            entity = f" ({problem.entity})" if problem.entity else ""
            out.append(f"  {where}: {key}{entity}: {problem.message_sv}")
        if len(items) > PROBLEMS_PER_ACTIVITY:
            out.append(f"  … och {len(items) - PROBLEMS_PER_ACTIVITY} till för {key} (se lofte plan {spec.path})")
    return out


def _activity(number: int, activity: ActivitySpec, describe: Callable[..., str]) -> list[str]:
    pad = " " * 4
    out = [f"{number:>2}. {activity.key}: {activity.title}"]
    unit = activity.unit
    out.append(f"{pad}Ansvarig enhet: {unit.name} ({unit.key})")
    if activity.partners:
        out.append(f"{pad}Tillsammans med: {', '.join(f'{p.name} ({p.key})' for p in activity.partners)}")
    out.append(f"{pad}Mening: {activity.sentence}")
    out.append(f"{pad}Så förstår Löfte meningen:")
    out.extend(f"{pad}  {line}" for line in describe(activity.rule).splitlines())
    if activity.overrides:
        out.append(f"{pad}Ändrat i filen (rule): {', '.join(activity.overrides)}")
    if activity.rule.per:
        kind = activity.rule.per[0]
        names = ", ".join(e.name for e in activity.entities) or "inga i filen"
        out.append(f"{pad}Räknas per {kind}: {names}")
    out.append(f"{pad}Följer skolkalendern: {'ja' if activity.school_bound else 'nej'}")
    if activity.tracked:
        out.append(f"{pad}Följs upp mot antal eller datum: ja")
    else:
        out.append(f"{pad}Följs upp mot antal eller datum: nej, noteras bara (tracked: false)")
    wishes = _wishes(activity)
    if wishes:
        out.append(f"{pad}Planering: {wishes}")
    if activity.notes:
        out.append(f"{pad}Anteckning: {activity.notes}")
    out.extend(f"{pad}Behöver granskas: {item.message}" for item in activity.review)
    return out


def _wishes(activity: ActivitySpec) -> str:
    parts: list[str] = []
    if activity.weekdays:
        names = [WEEKDAYS_SV[d] for d in activity.weekdays]
        parts.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " eller " + names[-1])
    if activity.time is not None:
        parts.append(f"kl. {activity.time:%H:%M}")
    if activity.duration_minutes is not None:
        parts.append(f"{activity.duration_minutes} minuter")
    if activity.location:
        parts.append(activity.location)
    return ", ".join(parts)
