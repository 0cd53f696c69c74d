"""The coordinator's pages: the overview, each activity's history and forms, one-click links,
the account page and the citizens' page.

===========================================================  ===============================================
``GET /``                                                     to ``/oversikt`` when logged in, else the start page
``GET /oversikt?enhet=&lofte=&period=``                       warnings first, progress per period, untracked
``GET /oversikt/loften/{slug}/aktiviteter/{key}``             quotas, history with the audit trail, forms
``POST /oversikt/loften/{slug}/aktiviteter/{key}/registrera`` record a completion
``POST /oversikt/registreringar/{id}/ratta``                  correct one (new date and/or note)
``POST /oversikt/registreringar/{id}/angra``                  undo one
``GET /konto``, ``POST /konto/api-nyckel``                    the account; a new API key, shown once
``GET|POST /klart/{token}``                                   a signed email link: confirm (GET), record (POST)
``GET /offentlig/{slug}``                                     a public promise's progress, for citizens
===========================================================  ===============================================

Visibility: every query goes through ``visible_promise``/``visible_promises``, which
filter by the user's kommuner (``scheduler.auth.visible_kommuner``). Another kommun's
promise, activity or completion answers 404, exactly as one that does not exist.

Recording goes through ``scheduler.completions`` (validation, Swedish errors, the
double-submit guard); quota states come from ``scheduler.status.evaluate_promises``.
Recording runs under one process-wide lock, so two submits of the same form on
SQLite cannot both pass the double-submit check (PostgreSQL also locks the activity
row). Every form also carries a one-time ``formular`` nonce: a repeat within
``NONCE_TTL`` in this process is answered with the first result instead of storing
again; beyond that, ``completions.record``'s own window in the database catches an
identical repeat.

One-click links (``scheduler.signing``): GET only shows a confirmation (mail scanners
follow links); POST verifies the token again and records as "<recipient> (via
länk)". A link records once: a completion of the same activity × entity recorded via
a link to the same recipient after the link was issued makes a second POST answer
"redan markerad" and store nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from rules.explain_sv import date_sv
from rules.quota import QuotaState, Untracked
from scheduler import completions
from scheduler.db import Activity, AuditEvent, Completion, Entity, Promise, Unit
from scheduler.signing import LinkClaims, LinkError, LinkExpired, verify
from scheduler.status import QuotaItem, StatusReport, UntrackedItem, evaluate_promises
from scheduler.web import pages
from scheduler.web.session import (
    CurrentUser,
    FormError,
    check_csrf,
    current_user,
    db_session,
    flash,
    issue_api_key,
    read_form,
    render,
    require_user,
)

__all__ = [
    "LINK_RECORDER_SUFFIX",
    "NONCE_TTL",
    "RECORD_LOCK",
    "STATE_CLASS",
    "Overview",
    "local_today",
    "overview",
    "router",
    "visible_promise",
    "visible_promises",
]

router = APIRouter()

#: Serialises recording in this process (module docstring).
RECORD_LOCK = threading.Lock()
#: How long a form's nonce is remembered in this process (seconds).
NONCE_TTL = 3600
#: ``recorded_by`` of a completion made through a one-click link: "<recipient> (via länk)".
LINK_RECORDER_SUFFIX = " (via länk)"
#: CSS class per state (the page colours them; the text always says the state too).
STATE_CLASS = {
    QuotaState.AT_RISK: "fara",
    QuotaState.MISSED: "missad",
    QuotaState.BEHIND: "efter",
    QuotaState.ON_TRACK: "ifas",
    QuotaState.UPCOMING: "kommande",
    QuotaState.FULFILLED: "uppfylld",
}
_ACTION_SV = {
    "completion.create": "registrerade",
    "completion.undo": "ångrade",
    "completion.correct": "rättade",
}


# -- visibility and shared queries --------------------------------------------------------------------
def local_today(request: Request) -> dt.date:
    now: dt.datetime = request.app.state.clock()
    return now.astimezone(request.app.state.zone).date()


def visible_promises(session: Session, user: CurrentUser) -> list[Promise]:
    """The promises of the user's kommuner, by kommun and start."""
    query = select(Promise).order_by(col(Promise.kommun), col(Promise.valid_from), col(Promise.slug))
    if user.kommuner is not None:
        if not user.kommuner:
            return []
        query = query.where(col(Promise.kommun).in_(sorted(user.kommuner)))
    return list(session.exec(query))


