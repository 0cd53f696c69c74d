"""The JSON API under ``/api/v1``, for the dashboard's own scripts and for people's scripts.

Authentication, one of:

* an **API key**: ``Authorization: Bearer lofte_...``, made on ``/konto`` ("Skapa
  API-nyckel") and shown once. Nothing is stored; a key works while the account is
  active and its password unchanged (``scheduler.web.session``). No CSRF token.
* the **session cookie** of a logged-in browser, plus the session's CSRF token in the
  ``X-CSRF-Token`` header on every POST, PATCH and DELETE (a page has it in
  ``<meta name="csrf-token">``).

A user reaches only the promises of their kommuner; anything else answers 404, like
something that does not exist.

========================================  ==============================================================
``GET /api/v1/status``                    ``?promise=SLUG&unit=KEY&date=YYYY-MM-DD&all=1``: the same JSON
                                          as ``lofte status --json`` (``StatusReport.to_json``), the
                                          relevant quotas unless ``all=1``
``GET /api/v1/completions``               ``?promise=SLUG&activity=KEY``: completions, newest first
``POST /api/v1/completions``              ``{"promise", "activity", "entity", "done_on", "note"}`` → 201,
                                          or 200 with ``"created": false`` for a repeat (double submit)
``PATCH /api/v1/completions/{id}``        ``{"done_on"?, "note"?}``: a correction (a new row replaces it)
``DELETE /api/v1/completions/{id}``       undo; 200 with the undone row
========================================  ==============================================================

Errors are JSON ``{"fel": "<Swedish message>"}`` with a 4xx status (401 not logged
in, 403 CSRF, 404 unknown or not visible, 409 already undone, 422 bad input); an
unexpected error is a 500 with a generic Swedish message and the traceback only in the
log. The OpenAPI schema is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import datetime as dt
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler import completions
from scheduler.db import Activity, Completion, Entity, Promise
from scheduler.web.dashboard import RECORD_LOCK, evaluate_for, visible_promise, visible_promises
from scheduler.web.session import CurrentUser, api_key_user, check_csrf, current_user, db_session

__all__ = ["CompletionIn", "CompletionPatch", "create_api"]

log = logging.getLogger(__name__)

_MESSAGES = {
    401: "Inte inloggad: skicka en API-nyckel (Authorization: Bearer …) eller logga in.",
    404: "Finns inte.",
    405: "Metoden stöds inte här.",
}


class CompletionIn(BaseModel):
    """A completion to record."""

    model_config = ConfigDict(extra="forbid")

    promise: str = Field(max_length=100, description="the promise's slug")
    activity: str = Field(max_length=64, description="the activity's key")
    entity: str | None = Field(default=None, max_length=64, description="the entity's key, when counted per entity")
    done_on: dt.date = Field(description="the day it was done (YYYY-MM-DD), not in the future")
    note: str | None = Field(default=None, max_length=completions.NOTE_MAX_CHARS)


class CompletionPatch(BaseModel):
    """A correction: a new day and/or note."""

    model_config = ConfigDict(extra="forbid")

    done_on: dt.date | None = None
    note: str | None = Field(default=None, max_length=completions.NOTE_MAX_CHARS)


def _fel(status: int, message: str) -> JSONResponse:
    return JSONResponse({"fel": message}, status_code=status, headers={"Cache-Control": "no-store"})


def _user(request: Request, session: Session, *, writing: bool) -> CurrentUser:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        user = (
            api_key_user(request.app.state.settings.secret_key, session, key.strip())
            if scheme.lower() == "bearer"
            else None
        )
        if user is None:
            raise HTTPException(status_code=401, detail="API-nyckeln är ogiltig eller återkallad.")
        return user
    user = current_user(request, session)
    if user is None:
        raise HTTPException(status_code=401)
    if writing and not check_csrf(request, request.headers.get("x-csrf-token")):
        raise HTTPException(status_code=403, detail="CSRF-token saknas eller stämmer inte (X-CSRF-Token).")
    return user


def _completion_json(session: Session, completion: Completion) -> dict[str, Any]:
    activity = session.get(Activity, completion.activity_id)
    promise = session.get(Promise, activity.promise_id) if activity else None
    entity = session.get(Entity, completion.entity_id) if completion.entity_id is not None else None
    return {
        "id": completion.id,
        "promise": promise.slug if promise else None,
        "activity": activity.key if activity else None,
        "entity": entity.key if entity else None,
        "done_on": completion.done_on.isoformat(),
        "recorded_by": completion.recorded_by,
        "note": completion.note,
        "created_at": completion.created_at.isoformat(),
        "undone_at": completion.undone_at.isoformat() if completion.undone_at else None,
        "undone_by": completion.undone_by,
        "replaces_id": completion.replaces_id,
    }


def _visible_completion(session: Session, user: CurrentUser, completion_id: int) -> Completion:
    completion = session.get(Completion, completion_id)
    activity = session.get(Activity, completion.activity_id) if completion is not None else None
    promise = session.get(Promise, activity.promise_id) if activity is not None else None
    if completion is None or promise is None or not user.sees(promise.kommun):
        raise HTTPException(status_code=404, detail=f"Ingen registrering med nummer {completion_id}.")
    return completion


def _today(request: Request) -> dt.date:
    parent = request.app.state.parent
    now: dt.datetime = parent.state.clock()
    return now.astimezone(parent.state.zone).date()


def create_api(parent: FastAPI) -> FastAPI:
    """The API as its own FastAPI app (own JSON error handlers), sharing ``parent``'s state."""
    api = FastAPI(title="Löfte API", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api.state.parent = parent
    # Handlers read request.app.state.{engine,settings,clock}: point them at the parent's.
    for name in ("engine", "settings", "clock", "zone"):
        setattr(api.state, name, getattr(parent.state, name))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        default = _MESSAGES.get(exc.status_code, "Förfrågan kunde inte utföras.")
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else ""
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail and exc.detail != phrase else default
        response = _fel(exc.status_code, detail)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="lofte"'
        return response

    @api.exception_handler(RequestValidationError)
    async def bad_input(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:10]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{where or 'innehållet'}: {_problem_sv(error)}")
        return _fel(422, "Felaktiga uppgifter: " + "; ".join(problems))

    @api.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> Response:
        log.warning("API request failed on the database: %s", exc.orig)
        response = _fel(503, "Databasen är upptagen eller svarar inte just nu. Försök igen om en stund.")
        response.headers["Retry-After"] = "2"
        return response

    @api.exception_handler(Exception)
    async def server_error(_request: Request, exc: Exception) -> Response:
        log.exception("API request failed", exc_info=exc)
        return _fel(500, "Internt fel: förfrågan kunde inte utföras. Felet är loggat.")

    @api.get("/status")
    def status(
        request: Request, promise: str | None = None, unit: str | None = None, date: dt.date | None = None,
        all: bool = False,
    ) -> JSONResponse:  # fmt: skip
        today = date or _today(request)
        with db_session(request) as session:
            user = _user(request, session, writing=False)
            chosen = [visible_promise(session, user, promise)] if promise else visible_promises(session, user)
            report = evaluate_for(session, chosen, today=today, every=user.kommuner is None and not promise)
        items = report.items if all else report.relevant()
        if unit:
            items = tuple(i for i in items if unit.casefold() in (i.unit.casefold(), i.unit_name.casefold()))
        return JSONResponse(report.to_json(items=items), headers={"Cache-Control": "no-store"})

    @api.get("/completions")
    def list_completions(request: Request, promise: str, activity: str | None = None) -> JSONResponse:
        with db_session(request) as session:
            user = _user(request, session, writing=False)
            row = visible_promise(session, user, promise)
            query = (
                select(Completion)
                .join(Activity, col(Activity.id) == col(Completion.activity_id))
                .where(Activity.promise_id == row.id)
                .order_by(col(Completion.done_on).desc(), col(Completion.id).desc())
                .limit(1000)
            )
            if activity:
                query = query.where(Activity.key == activity)
            rows = [_completion_json(session, c) for c in session.exec(query)]
        return JSONResponse({"completions": rows}, headers={"Cache-Control": "no-store"})

    @api.post("/completions")
    def create(request: Request, body: CompletionIn) -> JSONResponse:
        now = parent.state.clock()
        with db_session(request) as session:
            user = _user(request, session, writing=True)
            visible_promise(session, user, body.promise)
            with RECORD_LOCK:
                try:
                    result = completions.record(
                        session, promise_slug=body.promise, activity_key=body.activity, entity_key=body.entity,
                        done_on=body.done_on, by=user.label, note=body.note, now=now,
                    )  # fmt: skip
                    session.commit()
                except completions.CompletionLookupError as exc:
                    return _fel(404, _sentence(exc.message_sv))
                except completions.CompletionError as exc:
                    return _fel(422, _sentence(exc.message_sv))
            out = {"created": result.created, "completion": _completion_json(session, result.completion)}
        return JSONResponse(out, status_code=201 if result.created else 200)

    @api.patch("/completions/{completion_id}")
    def correct(request: Request, completion_id: int, body: CompletionPatch) -> JSONResponse:
        now = parent.state.clock()
        with db_session(request) as session:
            user = _user(request, session, writing=True)
            _visible_completion(session, user, completion_id)
            if body.done_on is None and body.note is None:
                return _fel(422, "Ange done_on och/eller note att rätta.")
            with RECORD_LOCK:
                try:
                    row = completions.correct(
                        session, completion_id=completion_id, by=user.label, now=now, done_on=body.done_on,
                        note=body.note,
                    )  # fmt: skip
                    session.commit()
                except completions.CompletionLookupError as exc:
                    return _fel(404, _sentence(exc.message_sv))
                except completions.CompletionError as exc:
                    return _fel(409 if exc.field == "completion" else 422, _sentence(exc.message_sv))
            out = {"completion": _completion_json(session, row)}
        return JSONResponse(out)

    @api.delete("/completions/{completion_id}")
    def undo(request: Request, completion_id: int) -> JSONResponse:
        now = parent.state.clock()
        with db_session(request) as session:
            user = _user(request, session, writing=True)
            _visible_completion(session, user, completion_id)
            with RECORD_LOCK:
                try:
                    row = completions.undo(session, completion_id=completion_id, by=user.label, now=now)
                    session.commit()
                except completions.CompletionLookupError as exc:
                    return _fel(404, _sentence(exc.message_sv))
                except completions.CompletionError as exc:
                    return _fel(409, _sentence(exc.message_sv))
            out = {"completion": _completion_json(session, row)}
        return JSONResponse(out)

    return api


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


_TYPE_SV = {
    "missing": "saknas",
    "extra_forbidden": "okänt fält",
    "date_from_datetime_parsing": "inte ett datum (ÅÅÅÅ-MM-DD)",
    "date_parsing": "inte ett datum (ÅÅÅÅ-MM-DD)",
    "date_from_datetime_inexact": "inte ett datum (ÅÅÅÅ-MM-DD)",
    "date_type": "inte ett datum (ÅÅÅÅ-MM-DD)",
    "string_type": "ska vara text",
    "string_too_long": "för lång",
    "int_parsing": "ska vara ett heltal",
    "bool_parsing": "ska vara sant eller falskt",
    "json_invalid": "ogiltig JSON",
    "model_attributes_type": "ska vara ett JSON-objekt",
    "dict_type": "ska vara ett JSON-objekt",
}


def _problem_sv(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"för lång (högst {limit} tecken)" if limit else "för lång"
    return _TYPE_SV.get(kind, "ogiltigt värde")
