"""``/importera`` through a real uvicorn server on loopback, on SQLite and PostgreSQL.

A coordinator uploads a signed document (the three seeds, a Word file, a PDF, pasted
text), sees every activity marked in the source and the draft's form, corrects the
fields and saves; the promise is then on ``/loften/<slug>``, in the database and in
``DATA_DIR/promises/<slug>.yaml`` (which ``lofte load`` reloads as unchanged). Bad input
gets the importer's Swedish message and a 4xx status, and saves nothing. Anna may save
for Åstorp, Hagfors and Örkelljunga; Olle only for Hagfors. Documents that need no database (Word, PDF, pasted text, bad
input, escaping, CSRF on the upload) are in ``test_web_import_input.py``, on SQLite only.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from rules import explain_sv
from scheduler.auth import add_user
from scheduler.config import load_settings
from scheduler.db import Activity, Promise, Unit, session_scope
from scheduler.importer import import_document
from scheduler.loader import load_file
from tests.scheduler.test_web_dashboard import PASSWORD, Running, World, field, login, serve

NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 1, 15)
SEEDS = {
    "astorp-2019": "000_d80146badab45a3d.txt",
    "hagfors-2022": "002_2773eea6dee86e61.txt",
    "orkelljunga-2022": "003_f82ca4a2a85bcbc2.txt",
}


# -- the server: one per module and backend, with Anna and Olle logged in once ------------------------------
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(migrated: sa.Engine, data_dir: Path) -> Iterator[Running]:
    with session_scope(migrated) as session:
        add_user(session, username="anna", name="Anna Berg", password=PASSWORD, now=NOW,
                 kommuner=["Åstorp", "Hagfors", "Örkelljunga"])  # fmt: skip
        add_user(session, username="olle", name="Olle Ek", password=PASSWORD, now=NOW, kommuner=["Hagfors"])
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(data_dir), "LOFTE_SECRET_KEY": "k" * 40})
    with serve(World(migrated, settings, [], data_dir), now=NOW) as running:
        yield running


def logged_in_client(server: Running, username: str) -> httpx.Client:
    client = server.client()
    assert login(client, username).status_code == 303
    return client


@pytest.fixture(scope="module")
def anna(server: Running) -> Iterator[httpx.Client]:
    client = logged_in_client(server, "anna")
    yield client
    client.close()


@pytest.fixture(scope="module")
def olle(server: Running) -> Iterator[httpx.Client]:
    client = logged_in_client(server, "olle")
    yield client
    client.close()


@pytest.fixture
def db(server: Running, migrated: sa.Engine, data_dir: Path) -> sa.Engine:
    """The server's database with no promise in it, nor in ``DATA_DIR/promises`` (the users stay)."""
    with migrated.begin() as connection:
        connection.execute(sa.delete(Promise))  # everything under a promise goes with it (ON DELETE CASCADE)
    for path in (data_dir / "promises").glob("*"):
        path.unlink()
    return migrated


def upload(client: httpx.Client, name: str, data: bytes, *, csrf: str | None = None) -> httpx.Response:
    token = field(client.get("/importera").text, "csrf") if csrf is None else csrf
    return client.post("/importera", data={"csrf": token}, files={"dokument": (name, data, "application/octet-stream")})


def seed_bytes(shared_dir: Path, slug: str) -> tuple[str, bytes]:
    path = shared_dir / "seeds" / SEEDS[slug]
    return path.name, path.read_bytes()


