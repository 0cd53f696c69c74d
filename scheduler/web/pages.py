"""The HTML pages: thin handlers that read the database and render ``templates/pages``.

Every handler reads what it shows in one session and passes plain values to its
template; the clock comes from ``app.state.clock`` (tests fix it). Swedish text lives
in the templates; the few strings built here (status names) are in ``STATUS_SV``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, func, select

from rules import Rule, RuleError, explain_sv
from rules.explain_sv import date_sv
from scheduler.db import Activity, Entity, Occurrence, OccurrenceStatus, Promise, Unit
from scheduler.feeds import UnknownFeedError, feed_info, feed_urls, list_feeds, rotate

__all__ = ["STATUS_SV", "router"]

router = APIRouter()

#: How an occurrence's status reads on a page.
STATUS_SV = {
    OccurrenceStatus.PLANNED: "planerad",
    OccurrenceStatus.DONE: "genomförd",
    OccurrenceStatus.MOVED: "flyttad",
    OccurrenceStatus.CANCELLED: "inställd",
}
_WEEKDAYS_SV = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
#: How many upcoming occurrences an activity page lists.
UPCOMING = 20


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    state = request.app.state
    return state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, name, {"demo": state.demo, **context}, status_code=status
    )


def _today(request: Request) -> dt.date:
    now: dt.datetime = request.app.state.clock()
    return now.astimezone(request.app.state.zone).date()


def _session(request: Request) -> Session:
    return Session(request.app.state.engine, expire_on_commit=False)


def _promise(session: Session, slug: str) -> Promise:
    promise = session.exec(select(Promise).where(Promise.slug == slug)).one_or_none()
    if promise is None:
        raise HTTPException(status_code=404)
    return promise


def _explain(rule: dict[str, Any]) -> str:
    try:
        return explain_sv(Rule.from_json(rule))
    except (RuleError, KeyError, TypeError, ValueError):
        return "(regeln kunde inte läsas)"


@router.get("/", response_class=HTMLResponse)
def start(request: Request) -> Response:
    with _session(request) as session:
        promises = session.exec(select(Promise).order_by(col(Promise.kommun), col(Promise.valid_from))).all()
        # looked up by ``Promise.id``, typed ``int | None`` before a row is stored
        counts: dict[int | None, int] = dict(
            session.exec(
                select(Activity.promise_id, func.count())
                .where(col(Activity.retired_at).is_(None))
                .group_by(col(Activity.promise_id))
            ).all()
        )
    rows = [
        {
            "slug": p.slug,
            "title": p.title,
            "kommun": p.kommun,
            "lan": p.lan,
            "valid": f"{date_sv(p.valid_from)} – {date_sv(p.valid_until)}",
            "activities": counts.get(p.id, 0),
        }
        for p in promises
    ]
    return _render(request, "index.html", {"title": "Medborgarlöften", "promises": rows})


@dataclass(frozen=True, slots=True)
class _FeedRow:
    id: int
    name: str
    scope: str
    url: str | None
    webcal: str | None
    rotated: bool


def _feed_rows(request: Request, session: Session) -> dict[str, list[_FeedRow]]:
    known: dict[int, str] = request.app.state.known_tokens
    base: str = request.app.state.base_url
    by_kommun: dict[str, list[_FeedRow]] = {}
    for info in list_feeds(session):
        token = known.get(info.id)
        url, webcal = feed_urls(base, token) if token else (None, None)
        row = _FeedRow(info.id, info.name, info.scope_sv, url, webcal, info.rotated_at is not None)
        by_kommun.setdefault(info.kommun, []).append(row)
    return by_kommun


@router.get("/kalendrar", response_class=HTMLResponse)
def feeds_page(request: Request) -> Response:
    with _session(request) as session:
        groups = _feed_rows(request, session)
    return _render(
        request,
        "feeds.html",
        {
            "title": "Kalendrar",
            "groups": groups,
            "allow_rotate": request.app.state.allow_rotate,
            "rotated_id": None,
        },
    )


def rotate_feed(request: Request, feed_id: int) -> Response:
    """POST ``/kalendrar/{id}/ny-adress``: a new token for one feed (demo only, until login)."""
    if not request.app.state.allow_rotate:
        raise HTTPException(status_code=403, detail="Nya adresser skapas med lofte feeds --rotate ID.")
    now = request.app.state.clock()
    with _session(request) as session:
        try:
            token = rotate(session, feed_id, now=now, secret=request.app.state.settings.secret_key)
        except UnknownFeedError:
            raise HTTPException(status_code=404) from None
        info = feed_info(session, feed_id)
        session.commit()
    request.app.state.known_tokens[feed_id] = token
    request.app.feeds.forget_feed(feed_id)
    with _session(request) as session:
        groups = _feed_rows(request, session)
    return _render(
        request,
        "feeds.html",
        {
            "title": "Kalendrar",
            "groups": groups,
            "allow_rotate": True,
            "rotated_id": feed_id,
            "rotated_name": info.name if info else "",
        },
    )


@router.get("/loften/{slug}", response_class=HTMLResponse)
def promise_page(request: Request, slug: str) -> Response:
    with _session(request) as session:
        promise = _promise(session, slug)
        units = {u.id: u for u in session.exec(select(Unit).where(Unit.promise_id == promise.id)).all()}
        activities = session.exec(
            select(Activity)
            .where(Activity.promise_id == promise.id, col(Activity.retired_at).is_(None))
            .order_by(col(Activity.id))
        ).all()
    rows = [
        {
            "key": a.key,
            "title": a.title,
            "sentence": a.sentence,
            "explanation": _explain(a.rule),
            "unit": units[a.unit_id].name if a.unit_id in units else "",
            "tracked": a.tracked,
        }
        for a in activities
    ]
    return _render(
        request,
        "promise.html",
        {
            "title": promise.title,
            "promise": promise,
            "valid": f"{date_sv(promise.valid_from)} – {date_sv(promise.valid_until)}",
            "activities": rows,
        },
    )


def _when(occurrence: Occurrence, zone: Any) -> str:
    day = occurrence.day
    text = f"{_WEEKDAYS_SV[day.weekday()]} {date_sv(day)}"
    if occurrence.starts_at is not None and occurrence.ends_at is not None:
        start = occurrence.starts_at.astimezone(zone)
        end = occurrence.ends_at.astimezone(zone)
        text += f" kl. {start:%H.%M}–{end:%H.%M}"
    return text


@router.get("/loften/{slug}/aktiviteter/{key}", response_class=HTMLResponse)
def activity_page(request: Request, slug: str, key: str) -> Response:
    today = _today(request)
    zone = request.app.state.zone
    with _session(request) as session:
        promise = _promise(session, slug)
        activity = session.exec(
            select(Activity).where(Activity.promise_id == promise.id, Activity.key == key)
        ).one_or_none()
        if activity is None:
            raise HTTPException(status_code=404)
        unit = session.get(Unit, activity.unit_id)
        occurrences = session.exec(
            select(Occurrence)
            .where(
                Occurrence.activity_id == activity.id,
                Occurrence.status != OccurrenceStatus.CANCELLED,
                Occurrence.day >= today,
            )
            .order_by(col(Occurrence.day), col(Occurrence.starts_at), col(Occurrence.id))
            .limit(UPCOMING)
        ).all()
        entity_ids = {o.entity_id for o in occurrences if o.entity_id is not None}
        entities = (
            {e.id: e.name for e in session.exec(select(Entity).where(col(Entity.id).in_(entity_ids))).all()}
            if entity_ids
            else {}
        )
    upcoming = [
        {
            "when": _when(o, zone),
            "entity": entities.get(o.entity_id, "") if o.entity_id is not None else "",
            "status": STATUS_SV[o.status],
            "deadline": o.is_deadline,
        }
        for o in occurrences
    ]
    return _render(
        request,
        "activity.html",
        {
            "title": activity.title,
            "promise": promise,
            "activity": activity,
            "unit": unit.name if unit else "",
            "explanation": _explain(activity.rule),
            "upcoming": upcoming,
            "today": date_sv(today),
        },
    )
