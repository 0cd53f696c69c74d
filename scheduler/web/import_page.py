"""``/importera``: a signed medborgarlöfte becomes a promise in the browser (issue 7, part 2).

=========================  ====================================================================
``GET /importera``          the form: upload a document (.txt, .md, .docx, .pdf) or paste text
``POST /importera``         reads it (``scheduler.importer.import_document``) and shows the draft
``POST /importera/spara``   validates the corrected draft and stores it as a promise
=========================  ====================================================================

Only a logged-in coordinator gets here (``session.require_user``); every POST carries the
session's CSRF token. The draft page shows the document's text with every activity in a
``<mark id="kalla-KEY">``, the activities (linking to their marks) with what Löfte
understood (``rules.explain_sv``) and who is responsible, the review list, and a form
with the fields a coordinator corrects (title, kommun, validity, each unit's name and
email, entity names, each activity's unit and tracked flag) above the draft YAML in a
textarea for anything else.

Saving
------
1. A field whose value differs from the value it was shown with (``orig.NAME``) is
   written into the YAML text as a textual edit of that one value
   (``apply_edits``): comments, order and the rest of the user's YAML stay as typed.
   A field left alone never overrides an edit made in the textarea.
2. The text is validated with ``promise_file.parse_promise_file``; its errors are
   shown with line and field next to the textarea, and the page keeps every edit.
   A ``school_calendar`` given as a file path is refused (the web must not read the
   server's files); an inline calendar is fine.
3. The user must be granted the promise's kommun; a slug used by another promise (or
   an existing file) needs "Ersätt"; a slug of a kommun the user cannot see is refused.
4. The YAML goes to ``DATA_DIR/promises/<slug>.yaml`` and into the database with
   ``loader.load_spec`` (the code ``lofte load`` runs) in one transaction: the file is
   written to a temporary file first and moved into place just before the commit; if
   the commit fails the previous file is put back. ``lofte load`` of that file later
   is a no-op (same bytes, same content hash).

Size: a request larger than ``MAX_UPLOAD_BYTES`` (the importer's own limit plus room
for the form) is refused by its ``Content-Length`` before anything is read, and a
body without one stops being read as soon as it passes the limit (413 either way).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from rules import explain_sv
from scheduler.db import Promise, session_scope
from scheduler.doc_text import MAX_DOCUMENT_BYTES, DocumentError
from scheduler.import_kommuner import KOMMUNER
from scheduler.importer import ImportResult, import_document, import_text
from scheduler.loader import load_spec
from scheduler.promise_file import PromiseFileError, PromiseFileInvalid, PromiseSpec, parse_promise_file
from scheduler.web.session import CurrentUser, LoginRequired, check_csrf, flash, render, require_user
from scheduler.yaml_lines import YamlSyntaxError, load_with_lines

__all__ = [
    "MAX_SAVE_BYTES",
    "MAX_UPLOAD_BYTES",
    "PASTED_NAME",
    "EditError",
    "apply_edits",
    "promises_dir",
    "router",
    "source_segments",
]

router = APIRouter()

#: The largest upload request: the importer's document limit plus room for the form's other fields.
MAX_UPLOAD_BYTES = MAX_DOCUMENT_BYTES + 256 * 1024
#: The largest save request (the draft YAML, the fields and the document's text).
MAX_SAVE_BYTES = 8 * 1024 * 1024
#: The name pasted text goes by in messages.
PASTED_NAME = "inklistrad text"
_MAX_FIELDS = 3000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,98}$")
#: Saves run one at a time in this process: the slug check, the file and the transaction.
_SAVE_LOCK = threading.Lock()


def promises_dir(request: Request) -> Path:
    """Where saved promise files go: ``DATA_DIR/promises``."""
    return Path(request.app.state.settings.data_dir) / "promises"


# -- reading a form with a size limit -------------------------------------------------------------------
class _FormProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


class _TooLarge(Exception):
    pass


def _too_large(size: int | None) -> _FormProblem:
    """413 with the importer's wording; ``size`` is the declared length, None when reading stopped."""
    shown = f"{size / (1024 * 1024):.0f} MB" if size is not None else f"mer än {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"
    return _FormProblem(
        413,
        f"Filen är för stor ({shown}; högst {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB): "
        "dela upp dokumentet eller spara det som ren text. Inget lästes in och inget sparades.",
    )


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        yield chunk