def visible_promise(session: Session, user: CurrentUser | None, slug: str) -> Promise:
    """The promise ``slug`` if the user may see it; 404 otherwise (also when it does not exist)."""
    promise = session.exec(select(Promise).where(Promise.slug == slug)).one_or_none()
    if promise is None or user is None or not user.sees(promise.kommun):
        raise HTTPException(status_code=404)
    return promise


def _activity(session: Session, promise: Promise, key: str) -> Activity:
    activity = session.exec(
        select(Activity).where(Activity.promise_id == promise.id, Activity.key == key)
    ).one_or_none()
    if activity is None:
        raise HTTPException(status_code=404)
    return activity


def evaluate_for(session: Session, promises: Iterable[Promise], *, today: dt.date, every: bool) -> StatusReport:
    """One ``StatusReport`` over ``promises``: one evaluation each, or all at once for ``every``."""
    chosen = list(promises)
    if every:
        return evaluate_promises(session, today=today)
    items: list[QuotaItem] = []
    untracked: list[UntrackedItem] = []
    notes: list[str] = []
    for promise in chosen:
        report = evaluate_promises(session, today=today, promise=promise.slug)
        items.extend(report.items)
        untracked.extend(report.untracked)
        notes.extend(report.notes)
    items.sort(key=lambda i: (*i.status.sort_key()[:2], i.promise, *i.status.sort_key()[2:]))
    return StatusReport(today=today, items=tuple(items), untracked=tuple(untracked), notes=tuple(notes))


# -- the overview ------------------------------------------------------------------------------------
@dataclass(slots=True)
class PeriodGroup:
    """Progress of one period label across the quotas shown."""

    label: str
    start: dt.date
    done: int = 0
    required: int = 0
    warnings: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 if not self.required else min(100, round(100 * self.done / self.required))


@dataclass(slots=True)
class Overview:
    """What ``/oversikt`` shows (also what the benchmark renders)."""

    today: dt.date
    warnings: list[dict[str, Any]]
    periods: list[PeriodGroup]
    untracked: list[dict[str, Any]]
    notes: list[str]
    promises: list[tuple[str, str]]
    units: list[tuple[str, str]]
    period_options: list[tuple[str, str]]
    chosen: dict[str, str]


def _row(item: QuotaItem) -> dict[str, Any]:
    status = item.status
    return {
        "summary": item.summary,
        "state": status.state.value,
        "css": STATE_CLASS[status.state],
        "activity": item.activity_title,
        "entity": item.entity_name or "",
        "unit": item.unit_name,
        "done": status.done,
        "required": status.required,
        "period": status.span.label,
        "reasons": list(status.reasons),
        "href": f"/oversikt/loften/{item.promise}/aktiviteter/{status.activity}",
        "promise": item.promise_title,
        "last_feasible": date_sv(status.last_feasible_day) if status.last_feasible_day else None,
    }


