"""The follow-up report of one promise for a chosen span: printable HTML and CSV.

``GET /loften/{slug}/uppfoljning?fran=YYYY-MM-DD&till=YYYY-MM-DD[&format=csv]`` (logged
in; another kommun's promise is 404). Default span: the promise's validity.

One row per activity × entity × period whose period overlaps the span: what was
promised (``required``), what was done (completions that count, up to today), the
state today, the days done and their notes. Activities without a count to follow are
listed after, with the completions recorded for them inside the span. Evaluated with
``scheduler.status.evaluate_promises`` as of today (the same numbers as the overview).

CSV is what Swedish Excel opens by double-click: UTF-8 with a byte-order mark,
semicolon separators, CRLF line ends. A cell that starts with ``=``, ``+``, ``-``, ``@``
or a tab is prefixed with an apostrophe, so a note cannot become a formula (CSV
injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from rules.explain_sv import date_sv
from rules.quota import Untracked
from scheduler.db import Activity, Completion, Entity, Promise
from scheduler.status import evaluate_promises
from scheduler.web.dashboard import local_today, visible_promise
from scheduler.web.session import db_session, render, require_user

__all__ = ["CSV_COLUMNS", "FollowUp", "follow_up", "router", "to_csv"]

router = APIRouter()

#: The CSV's header row.
CSV_COLUMNS = (
    "Aktivitet", "Ansvarig", "Verksamhet", "Period", "Periodens början", "Periodens slut", "Lovat", "Genomfört",
    "Status", "Genomförda datum", "Anteckningar",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUp:
    """The report's content."""

    promise: Promise
    start: dt.date
    end: dt.date
    today: dt.date
    rows: list[dict[str, Any]]
    untracked: list[dict[str, Any]]

    @property
    def promised(self) -> int:
        return sum(r["required"] for r in self.rows)

    @property
    def done(self) -> int:
        return sum(min(r["done"], r["required"]) for r in self.rows)


def _notes(done: list[Completion]) -> list[str]:
    return [f"{c.done_on.isoformat()}: {c.note}" for c in done if c.note]


def follow_up(session: Session, promise: Promise, *, start: dt.date, end: dt.date, today: dt.date) -> FollowUp:
    """The follow-up of ``promise`` over ``start``–``end`` (both inclusive) as of ``today``."""
    report = evaluate_promises(session, today=today, promise=promise.slug)
    activities = {a.key: a for a in session.exec(select(Activity).where(Activity.promise_id == promise.id))}
    order = {key: i for i, key in enumerate(sorted(activities, key=lambda k: activities[k].id or 0))}
    entity_keys = {e.id: e.key for e in session.exec(select(Entity).where(Entity.promise_id == promise.id))}
    by_key: dict[tuple[int, str], list[Completion]] = defaultdict(list)
    rows_db = session.exec(
        select(Completion)
        .join(Activity, col(Activity.id) == col(Completion.activity_id))
        .where(Activity.promise_id == promise.id, col(Completion.undone_at).is_(None))
        .order_by(col(Completion.done_on), col(Completion.id))
    )
    for completion in rows_db:
        entity = entity_keys.get(completion.entity_id, "") if completion.entity_id is not None else ""
        by_key[(completion.activity_id, entity)].append(completion)
    rows: list[dict[str, Any]] = []
    for item in report.items:
        status = item.status
        span = status.span
        if span.end < start or span.start > end:
            continue
        activity = activities[status.activity]
        done = [c for c in by_key[(activity.id or 0, status.entity)] if span.start <= c.done_on <= min(span.end, today)]
        rows.append(
            {
                "order": (order.get(status.activity, 0), item.entity_name or "", span.start),
                "activity": item.activity_title,
                "unit": item.unit_name,
                "entity": item.entity_name or "",
                "period": span.label,
                "start": span.start,
                "end": span.end,
                "required": status.required,
                "done": status.done,
                "state": status.state.value,
                "days": [c.done_on for c in done],
                "notes": _notes(done),
            }
        )
    rows.sort(key=lambda r: r["order"])
    untracked = []
    for skipped in report.untracked:
        activity = activities[skipped.untracked.activity]
        done = [c for key, cs in by_key.items() if key[0] == activity.id for c in cs if start <= c.done_on <= end]
        untracked.append(
            {
                "activity": skipped.activity_title,
                "unit": skipped.unit_name,
                "reason": skipped.untracked.message_sv,
                "days": sorted(c.done_on for c in done),
                "notes": _notes(sorted(done, key=lambda c: c.done_on)),
            }
        )
    return FollowUp(promise=promise, start=start, end=end, today=today, rows=rows, untracked=untracked)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def to_csv(data: FollowUp) -> bytes:
    """The report as Swedish-Excel CSV (module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for r in data.rows:
        writer.writerow(
            [_cell(v) for v in (
                r["activity"], r["unit"], r["entity"], r["period"], r["start"].isoformat(), r["end"].isoformat(),
                r["required"], r["done"], r["state"], ", ".join(d.isoformat() for d in r["days"]),
                " | ".join(r["notes"]),
            )]
        )  # fmt: skip
    for u in data.untracked:
        writer.writerow(
            [_cell(v) for v in (
                u["activity"], u["unit"], "", f"{data.start.isoformat()} – {data.end.isoformat()}",
                data.start.isoformat(), data.end.isoformat(), "", len(u["days"]), Untracked.MARKER_SV,
                ", ".join(d.isoformat() for d in u["days"]), " | ".join(u["notes"]),
            )]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _day(value: str | None, name: str, default: dt.date) -> dt.date:
    if value is None or not value.strip():
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(
            status_code=400, detail=f"'{name}' ska vara ett datum skrivet ÅÅÅÅ-MM-DD, inte '{value[:40]}'."
        ) from None


@router.get("/loften/{slug}/uppfoljning", response_class=HTMLResponse)
def report_page(
    request: Request, slug: str, fran: str | None = None, till: str | None = None, format: str = "html"
) -> Response:
    today = local_today(request)
    if format not in ("html", "csv"):
        raise HTTPException(status_code=400, detail="'format' kan vara html eller csv.")
    with db_session(request) as session:
        user = require_user(request, session)
        promise = visible_promise(session, user, slug)
        start = _day(fran, "fran", promise.valid_from)
        end = _day(till, "till", promise.valid_until)
        if end < start:
            raise HTTPException(status_code=400, detail="Slutdatumet ('till') ligger före startdatumet ('fran').")
        data = follow_up(session, promise, start=start, end=end, today=today)
    if format == "csv":
        name = f"uppfoljning-{promise.slug}-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            to_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return render(
        request,
        "report.html",
        {
            "title": f"Uppföljning: {promise.title}",
            "r": data,
            "span": f"{date_sv(start)} – {date_sv(end)}",
            "today": date_sv(today),
            "fran": start.isoformat(),
            "till": end.isoformat(),
        },
    )