class _SaveForm(HTMLParser):
    """The fields of the save form as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._inside = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = a.get("action") == "/importera/spara"
        if not self._inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def save_form(page: str) -> dict[str, str]:
    parser = _SaveForm()
    parser.feed(page)
    values = parser.values
    values["yaml"] = values["yaml"].removeprefix("\n")  # HTML drops a textarea's first line break
    return values


def fill_in(form: dict[str, str]) -> dict[str, str]:
    """What a coordinator types into the fields: an email per unit, a name per entity."""
    out = dict(form)
    for name in form:
        parts = name.split(".")
        if parts[0] == "units" and parts[2] == "email":
            out[name] = f"{parts[1].replace('ä', 'a')}@example.se"
        if parts[0] == "entities" and parts[2] == "name":
            out[name] = f"Skola {parts[1][-1]}"
    return out


def errors_on(page: str) -> list[str]:
    block = re.search(r'<div class="error" role="alert" id="fel">(.*?)</div>', page, re.S)
    return [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)] if block else []


def promise_count(engine: sa.Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Promise)).one()


# -- the happy path -------------------------------------------------------------------------------------
@pytest.mark.parametrize("slug", list(SEEDS))
def test_seed_upload_marks_every_activity_and_saves_the_corrected_draft(
    slug: str, anna: httpx.Client, db: sa.Engine, shared_dir: Path, data_dir: Path
) -> None:
    name, data = seed_bytes(shared_dir, slug)
    expected = import_document(data, filename=name, today=TODAY)
    page = upload(anna, name, data)
    assert page.status_code == 200, page.text[:2000]
    text = page.text
    for activity in expected.activities:
        # marked in the source, linked from the list, explained in Swedish
        assert f'<mark id="kalla-{activity.key}" data-aktivitet="{activity.key}">' in text
        assert f'href="#kalla-{activity.key}"' in text
        assert explain_sv(activity.rule) in html.unescape(text)
    marked = re.findall(r'<mark id="kalla-[^"]+" data-aktivitet="[^"]+">(.*?)</mark>', text, re.S)
    first = expected.activities[0]
    assert html.unescape(marked[0]) == expected.source_text[first.spans[0][0] : first.spans[0][1]]
    for note in expected.review:
        assert note.message in html.unescape(text)

    form = fill_in(save_form(text))
    assert form["slug"] == slug
    saved = anna.post("/importera/spara", data=form)
    assert saved.status_code == 303, errors_on(saved.text)
    assert saved.headers["location"] == f"/loften/{slug}"
    shown = anna.get(f"/loften/{slug}")
    assert shown.status_code == 200
    assert f"{expected.title} sparades som nytt löfte: {len(expected.activities)} aktiviteter" in shown.text
    for activity in expected.activities:
        assert f"/loften/{slug}/aktiviteter/{activity.key}" in shown.text

    with Session(db) as session:
        promise = session.exec(select(Promise).where(Promise.slug == slug)).one()
        assert promise.kommun == expected.kommun
        assert (promise.valid_from, promise.valid_until) == (expected.validity.start, expected.validity.end)
        keys = session.exec(select(Activity.key).where(Activity.promise_id == promise.id)).all()
        assert sorted(keys) == sorted(a.key for a in expected.activities)
        emails = session.exec(select(Unit.key, Unit.email).where(Unit.promise_id == promise.id)).all()
        assert all(email == f"{key.replace('ä', 'a')}@example.se" for key, email in emails)
    file = data_dir / "promises" / f"{slug}.yaml"
    assert file.read_text(encoding="utf-8").startswith("# UTKAST:")  # the draft's review comments stay
    assert promise.source_path == str(file)
    assert load_file(db, file, now=NOW).unchanged  # `lofte load` of the saved file: nothing to do


def test_field_edits_merge_into_the_yaml_and_yaml_edits_survive(
    anna: httpx.Client, db: sa.Engine, shared_dir: Path, data_dir: Path
) -> None:
    form = fill_in(save_form(upload(anna, *seed_bytes(shared_dir, "hagfors-2022")).text))
    key = next(n.split(".")[1] for n in form if n.startswith("activities.") and n.endswith(".tracked"))
    form["title"] = 'Trygg i Hagfors "2022"'
    form[f"activities.{key}.tracked"] = ""  # unticked: a browser sends nothing
    del form[f"activities.{key}.tracked"]
    # a hand edit in the text of the same activity, next to the field's edit
    form["yaml"], n = re.subn(rf"(\n  - key: {key}\n)", r"\1    location: Biblioteket  # för hand\n", form["yaml"])
    assert n == 1
    saved = anna.post("/importera/spara", data=form)
    assert saved.status_code == 303, errors_on(saved.text)
    with Session(db) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "hagfors-2022")).one()
        assert promise.title == 'Trygg i Hagfors "2022"'
        activity = session.exec(select(Activity).where(Activity.key == key)).one()
        assert activity.tracked is False
        assert activity.preferences["location"] == "Biblioteket"
    written = (data_dir / "promises" / "hagfors-2022.yaml").read_text(encoding="utf-8")
    assert "# GRANSKA" in written
    assert "location: Biblioteket  # för hand" in written
    assert 'title: "Trygg i Hagfors \\"2022\\""' in written


# -- errors are shown, edits kept, nothing saved -------------------------------------------------------
def test_invalid_yaml_shows_line_and_field_and_keeps_the_edits(
    anna: httpx.Client, db: sa.Engine, shared_dir: Path, data_dir: Path
) -> None:
    form = fill_in(save_form(upload(anna, *seed_bytes(shared_dir, "astorp-2019")).text))
    form["units.polisen.email"] = "polisen-utan-snabel-a"
    form["yaml"] = form["yaml"].replace("lan: Skåne", "lan: Skåne\nfärg: blå")
    refused = anna.post("/importera/spara", data=form)
    assert refused.status_code == 422
    errors = errors_on(refused.text)
    line = next(n for n, text in enumerate(save_form(refused.text)["yaml"].split("\n"), 1) if "polisen-utan" in text)
    assert any(e.startswith(f"rad {line}, fält 'units[0].email'") for e in errors), errors
    assert any("färg" in e and "rad " in e for e in errors), errors
    again = save_form(refused.text)
    assert again["units.polisen.email"] == "polisen-utan-snabel-a"  # the field keeps the edit
    assert "färg: blå" in again["yaml"]
    assert '"polisen-utan-snabel-a"' in again["yaml"]
    assert again["units.kommunen.email"] == "kommunen@example.se"
    assert '<mark id="kalla-informationskvallar-vardnadshavare"' in refused.text  # the source is still marked

    # not YAML at all: the syntax error's line; the fields' edits wait for a readable text
    broken = dict(again, yaml=again["yaml"].replace("title:", "title: [", 1))
    broken["units.polisen.email"] = "polisen@example.se"
    refused = anna.post("/importera/spara", data=broken)
    assert refused.status_code == 422
    assert re.match(r"rad \d+: ", errors_on(refused.text)[0])
    kept = save_form(refused.text)
    assert kept["yaml"] == broken["yaml"]
    assert kept["units.polisen.email"] == "polisen@example.se"

    fixed = dict(kept, yaml=kept["yaml"].replace("title: [", "title:", 1).replace("färg: blå\n", ""))
    saved = anna.post("/importera/spara", data=fixed)
    assert saved.status_code == 303, errors_on(saved.text)
    with Session(db) as session:
        unit = session.exec(select(Unit).where(Unit.key == "polisen")).one()
        assert unit.email == "polisen@example.se"


def test_a_calendar_path_is_refused(anna: httpx.Client, db: sa.Engine, shared_dir: Path) -> None:
    form = fill_in(save_form(upload(anna, *seed_bytes(shared_dir, "astorp-2019")).text))
    form["yaml"] += "school_calendar: /etc/passwd\n"
    refused = anna.post("/importera/spara", data=form)
    assert refused.status_code == 422
    assert "fält 'school_calendar': en sökväg till en fil kan inte användas" in errors_on(refused.text)[0]
    assert "root:" not in refused.text
    assert promise_count(db) == 0


def test_a_taken_name_needs_replace(anna: httpx.Client, db: sa.Engine, shared_dir: Path) -> None:
    form = fill_in(save_form(upload(anna, *seed_bytes(shared_dir, "orkelljunga-2022")).text))
    assert anna.post("/importera/spara", data=form).status_code == 303
    form["title"] = "Ny titel"
    refused = anna.post("/importera/spara", data=form)
    assert refused.status_code == 409
    assert "Namnet 'orkelljunga-2022' används redan" in errors_on(refused.text)[0]
    assert anna.post("/importera/spara", data=dict(form, slug="Fel namn!")).status_code == 422
    replaced = anna.post("/importera/spara", data=dict(save_form(refused.text), ersatt="1"))
    assert replaced.status_code == 303, errors_on(replaced.text)
    assert "Ny titel uppdaterades" in anna.get("/loften/orkelljunga-2022").text
    assert promise_count(db) == 1


# -- who may do what ------------------------------------------------------------------------------------
def test_without_csrf_nothing_is_read_or_saved(anna: httpx.Client, db: sa.Engine, shared_dir: Path) -> None:
    name, data = seed_bytes(shared_dir, "astorp-2019")
    refused = upload(anna, name, data, csrf="")
    assert refused.status_code == 403
    assert "Formuläret har gått ut" in refused.text
    form = fill_in(save_form(upload(anna, name, data).text))
    for token in ("", "fel-token"):
        refused = anna.post("/importera/spara", data=dict(form, csrf=token))
        assert refused.status_code == 403
        assert "Formuläret har gått ut" in errors_on(refused.text)[0]
    assert promise_count(db) == 0


def test_a_user_of_another_kommun_cannot_save(
    olle: httpx.Client, db: sa.Engine, shared_dir: Path, data_dir: Path
) -> None:
    page = upload(olle, *seed_bytes(shared_dir, "astorp-2019"))  # Olle may save for Hagfors only
    assert page.status_code == 200
    assert "Kommunen i utkastet är inte en av dina (Hagfors)" in page.text
    refused = olle.post("/importera/spara", data=fill_in(save_form(page.text)))
    assert refused.status_code == 403
    assert "Du kan inte spara ett löfte för Åstorp: du har behörighet för Hagfors" in errors_on(refused.text)[0]
    # the kommun field changed to Olle's own is his to save (the län follows the kommun)
    form = fill_in(save_form(page.text))
    form["kommun"] = "Hagfors"
    saved = olle.post("/importera/spara", data=dict(form, slug="olles-utkast"))
    assert saved.status_code == 303, errors_on(saved.text)
    with Session(db) as session:
        promise = session.exec(select(Promise)).one()
        assert (promise.slug, promise.kommun, promise.lan) == ("olles-utkast", "Hagfors", "Värmland")
    with session_scope(db) as session:  # now the name belongs to a kommun Olle cannot see
        session.exec(select(Promise)).one().kommun = "Åstorp"
    refused = olle.post("/importera/spara", data=dict(form, slug="olles-utkast", ersatt="1"))
    assert refused.status_code == 409
    assert "används redan av ett annat löfte" in errors_on(refused.text)[0]