def overview(
    session: Session, user: CurrentUser, *, today: dt.date, unit: str = "", promise: str = "", period: str = ""
) -> Overview:
    """The overview's content for ``user`` as of ``today``, filtered (empty filter: all)."""
    promises = visible_promises(session, user)
    chosen = [p for p in promises if not promise or p.slug == promise]
    report = evaluate_for(session, chosen, today=today, every=user.kommuner is None and not promise)
    every_item = report.items
    units = sorted({(i.unit, i.unit_name) for i in every_item}, key=lambda u: u[1])
    started = {i.status.span.key: (i.status.span.label, i.status.span.start) for i in every_item
               if i.status.span.start <= today}  # fmt: skip
    period_options = [(k, v[0]) for k, v in sorted(started.items(), key=lambda kv: kv[1][1], reverse=True)]
    shown: Iterable[QuotaItem] = [i for i in every_item if i.status.span.key == period] if period else report.relevant()
    shown = [i for i in shown if not unit or i.unit == unit]
    warnings = [_row(i) for i in shown if i.status.is_warning]
    groups: dict[str, PeriodGroup] = {}
    for item in sorted(shown, key=lambda i: (i.status.span.start, i.promise, i.activity_title)):
        span = item.status.span
        group = groups.setdefault(span.label, PeriodGroup(label=span.label, start=span.start))
        group.done += min(item.status.done, item.status.required)
        group.required += item.status.required
        group.warnings += item.status.is_warning
        group.rows.append(_row(item))
    untracked = [
        {"activity": u.activity_title, "unit": u.unit_name, "reason": u.untracked.message_sv}
        for u in report.untracked
        if not unit or u.unit == unit
    ]
    return Overview(
        today=today,
        warnings=warnings,
        periods=sorted(groups.values(), key=lambda g: g.start),
        untracked=untracked,
        notes=list(report.notes),
        promises=[(p.slug, f"{p.title} ({p.kommun})") for p in promises],
        units=units,
        period_options=period_options,
        chosen={"enhet": unit, "lofte": promise, "period": period},
    )


@router.get("/", response_class=HTMLResponse)
def start(request: Request) -> Response:
    if request.session.get("uid"):
        with db_session(request) as session:
            if current_user(request, session) is not None:
                return RedirectResponse("/oversikt", status_code=303)
    return pages.start(request)


@router.get("/oversikt", response_class=HTMLResponse)
def overview_page(request: Request, enhet: str = "", lofte: str = "", period: str = "") -> Response:
    today = local_today(request)
    with db_session(request) as session:
        user = require_user(request, session)
        if lofte:
            visible_promise(session, user, lofte[:100])
        data = overview(session, user, today=today, unit=enhet[:64], promise=lofte[:100], period=period[:64])
    return render(request, "dashboard.html", {"title": "Översikt", "o": data, "today": date_sv(today)})


# -- one activity: quotas, history, forms ------------------------------------------------------------
def _history(session: Session, activity: Activity) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = list(
        session.exec(
            select(Completion)
            .where(Completion.activity_id == activity.id)
            .order_by(col(Completion.done_on).desc(), col(Completion.id).desc())
        )
    )
    names = {e.id: e.name for e in session.exec(select(Entity).where(Entity.promise_id == activity.promise_id))}
    replaced_by = {c.replaces_id: c.id for c in rows if c.replaces_id is not None}
    history = []
    for c in rows:
        assert c.id is not None  # noqa: S101 - a row read from the database has its id
        history.append(
            {
                "id": c.id,
                "done_on": date_sv(c.done_on),
                "done_on_iso": c.done_on.isoformat(),
                "entity": names.get(c.entity_id, "") if c.entity_id is not None else "",
                "by": c.recorded_by,
                "at": c.created_at,
                "note": c.note or "",
                "current": c.undone_at is None,
                "undone_by": c.undone_by,
                "undone_at": c.undone_at,
                "replaced_by": replaced_by.get(c.id),
                "replaces": c.replaces_id,
            }
        )
    ids = [c.id for c in rows]
    events = (
        list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.object_type == "completion", col(AuditEvent.object_id).in_(ids))
                .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            )
        )
        if ids
        else []
    )
    trail = [
        {"at": e.at, "actor": e.actor, "action": _ACTION_SV.get(e.action, e.action), "id": e.object_id,
         "details": _details_sv(e.details)}
        for e in events
    ]  # fmt: skip
    return history, trail