async def _read_form(request: Request, *, limit: int, max_files: int) -> FormData:
    """The form, read with limits: ``Content-Length`` first, then the bytes actually received."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _FormProblem(400, "Förfrågan har en ogiltig längd (Content-Length).")
        if int(declared) > limit:
            raise _too_large(int(declared))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    stream = _limited(request, limit)
    parser: MultiPartParser | FormParser
    if kind == "multipart/form-data":
        parser = MultiPartParser(
            request.headers, stream, max_files=max_files, max_fields=_MAX_FIELDS, max_part_size=limit
        )
    elif kind == "application/x-www-form-urlencoded":
        parser = FormParser(request.headers, stream, max_fields=_MAX_FIELDS, max_part_size=limit)
    else:
        raise _FormProblem(415, "Formuläret skickades i ett format som inte stöds.")
    try:
        return await parser.parse()
    except _TooLarge:
        raise _too_large(None) from None
    except MultiPartException:
        raise _FormProblem(400, "Formuläret kunde inte läsas (trasig eller ofullständig uppladdning).") from None
    finally:
        await stream.aclose()


def _user(request: Request) -> CurrentUser:
    """The logged-in user; otherwise a redirect to the login, which comes back to the form."""
    with Session(request.app.state.engine) as session:
        try:
            return require_user(request, session)
        except LoginRequired:
            raise LoginRequired("/importera") from None


def _today(request: Request) -> dt.date:
    state = request.app.state
    return state.clock().astimezone(state.zone).date()  # type: ignore[no-any-return]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- the upload form -----------------------------------------------------------------------------------
@router.get("/importera", response_class=HTMLResponse)
def import_form(request: Request) -> Response:
    user = _user(request)
    return _form_page(request, user, error=None, text="", status=200)


def _form_page(request: Request, user: CurrentUser, *, error: str | None, text: str, status: int) -> Response:
    return render(
        request,
        "import.html",
        {
            "title": "Importera medborgarlöfte",
            "error": error,
            "text": text,
            "max_mb": MAX_DOCUMENT_BYTES // (1024 * 1024),
            "kommuner": _kommuner_sv(user),
        },
        status,
    )


def _kommuner_sv(user: CurrentUser) -> str:
    if user.kommuner is None:
        return "alla kommuner"
    return ", ".join(sorted(user.kommuner)) or "ingen kommun ännu (be en administratör om behörighet)"


@router.post("/importera", response_class=HTMLResponse)
async def import_upload(request: Request) -> Response:
    user = await run_in_threadpool(_user, request)
    try:
        form = await _read_form(request, limit=MAX_UPLOAD_BYTES, max_files=1)
    except _FormProblem as exc:
        return _form_page(request, user, error=exc.message, text="", status=exc.status)
    try:
        pasted = _text(form, "text")
        if not check_csrf(request, _text(form, "csrf")):
            return _form_page(
                request, user, error="Formuläret har gått ut. Ladda om sidan och försök igen.", text=pasted, status=403
            )
        upload = form.get("dokument")
        today = _today(request)
        if isinstance(upload, UploadFile) and upload.filename:
            name = Path(upload.filename.replace("\\", "/")).name or "dokument"
            data = await upload.read()
            if len(data) > MAX_DOCUMENT_BYTES:
                return _form_page(request, user, error=_too_large(len(data)).message, text="", status=413)
            work: Any = (import_document, data)
        elif pasted.strip():
            name = PASTED_NAME
            work = (import_text, pasted)
        else:
            return _form_page(
                request, user, error="Välj ett dokument att ladda upp, eller klistra in texten.", text="", status=400
            )
    finally:
        await form.close()
    try:
        result: ImportResult = await run_in_threadpool(work[0], work[1], filename=name, today=today)
    except DocumentError as exc:
        return _form_page(request, user, error=f"{exc} (inget sparades)", text=pasted, status=422)
    fields = _fields_from_data(load_with_lines(result.yaml_text).data)
    slug = Path(result.suggested_filename).stem
    return _draft_page(
        request,
        user,
        result=result,
        yaml_text=result.yaml_text,
        fields=fields,
        originals=dict(fields),
        slug=slug,
        replace=False,
        errors=[],
        status=200,
    )


# -- the draft page ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the document's text; ``key`` and ``anchor`` are set inside an activity's mark."""

    text: str
    key: str | None = None
    anchor: str | None = None