def _details_sv(details: dict[str, Any]) -> str:
    parts = []
    done_on = details.get("done_on")
    if isinstance(done_on, list) and len(done_on) == 2 and done_on[0] != done_on[1]:
        parts.append(f"datum {done_on[0]} → {done_on[1]}")
    elif isinstance(done_on, str):
        parts.append(f"datum {done_on}")
    note = details.get("note")
    if isinstance(note, list) and len(note) == 2 and note[0] != note[1]:
        parts.append("anteckningen ändrad")
    if details.get("replaces_id"):
        parts.append(f"ersätter nr {details['replaces_id']}")
    return ", ".join(parts)


def _activity_context(request: Request, session: Session, user: CurrentUser, slug: str, key: str) -> dict[str, Any]:
    today = local_today(request)
    promise = visible_promise(session, user, slug)
    activity = _activity(session, promise, key)
    unit = session.get(Unit, activity.unit_id)
    entities = (
        list(
            session.exec(
                select(Entity)
                .where(Entity.promise_id == promise.id, Entity.kind == activity.entity_kind,
                       col(Entity.retired_at).is_(None))
                .order_by(col(Entity.name))
            )
        )
        if activity.entity_kind
        else []
    )  # fmt: skip
    quotas: list[dict[str, Any]] = []
    if activity.retired_at is None:
        report = evaluate_promises(session, today=today, promise=promise.slug)
        mine = [i for i in report.items if i.status.activity == activity.key]
        mine.sort(key=lambda i: (i.status.span.start, i.entity_name or ""))
        quotas = [_row(i) | {"running": i.status.running} for i in mine if i.status.span.start <= today]
        quotas.reverse()
    history, trail = _history(session, activity)
    return {
        "title": activity.title,
        "promise": promise,
        "activity": activity,
        "unit": unit.name if unit else "",
        "entities": [(e.key, e.name) for e in entities],
        "quotas": quotas,
        "history": history,
        "trail": trail,
        "today_iso": today.isoformat(),
        "today": date_sv(today),
        "nonce": secrets.token_urlsafe(16),
        "error": None,
        "form": {"datum": today.isoformat(), "verksamhet": "", "anteckning": ""},
        "untracked": not activity.tracked,
    }


def _activity_path(slug: str, key: str) -> str:
    return f"/oversikt/loften/{slug}/aktiviteter/{key}"


@router.get("/oversikt/loften/{slug}/aktiviteter/{key}", response_class=HTMLResponse)
def activity_page(request: Request, slug: str, key: str) -> Response:
    with db_session(request) as session:
        user = require_user(request, session)
        context = _activity_context(request, session, user, slug, key)
    return render(request, "dashboard_activity.html", context)


class _Nonces:
    """Form nonces seen in this process → the path to show again (bounded, expiring)."""

    def __init__(self, ttl: float = NONCE_TTL, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, nonce: str) -> str | None:
        found = self._seen.get(nonce)
        if found is None or found[0] < time.monotonic() - self.ttl:
            return None
        return found[1]

    def put(self, nonce: str, value: str) -> None:
        self._seen[nonce] = (time.monotonic(), value)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


_NONCES = _Nonces()


def parse_day(text: str, *, field_sv: str = "datumet") -> dt.date:
    """A date written ÅÅÅÅ-MM-DD; ``CompletionError`` with a Swedish message otherwise."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise completions.CompletionError(
            "done_on", f"{field_sv} '{text[:40]}' är inte ett datum; skriv det som ÅÅÅÅ-MM-DD"
        ) from None


async def _form_or_error(request: Request) -> dict[str, str]:
    try:
        form = await read_form(request)
    except FormError as exc:
        raise HTTPException(status_code=400, detail=exc.message_sv) from None
    if not check_csrf(request, form.get("csrf")):
        raise HTTPException(
            status_code=403, detail="Formuläret har gått ut eller kom inte från Löfte. Ladda om sidan och försök igen."
        )
    return form


@router.post("/oversikt/loften/{slug}/aktiviteter/{key}/registrera", response_class=HTMLResponse)
async def record_page(request: Request, slug: str, key: str) -> Response:
    form = await _form_or_error(request)
    nonce = form.get("formular", "")[:64]
    path = _activity_path(slug, key)
    now = request.app.state.clock()

    def work() -> Response:
        with db_session(request) as session:
            user = require_user(request, session)
            promise = visible_promise(session, user, slug)
            _activity(session, promise, key)
            with RECORD_LOCK:
                if nonce and (seen := _NONCES.get(f"{user.id}:{nonce}")) is not None:
                    flash(request, "Registreringen var redan sparad (formuläret skickades två gånger).")
                    return RedirectResponse(seen, status_code=303)
                try:
                    result = completions.record(
                        session,
                        promise_slug=slug,
                        activity_key=key,
                        entity_key=form.get("verksamhet") or None,
                        done_on=parse_day(form.get("datum", "")),
                        by=user.label,
                        note=form.get("anteckning"),
                        now=now,
                    )
                    session.commit()
                except (completions.CompletionError, completions.CompletionLookupError) as exc:
                    session.rollback()
                    context = _activity_context(request, session, user, slug, key)
                    context["error"] = exc.message_sv
                    context["form"] = {k: form.get(k, "") for k in ("datum", "verksamhet", "anteckning")}
                    return render(request, "dashboard_activity.html", context, status=400)
                if nonce:
                    _NONCES.put(f"{user.id}:{nonce}", path)
            done = date_sv(result.completion.done_on)
            flash(
                request,
                f"Registrerat: genomförd {done}." if result.created else f"Redan registrerad: genomförd {done}.",
            )
            return RedirectResponse(path, status_code=303)

    return await run_in_threadpool(work)


def _visible_completion(
    session: Session, user: CurrentUser, completion_id: int
) -> tuple[Completion, Promise, Activity]:
    completion = session.get(Completion, completion_id)
    activity = session.get(Activity, completion.activity_id) if completion is not None else None
    promise = session.get(Promise, activity.promise_id) if activity is not None else None
    if completion is None or activity is None or promise is None or not user.sees(promise.kommun):
        raise HTTPException(status_code=404)
    return completion, promise, activity


@router.post("/oversikt/registreringar/{completion_id}/{action}", response_class=HTMLResponse)
async def change_page(request: Request, completion_id: int, action: str) -> Response:
    if action not in ("ratta", "angra"):
        raise HTTPException(status_code=404)
    form = await _form_or_error(request)
    now = request.app.state.clock()

    def work() -> Response:
        with db_session(request) as session:
            user = require_user(request, session)
            _completion, promise, activity = _visible_completion(session, user, completion_id)
            path = _activity_path(promise.slug, activity.key)
            with RECORD_LOCK:
                try:
                    if action == "angra":
                        completions.undo(session, completion_id=completion_id, by=user.label, now=now)
                        message = f"Registrering nr {completion_id} är ångrad."
                    else:
                        day = parse_day(form["datum"]) if form.get("datum") else None
                        note = form.get("anteckning")
                        corrected = completions.correct(
                            session, completion_id=completion_id, by=user.label, now=now, done_on=day,
                            note=note if note is not None else None,
                        )  # fmt: skip
                        message = f"Registrering nr {completion_id} är rättad (ny nr {corrected.id})."
                    session.commit()
                except (completions.CompletionError, completions.CompletionLookupError) as exc:
                    session.rollback()
                    context = _activity_context(request, session, user, promise.slug, activity.key)
                    context["error"] = exc.message_sv
                    return render(request, "dashboard_activity.html", context, status=400)
            flash(request, message)
            return RedirectResponse(path, status_code=303)

    return await run_in_threadpool(work)


# -- the account and API keys ---------------------------------------------------------------------------
@router.get("/konto", response_class=HTMLResponse)
def account_page(request: Request) -> Response:
    with db_session(request) as session:
        user = require_user(request, session)
        promises = visible_promises(session, user)
    kommuner = "alla kommuner" if user.kommuner is None else ", ".join(sorted(user.kommuner)) or "inga kommuner ännu"
    return render(
        request,
        "account.html",
        {"title": "Konto", "user": user, "kommuner": kommuner, "promises": promises, "api_key": None},
    )


@router.post("/konto/api-nyckel", response_class=HTMLResponse)
async def new_api_key(request: Request) -> Response:
    await _form_or_error(request)

    def work() -> Response:
        from scheduler.db import User  # noqa: PLC0415 - only here

        with db_session(request) as session:
            user = require_user(request, session)
            row = session.get(User, user.id)
            assert row is not None  # noqa: S101 - require_user loaded it
            key = issue_api_key(request.app.state.settings.secret_key, row)
            promises = visible_promises(session, user)
        kommuner = "alla kommuner" if user.kommuner is None else ", ".join(sorted(user.kommuner))
        return render(
            request,
            "account.html",
            {"title": "Konto", "user": user, "kommuner": kommuner, "promises": promises, "api_key": key},
        )

    return await run_in_threadpool(work)


# -- one-click links --------------------------------------------------------------------------------------
@dataclass(slots=True)
class _LinkTarget:
    claims: LinkClaims
    promise: Promise
    activity: Activity
    entity: Entity | None
    item: QuotaItem | None
    done: Completion | None


def _link_target(request: Request, session: Session, token: str, *, lock: bool = False) -> _LinkTarget | Response:
    now = request.app.state.clock()
    try:
        claims = verify(request.app.state.settings.secret_key, token, now=now)
    except LinkError as exc:
        status = 410 if isinstance(exc, LinkExpired) else 400
        return render(request, "link_error.html", {"title": "Länken fungerar inte", "message": exc.message}, status)
    promise = session.exec(select(Promise).where(Promise.slug == claims.promise)).one_or_none()
    query = select(Activity).where(Activity.key == claims.activity, col(Activity.retired_at).is_(None))
    activity = session.exec(query.where(Activity.promise_id == promise.id)).one_or_none() if promise else None
    if lock and activity is not None and session.get_bind().dialect.name == "postgresql":
        session.exec(select(Activity).where(Activity.id == activity.id).with_for_update()).one()
    if promise is None or activity is None:
        return render(
            request,
            "link_error.html",
            {"title": "Länken fungerar inte",
             "message": "Aktiviteten som länken gäller finns inte längre i löftet. Öppna Löfte och markera där."},
            404,
        )  # fmt: skip
    entity = None
    if claims.entity:
        entity = session.exec(
            select(Entity).where(Entity.promise_id == promise.id, Entity.key == claims.entity)
        ).one_or_none()
    today = now.astimezone(request.app.state.zone).date()
    report = evaluate_promises(session, today=today, promise=promise.slug)
    item = next(
        (i for i in report.items if i.status.activity == activity.key and (i.status.entity or None) == claims.entity
         and i.status.span.key.casefold() == claims.period_key.casefold()),
        None,
    )  # fmt: skip
    done = session.exec(
        select(Completion).where(
            Completion.activity_id == activity.id,
            (Completion.entity_id == entity.id) if entity is not None else col(Completion.entity_id).is_(None),
            Completion.recorded_by == claims.recipient + LINK_RECORDER_SUFFIX,
            col(Completion.created_at) >= claims.issued_at,
            col(Completion.undone_at).is_(None),
        )
    ).first()
    return _LinkTarget(claims, promise, activity, entity, item, done)


def _link_context(target: _LinkTarget, today: dt.date) -> dict[str, Any]:
    item = target.item
    default = today
    if item is not None and item.status.span.end < today:
        default = item.status.span.end
    return {
        "title": "Markera som genomförd",
        "activity": target.activity.title,
        "entity": target.entity.name if target.entity else None,
        "period": item.status.span.label if item else target.claims.period_key,
        "summary": item.summary if item else None,
        "recipient": target.claims.recipient,
        "done": {"done_on": date_sv(target.done.done_on), "by": target.done.recorded_by} if target.done else None,
        "datum": default.isoformat(),
        "max": today.isoformat(),
        "min": item.status.span.start.isoformat() if item else "",
        "error": None,
        "recorded": False,
    }


@router.get("/klart/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str) -> Response:
    with db_session(request) as session:
        target = _link_target(request, session, token[:2000])
    if isinstance(target, Response):
        return target
    response = render(request, "link_confirm.html", _link_context(target, local_today(request)))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/klart/{token}", response_class=HTMLResponse)
async def link_record(request: Request, token: str) -> Response:
    try:
        form = await read_form(request)
    except FormError as exc:
        raise HTTPException(status_code=400, detail=exc.message_sv) from None
    now = request.app.state.clock()
    today = local_today(request)

    def work() -> Response:
        with db_session(request) as session, RECORD_LOCK:
            target = _link_target(request, session, token[:2000], lock=True)
            if isinstance(target, Response):
                return target
            context = _link_context(target, today)
            if target.done is not None:
                return render(request, "link_confirm.html", context)
            try:
                day = parse_day(form.get("datum", ""))
                span = target.item.status.span if target.item is not None else None
                if span is not None and not span.start <= day <= span.end:
                    raise completions.CompletionError(
                        "done_on",
                        f"datumet {day.isoformat()} ligger utanför perioden {span.label} "
                        f"({span.start.isoformat()} – {span.end.isoformat()})",
                    )
                result = completions.record(
                    session,
                    promise_slug=target.promise.slug,
                    activity_key=target.activity.key,
                    entity_key=target.claims.entity,
                    done_on=day,
                    by=target.claims.recipient + LINK_RECORDER_SUFFIX,
                    note=form.get("anteckning"),
                    now=now,
                )
                session.commit()
            except (completions.CompletionError, completions.CompletionLookupError) as exc:
                session.rollback()
                context["error"] = exc.message_sv
                context["datum"] = form.get("datum", "")[:40]
                return render(request, "link_confirm.html", context, status=400)
            context["recorded"] = True
            context["done"] = {"done_on": date_sv(result.completion.done_on), "by": result.completion.recorded_by}
            return render(request, "link_confirm.html", context)

    return await run_in_threadpool(work)


# -- the citizens' page -------------------------------------------------------------------------------------
@router.get("/offentlig/{slug}", response_class=HTMLResponse)
def public_page(request: Request, slug: str) -> Response:
    today = local_today(request)
    with db_session(request) as session:
        promise = session.exec(select(Promise).where(Promise.slug == slug[:100])).one_or_none()
        if promise is None or not promise.public:
            raise HTTPException(status_code=404)
        report = evaluate_promises(session, today=today, promise=promise.slug)
        order = {a.key: i for i, a in enumerate(session.exec(
            select(Activity).where(Activity.promise_id == promise.id).order_by(col(Activity.id))))}  # fmt: skip
    by_activity: dict[str, dict[str, Any]] = {}
    sums: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"done": 0, "required": 0, "entities": 0})
    for item in report.items:
        status = item.status
        if status.span.start > today:
            continue
        entry = by_activity.setdefault(
            status.activity, {"title": item.activity_title, "periods": {}, "order": order.get(status.activity, 0)}
        )
        total = sums[(status.activity, status.span.key)]
        total["done"] += min(status.done, status.required)
        total["required"] += status.required
        total["entities"] += 1
        total["label"], total["start"], total["over"] = status.span.label, status.span.start, status.span.end < today
        entry["periods"][status.span.key] = total
    activities = []
    for key, entry in sorted(by_activity.items(), key=lambda kv: kv[1]["order"]):
        periods = sorted(entry["periods"].values(), key=lambda p: p["start"], reverse=True)
        activities.append({"key": key, "title": entry["title"], "periods": periods})
    untracked = [u.activity_title for u in report.untracked]
    return render(
        request,
        "public.html",
        {
            "title": promise.title,
            "promise": promise,
            "valid": f"{date_sv(promise.valid_from)} – {date_sv(promise.valid_until)}",
            "activities": activities,
            "untracked": untracked,
            "marker": Untracked.MARKER_SV,
            "today": date_sv(today),
        },
    )