def source_segments(text: str, spans: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[Segment]:
    """``text`` cut at the activities' spans: ``[(key, [(start, end), ...]), ...]`` → segments.

    The first span of an activity gets the anchor ``kalla-KEY``, later ones
    ``kalla-KEY-2`` and so on. Overlapping spans are clipped to what is left; the
    segments joined give ``text`` back.

    >>> [(s.text, s.anchor) for s in source_segments("ab cd ef", [("x", [(3, 5)])])]
    [('ab ', None), ('cd', 'kalla-x'), (' ef', None)]
    """
    marks: list[tuple[int, int, str, str]] = []
    for key, key_spans in spans:
        for n, (start, end) in enumerate(sorted(key_spans), start=1):
            marks.append((start, end, key, f"kalla-{key}" if n == 1 else f"kalla-{key}-{n}"))
    marks.sort()
    out: list[Segment] = []
    cursor = 0
    for first, last, key, anchor in marks:
        start, end = max(first, cursor), min(last, len(text))
        if end <= start:
            continue
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        out.append(Segment(text[start:end], key, anchor))
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out


def _activity_rows(result: ImportResult) -> list[dict[str, Any]]:
    notes: dict[str, list[str]] = {}
    for note in result.review:
        if note.activity:
            notes.setdefault(note.activity, []).append(note.message)
    return [
        {
            "key": a.key,
            "title": a.title,
            "sentence": a.sentence,
            "explanation": explain_sv(a.rule),
            "unit": a.unit,
            "partners": ", ".join(a.partners),
            "reason": a.unit_reason,
            "tracked": a.tracked,
            "anchor": f"kalla-{a.key}" if a.spans else None,
            "notes": notes.get(a.key, []),
        }
        for a in result.activities
    ]


def _draft_page(
    request: Request,
    user: CurrentUser,
    *,
    result: ImportResult | None,
    yaml_text: str,
    fields: Mapping[str, str],
    originals: Mapping[str, str],
    slug: str,
    replace: bool,
    errors: Sequence[str],
    status: int,
    source: str | None = None,
    filename: str | None = None,
) -> Response:
    kommun = fields.get("kommun", "")
    return render(
        request,
        "import_result.html",
        {
            "title": "Utkast: " + (fields.get("title") or "medborgarlöfte"),
            "result": result,
            "source": result.source_text if result else (source or ""),
            "filename": result.filename if result else (filename or ""),
            "segments": source_segments(result.source_text, [(a.key, a.spans) for a in result.activities])
            if result
            else [Segment(source or "")],
            "activities": _activity_rows(result) if result else [],
            "general": _general_rows(fields, originals),
            "units": _group_rows(fields, originals, "units"),
            "entities": _group_rows(fields, originals, "entities"),
            "activity_fields": _group_rows(fields, originals, "activities"),
            "unit_keys": [key for key, _ in _group_rows(fields, originals, "units")],
            "yaml_text": yaml_text,
            "slug": slug,
            "replace": replace,
            "errors": errors,
            "foreign": bool(kommun) and not user.sees(kommun),
            "kommuner": _kommuner_sv(user),
        },
        status,
    )


# -- the fields ------------------------------------------------------------------------------------------
#: (form name, Swedish label, input type) of the promise's own fields
_GENERAL = (
    ("title", "Titel", "text"),
    ("kommun", "Kommun", "text"),
    ("validity.start", "Gäller från", "date"),
    ("validity.end", "Gäller till och med", "date"),
)
#: per list: the item fields shown, as (YAML key, form suffix)
_ITEM_FIELDS: Mapping[str, tuple[str, ...]] = {
    "units": ("name", "email"),
    "entities": ("name",),
    "activities": ("unit", "tracked"),
}


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _fields_from_data(data: Any) -> dict[str, str]:
    """The form's fields and their values, read from promise-file data (``load_with_lines``)."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    raw_validity = data.get("validity")
    validity: dict[Any, Any] = raw_validity if isinstance(raw_validity, dict) else {}
    out["title"] = _scalar_text(data.get("title"))
    out["kommun"] = _scalar_text(data.get("kommun"))
    out["validity.start"] = _scalar_text(validity.get("start"))
    out["validity.end"] = _scalar_text(validity.get("end"))
    for section, names in _ITEM_FIELDS.items():
        items = data.get(section)
        for item in items if isinstance(items, list) else ():
            key = item.get("key") if isinstance(item, dict) else None
            if not isinstance(key, str) or not key or "." in key or f"{section}.{key}.{names[0]}" in out:
                continue
            for name in names:
                if name == "tracked":
                    tracked = _scalar_text(item.get("tracked")).strip().lower()
                    out[f"{section}.{key}.tracked"] = "0" if tracked in ("false", "nej", "no") else "1"
                else:
                    out[f"{section}.{key}.{name}"] = _scalar_text(item.get(name))
    return out


def _fields_from_form(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted fields and the values they were shown with (``orig.NAME``)."""
    originals = {k[len("orig.") :]: v for k, v in form.multi_items() if k.startswith("orig.") and isinstance(v, str)}
    fields: dict[str, str] = {}
    for name in originals:
        if name.endswith(".tracked"):
            fields[name] = "1" if _text(form, name) else "0"
        else:
            fields[name] = _text(form, name).strip()
    return fields, originals


def _general_rows(fields: Mapping[str, str], originals: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        {"name": name, "label": label, "type": kind, "value": fields[name], "orig": originals.get(name, fields[name])}
        for name, label, kind in _GENERAL
        if name in fields
    ]


def _group_rows(
    fields: Mapping[str, str], originals: Mapping[str, str], section: str
) -> list[tuple[str, dict[str, dict[str, str]]]]:
    """``[(key, {suffix: {name, value, orig}})]`` for one list, in form order."""
    rows: dict[str, dict[str, dict[str, str]]] = {}
    for name, value in fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == section:
            rows.setdefault(parts[1], {})[parts[2]] = {
                "name": name,
                "value": value,
                "orig": originals.get(name, value),
            }
    return list(rows.items())


@dataclass(frozen=True, slots=True)
class _ItemKey:
    """A path step: the item of a list whose ``key`` is ``key``."""

    key: str


_Step = str | _ItemKey


def _edits(fields: Mapping[str, str], originals: Mapping[str, str]) -> list[tuple[str, tuple[_Step, ...], Any]]:
    """``(form name, YAML path, new value)`` for every field changed from what it showed."""
    out: list[tuple[str, tuple[_Step, ...], Any]] = []
    for name, value in fields.items():
        if originals.get(name) == value:
            continue
        parts = name.split(".")
        if name in ("title", "kommun"):
            out.append((name, (name,), value))
            if name == "kommun" and value in KOMMUNER:
                out.append((name, ("lan",), KOMMUNER[value][1]))
        elif parts[0] == "validity" and len(parts) == 2:
            out.append((name, ("validity", parts[1]), value))
        elif len(parts) == 3 and parts[0] in _ITEM_FIELDS and parts[2] in _ITEM_FIELDS[parts[0]]:
            new: Any = value
            if parts[2] == "tracked":
                new = value == "1"
            elif parts[2] == "email" and not value:
                new = None
            out.append((name, (parts[0], _ItemKey(parts[1]), parts[2]), new))
    return out


_FIELD_SV = {
    "title": "titeln",
    "kommun": "kommunen",
    "validity.start": "giltighetstidens början",
    "validity.end": "giltighetstidens slut",
}
_ITEM_SV = {"units": "enheten", "entities": "verksamheten", "activities": "aktiviteten"}


def _field_sv(name: str) -> str:
    parts = name.split(".")
    if name in _FIELD_SV:
        return _FIELD_SV[name]
    if len(parts) == 3:
        what = {"name": "namn", "email": "e-post", "unit": "ansvarig", "tracked": "följs upp"}.get(parts[2], parts[2])
        return f"{what} för {_ITEM_SV.get(parts[0], parts[0])} {parts[1]}"
    return name


# -- textual edits of YAML -----------------------------------------------------------------------------
class EditError(ValueError):
    """A field's value could not be written into the YAML text; ``str()`` is Swedish."""


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    # A JSON string is a YAML double-quoted scalar: every character survives, nothing is re-typed.
    return json.dumps(str(value), ensure_ascii=False)


def _find(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _last_scalar(node: yaml.Node) -> yaml.Node:
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


#: libyaml's composer when PyYAML has it (both give character offsets into a str; libyaml is ~10x faster)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: one textual change: replace ``text[start:end]`` with ``new``
_Change = tuple[int, int, str]


def _compose(text: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
        return node
    except yaml.YAMLError as exc:
        raise EditError("YAML-texten kan inte läsas; rätta den först") from exc


def _change(text: str, root: yaml.Node | None, path: Sequence[_Step], value: Any) -> _Change:
    """The change that writes ``value`` at ``path`` (replacing the value, or adding the key)."""
    node: yaml.Node | None = root
    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(step, _ItemKey):
            if not isinstance(node, yaml.SequenceNode):
                raise EditError(f"'{path[depth - 1]}' är ingen lista i YAML-texten")
            for item in node.value:
                found = _find(item, "key") if isinstance(item, yaml.MappingNode) else None
                if found is not None and isinstance(found[1], yaml.ScalarNode) and found[1].value == step.key:
                    node = item
                    break
            else:
                raise EditError(f"'{step.key}' finns inte längre under {path[depth - 1]} i YAML-texten")
            continue
        if not isinstance(node, yaml.MappingNode):
            raise EditError("YAML-texten har inte formen 'nyckel: värde' här")
        found = _find(node, step)
        if found is None:
            if not last:
                raise EditError(f"nyckeln '{step}' saknas i YAML-texten")
            return _insert(text, node, step, value)
        if last:
            return _replace(text, found[1], value)
        node = found[1]
    raise EditError("tom sökväg")  # pragma: no cover - paths are never empty


def _replace(text: str, node: yaml.Node, value: Any) -> _Change:
    if not isinstance(node, yaml.ScalarNode):
        raise EditError("värdet i YAML-texten är en lista eller en tabell, inte en text")
    start, end = node.start_mark.index, node.end_mark.index
    new = _yaml_scalar(value)
    if node.style in ("|", ">"):
        # a block scalar runs to the start of the next line: keep that line break
        block = text[start:end]
        new += "\n" * (len(block) - len(block.rstrip("\n")) or 1)
    elif start == end and start > 0 and text[start - 1] == ":":
        new = " " + new
    return start, end, new


def _insert(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> _Change:
    entry = f"{key}: {_yaml_scalar(value)}"
    if mapping.flow_style:
        close = text.rfind("}", 0, mapping.end_mark.index)
        before = text[:close].rstrip()
        return len(before), close, ("" if before.endswith("{") else ", ") + entry
    if not mapping.value:
        raise EditError("en tom tabell i YAML-texten")
    column = mapping.value[0][0].start_mark.column
    end = _last_scalar(mapping.value[-1][1]).end_mark.index
    if end > 0 and text[end - 1] == "\n":  # a block scalar ends at the start of the next line
        return end, end, " " * column + entry + "\n"
    line_end = text.find("\n", end)
    if line_end < 0:
        return len(text), len(text), "\n" + " " * column + entry + "\n"
    return line_end, line_end, "\n" + " " * column + entry


def _apply(text: str, changes: Sequence[_Change]) -> str:
    """The changes (all computed on ``text``) applied from the end, so offsets stay valid;
    two insertions at one place keep their order."""
    for _, (start, end, new) in sorted(enumerate(changes), key=lambda c: (c[1][0], c[0]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def apply_edits(text: str, edits: Sequence[tuple[Sequence[_Step], Any]]) -> str:
    """``text`` with each ``(path, value)`` written in as a minimal textual edit.

    Paths step through mappings by key and through lists by an item's ``key``
    (``("units", _ItemKey("polisen"), "email")``). A missing last key is added to its
    mapping (same indentation, or inside the braces of a flow mapping); everything
    else, comments included, stays as it was. The text is composed once. Raises
    ``EditError`` when the text is not YAML or a path is not there.

    >>> apply_edits("units:\\n  - key: a  # A\\n    name: X\\n", [(("units", _ItemKey("a"), "email"), "a@b.se")])
    'units:\\n  - key: a  # A\\n    name: X\\n    email: "a@b.se"\\n'
    """
    root = _compose(text)
    return _apply(text, [_change(text, root, path, value) for path, value in edits])


# -- saving --------------------------------------------------------------------------------------------
@router.post("/importera/spara", response_class=HTMLResponse)
async def save(request: Request) -> Response:
    user = await run_in_threadpool(_user, request)
    try:
        form = await _read_form(request, limit=MAX_SAVE_BYTES, max_files=0)
    except _FormProblem as exc:
        return _form_page(request, user, error=exc.message, text="", status=exc.status)
    return await run_in_threadpool(_save, request, user, form)


def _save(request: Request, user: CurrentUser, form: FormData) -> Response:
    yaml_text = _text(form, "yaml").replace("\r\n", "\n")
    fields, originals = _fields_from_form(form)
    source, filename = _text(form, "kalla").replace("\r\n", "\n"), _text(form, "filnamn") or PASTED_NAME
    slug, replace = _text(form, "slug").strip(), bool(_text(form, "ersatt"))

    def page(errors: Sequence[str], status: int, text: str, shown: Mapping[str, str]) -> Response:
        try:
            result = import_text(source, filename=filename, today=_today(request)) if source.strip() else None
        except DocumentError:
            result = None
        return _draft_page(
            request, user, result=result, yaml_text=text, fields=fields, originals=shown, slug=slug,
            replace=replace, errors=errors, status=status, source=source, filename=filename,
        )  # fmt: skip

    if not check_csrf(request, _text(form, "csrf")):
        return page(["Formuläret har gått ut. Kontrollera utkastet och spara igen."], 403, yaml_text, originals)

    # 1. the fields into the text (a text that is not YAML keeps the fields' edits for later)
    try:
        load_with_lines(yaml_text)
    except YamlSyntaxError as exc:
        where = f"rad {exc.line}: " if exc.line else ""
        return page([f"{where}{exc.problem} (fälten förs in när texten går att läsa)"], 422, yaml_text, originals)
    root, changes, edit_errors = _compose(yaml_text), [], []
    for name, path, value in _edits(fields, originals):
        try:
            changes.append(_change(yaml_text, root, path, value))
        except EditError as exc:
            edit_errors.append(f"Fältet {_field_sv(name)} kunde inte föras in: {exc}.")
    if edit_errors:
        return page(edit_errors, 422, yaml_text, originals)
    merged = _apply(yaml_text, changes)
    # The text now holds every field's value: it is what the fields show from here on.
    located = load_with_lines(merged)
    fields = _fields_from_data(located.data)
    shown = dict(fields)

    # 2. validate
    if not _SLUG.match(slug):
        return page(
            [
                f"Namnet i adressen '{slug}' går inte: använd små bokstäver a–z, siffror och bindestreck "
                "(till exempel astorp-2019)."
            ],
            422,
            merged,
            shown,
        )
    directory = promises_dir(request)
    target = directory / f"{slug}.yaml"
    if isinstance(located.data, dict) and isinstance(located.data.get("school_calendar"), str):
        line = located.line_of(("school_calendar",))
        return page(
            [
                f"rad {line}, fält 'school_calendar': en sökväg till en fil kan inte användas när löftet sparas "
                "härifrån; skriv skolkalenderns rader direkt under school_calendar (se rules/school.py)"
            ],
            422,
            merged,
            shown,
        )
    try:
        spec = parse_promise_file(merged, source=str(target), base_dir=directory)
    except PromiseFileInvalid as exc:
        return page([_error_sv(e) for e in exc.errors], 422, merged, shown)

    # 3. who may save what
    if not user.sees(spec.kommun):
        return page(
            [
                f"Du kan inte spara ett löfte för {spec.kommun}: du har behörighet för {_kommuner_sv(user)}. "
                "Inget sparades."
            ],
            403,
            merged,
            shown,
        )
    with _SAVE_LOCK:
        return _store(
            request, user, spec=spec, text=merged, slug=slug, target=target, replace=replace, page=page, shown=shown
        )


#: the form page with its errors: ``page(errors, status, text, shown)``
_Page = Callable[[Sequence[str], int, str, Mapping[str, str]], Response]


def _store(
    request: Request,
    user: CurrentUser,
    *,
    spec: PromiseSpec,
    text: str,
    slug: str,
    target: Path,
    replace: bool,
    page: _Page,
    shown: Mapping[str, str],
) -> Response:
    engine = request.app.state.engine
    with Session(engine) as session:
        existing = session.exec(select(Promise).where(Promise.slug == slug)).one_or_none()
        if existing is not None and not user.sees(existing.kommun):
            return page([f"Namnet '{slug}' används redan av ett annat löfte: välj ett annat namn."], 409, text, shown)
        if (existing is not None or target.exists()) and not replace:
            what = f"löftet '{existing.title}'" if existing is not None else f"filen {target.name}"
            return page(
                [
                    f"Namnet '{slug}' används redan ({what}). Välj ett annat namn i adressen, eller kryssa i "
                    "'Ersätt det befintliga löftet' för att uppdatera det (genomförda aktiviteter och historik "
                    "sparas)."
                ],
                409,
                text,
                shown,
            )
    data = text.encode("utf-8")
    now = request.app.state.clock()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    previous = target.read_bytes() if target.exists() else None
    moved = False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            with session_scope(engine) as session:
                result = load_spec(session, spec, slug=slug, source=data, now=now, actor=user.label)
                os.replace(tmp, target)  # the file moves in just before the commit ...
                moved = True
        except BaseException:
            if moved:  # ... and back out if the commit failed
                _restore(target, previous)
            raise
    except IntegrityError:
        return page(["Sparades inte: någon annan sparade ett löfte med samma namn samtidigt. Försök igen."], 409,
                    text, shown)  # fmt: skip
    except OSError as exc:
        return page([f"Sparades inte: filen {target.name} kunde inte skrivas ({exc.strerror or exc})."], 500,
                    text, shown)  # fmt: skip
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    verb = "sparades som nytt löfte" if result.created else "uppdaterades"
    flash(request, f"{spec.title} {verb}: {result.activities} aktiviteter, {result.occurrences} planerade tillfällen.")
    return RedirectResponse(f"/loften/{slug}", status_code=303)


def _restore(target: Path, previous: bytes | None) -> None:
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(previous)


def _error_sv(error: PromiseFileError) -> str:
    where = [f"rad {error.line}"] if error.line else []
    if error.field:
        where.append(f"fält '{error.field}'")
    return (", ".join(where) + ": " if where else "") + error.problem
