"""The coordinator's pages through a real uvicorn server on loopback, on SQLite and PostgreSQL.

The database holds ``examples/astorp-2019.yaml`` (kommun Åstorp) and
``examples/hagfors-2022.yaml`` (kommun Hagfors), loaded by ``lofte load``'s own code.
The app's clock is fixed at 10 June 2019 09:00 in Stockholm: three weeks before the
spring term ends, when every per-term-and-school quota of Åstorp is "i fara". Anna
may see Åstorp, Olle Hagfors. Requests go through httpx with a cookie jar, like a
browser without JavaScript.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel import Session, col, func, select

from scheduler.auth import add_user
from scheduler.config import load_settings
from scheduler.db import Activity, AuditEvent, Completion, Occurrence, OccurrenceStatus, Promise, session_scope
from scheduler.feeds import IssuedFeed, ensure_feeds
from scheduler.loader import load_file
from scheduler.signing import sign_completion_link
from scheduler.web import LofteApp, create_app, report
from scheduler.web.session import SESSION_COOKIE, LoginThrottle
from tests.conftest import EXAMPLES
from tests.scheduler.conftest import empty_tables

LOADED_AT = dt.datetime(2019, 1, 2, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2019, 6, 10, 9, 0, tzinfo=ZoneInfo("Europe/Stockholm")).astimezone(dt.UTC)
PASSWORD = "hemligt-lösenord-1"
INFO = "/oversikt/loften/astorp-2019/aktiviteter/informationskvallar"
WARNING = "Informationskvällar för vårdnadshavare, Björkskolan, vårterminen 2019: 0 av 1"


# -- the world and the server (also used by test_web_api*.py and tests/browser) -------------------------
@dataclass
class World:
    engine: sa.Engine
    settings: object
    feeds: list[IssuedFeed]
    tmp: Path


def make_world(engine: sa.Engine, tmp: Path) -> World:
    load_file(engine, EXAMPLES / "astorp-2019.yaml", now=LOADED_AT)
    load_file(engine, EXAMPLES / "hagfors-2022.yaml", now=LOADED_AT)
    with session_scope(engine) as session:
        feeds = ensure_feeds(session, now=LOADED_AT)
        add_user(session, username="anna", name="Anna Berg", password=PASSWORD, now=LOADED_AT, kommuner=["Åstorp"])
        add_user(session, username="olle", name="Olle Ek", password=PASSWORD, now=LOADED_AT, kommuner=["Hagfors"])
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp), "LOFTE_SECRET_KEY": "k" * 40})
    return World(engine, settings, feeds, tmp)


@dataclass
class Running:
    base: str
    app: LofteApp

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=20)


@contextlib.contextmanager
def serve(world: World, *, now: dt.datetime = NOW) -> Iterator[Running]:
    """The app on uvicorn in a thread, on a free loopback port."""
    app = create_app(world.settings, engine=world.engine, now=lambda: now, base_url="http://127.0.0.1",  # type: ignore[arg-type]
                     issued=world.feeds, token_ttl=0.0)  # fmt: skip
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}", app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.close()


def field(page: str, name: str) -> str:
    """The value of the first hidden/input field ``name`` on ``page``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no field {name!r} on the page"
    return html.unescape(found.group(1))


def login(client: httpx.Client, username: str = "anna", password: str = PASSWORD) -> httpx.Response:
    page = client.get("/logga-in").text
    return client.post(
        "/logga-in", data={"csrf": field(page, "csrf"), "anvandarnamn": username, "losenord": password, "nasta": ""}
    )


def completions_count(engine: sa.Engine, *, current: bool = True) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(Completion)
        if current:
            query = query.where(col(Completion.undone_at).is_(None))
        return session.exec(query).one()


def reset_world(world: World) -> None:
    """Back to the loaded state: no completions, no completion audit, no done occurrences, nothing public."""
    with session_scope(world.engine) as session:
        session.exec(sa.delete(AuditEvent).where(col(AuditEvent.object_type) == "completion"))  # type: ignore[call-overload]
        session.exec(sa.update(Completion).values(replaces_id=None))  # type: ignore[call-overload]
        session.exec(sa.delete(Completion))  # type: ignore[call-overload]
        session.exec(sa.update(Occurrence).where(col(Occurrence.status) == OccurrenceStatus.DONE)  # type: ignore[call-overload]
                     .values(status=OccurrenceStatus.PLANNED))  # fmt: skip
        session.exec(sa.update(Promise).values(public=False))  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def loaded(migrated: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Loading the examples is the slow part: once per module and backend."""
    empty_tables(migrated)
    return make_world(migrated, tmp_path_factory.mktemp("web"))


@pytest.fixture
def world(loaded: World) -> World:
    reset_world(loaded)
    return loaded


@pytest.fixture
def server(world: World) -> Iterator[Running]:
    with serve(world) as running:
        yield running


@pytest.fixture
def anna(server: Running) -> Iterator[httpx.Client]:
    with server.client() as client:
        assert login(client).status_code == 303
        yield client


def _record_form(client: httpx.Client, **values: str) -> dict[str, str]:
    page = client.get(INFO).text
    form = {"csrf": field(page, "csrf"), "formular": field(page, "formular"), "datum": "2019-06-05",
            "verksamhet": "bjorkskolan", "anteckning": ""}  # fmt: skip
    form.update(values)
    return form


# -- login ------------------------------------------------------------------------------------------------
def test_pages_need_login_and_redirect_back(server: Running) -> None:
    with server.client() as client:
        response = client.get("/oversikt?period=2019-VT")
        assert response.status_code == 303
        assert response.headers["location"] == "/logga-in?nasta=%2Foversikt%3Fperiod%3D2019-VT"
        assert client.get("/").status_code == 200  # the public start page
        page = client.get("/logga-in?nasta=/oversikt%3Fperiod%3D2019-VT").text
        done = client.post("/logga-in", data={"csrf": field(page, "csrf"), "anvandarnamn": "Anna",
                                              "losenord": PASSWORD, "nasta": field(page, "nasta")})  # fmt: skip
        assert done.status_code == 303
        assert done.headers["location"] == "/oversikt?period=2019-VT"
        cookie = done.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
        assert "Max-Age=28800" in cookie
        assert "secure" not in cookie.lower()  # the base URL is http here
        assert client.get("/").headers["location"] == "/oversikt"
        # logging out needs the CSRF token, then the session is gone
        overview = client.get("/oversikt").text
        assert client.post("/logga-ut", data={"csrf": "fel"}).status_code == 303
        assert client.get("/oversikt").status_code == 200
        client.post("/logga-ut", data={"csrf": field(overview, "csrf")})
        assert client.get("/oversikt").status_code == 303


def test_an_open_redirect_after_login_is_refused(server: Running) -> None:
    with server.client() as client:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            page = client.get("/logga-in").text  # each login starts a new session with a new token
            response = client.post("/logga-in", data={"csrf": field(page, "csrf"), "anvandarnamn": "anna",
                                                      "losenord": PASSWORD, "nasta": target})  # fmt: skip
            assert response.headers["location"] == "/oversikt"


def test_bad_credentials_get_one_generic_message_and_are_throttled(server: Running) -> None:
    server.app.state.login_throttle = LoginThrottle(max_failures=3)
    with server.client() as client:
        unknown = login(client, "finns-inte", PASSWORD)
        wrong = login(client, "anna", "fel-lösenord-123")
        assert unknown.status_code == wrong.status_code == 401
        for response in (unknown, wrong):
            assert "Fel användarnamn eller lösenord." in response.text
            assert SESSION_COOKIE not in response.headers.get("set-cookie", "") or "uid" not in response.text
        login(client, "anna", "fel-igen-123456")
        login(client, "ANNA", "fel-en-tredje-gång")  # usernames are case-folded: the same account
        blocked = login(client, "anna", PASSWORD)  # right password, but the throttle answers first
        assert blocked.status_code == 429
        assert "För många misslyckade inloggningar. Försök igen om 15 minuter." in blocked.text
        # only that username is blocked: others behind the same address (a proxy) still log in
        assert login(client, "olle").status_code == 303


def test_a_login_form_without_its_csrf_token_is_refused(server: Running) -> None:
    with server.client() as client:
        client.get("/logga-in")
        response = client.post("/logga-in", data={"csrf": "", "anvandarnamn": "anna", "losenord": PASSWORD})
        assert response.status_code == 400
        assert "Formuläret har gått ut" in response.text
        assert client.get("/oversikt").status_code == 303


# -- the overview -------------------------------------------------------------------------------------------
def test_overview_shows_warnings_first_and_untracked_and_only_granted_kommuner(anna: httpx.Client) -> None:
    page = anna.get("/oversikt").text
    assert "Varningar (" in page
    warnings = page[page.index('id="varningar"') : page.index("<h2>Per period</h2>")]
    assert html.escape(WARNING) in warnings
    assert "i fara" in warnings
    assert "3 veckor kvar varav 2 lovveckor" in warnings
    assert "Följs inte upp med antal" in page
    assert "Tidig upptäckt och förebyggande insatser" in page
    assert "Hagfors" not in page
    # progress per period
    assert "vårterminen 2019: 0 av" in page
    assert "<progress" in page
    # filters: by unit (kommunen owns the information evenings, polisen the lectures)
    only_police = anna.get("/oversikt?enhet=polisen").text
    assert "Föreläsningar om droger" in only_police
    assert "Informationskvällar" not in only_police.split("Följs inte upp")[0]
    one_period = anna.get("/oversikt?period=2019-HT").text
    assert "höstterminen 2019" in one_period
    assert "vårterminen 2019: 0" not in one_period
    # another kommun's promise as a filter is 404, as if it did not exist
    assert anna.get("/oversikt?lofte=hagfors-2022").status_code == 404
    assert anna.get("/oversikt?lofte=finns-inte").status_code == 404


def test_another_kommuns_activity_report_and_completions_are_404(server: Running, world: World) -> None:
    with server.client() as olle:
        login(olle, "olle")
        page = olle.get("/oversikt/loften/hagfors-2022/aktiviteter/" + _first_activity(world, "hagfors-2022")).text
        csrf = field(page, "csrf")
    with server.client() as anna:
        login(anna)
        key = _first_activity(world, "hagfors-2022")
        assert anna.get(f"/oversikt/loften/hagfors-2022/aktiviteter/{key}").status_code == 404
        assert anna.get("/loften/hagfors-2022/uppfoljning").status_code == 404
        assert anna.get("/loften/hagfors-2022/uppfoljning?format=csv").status_code == 404
        anna_csrf = field(anna.get("/oversikt").text, "csrf")
        posted = anna.post(f"/oversikt/loften/hagfors-2022/aktiviteter/{key}/registrera",
                           data={"csrf": anna_csrf, "datum": "2019-06-01"})  # fmt: skip
        assert posted.status_code == 404
        with Session(world.engine) as session:
            activity = session.exec(select(Activity).where(Activity.key == key)).first()
            assert activity is not None
            row = Completion(activity_id=activity.id, done_on=dt.date(2019, 6, 1), recorded_by="x",
                             created_at=LOADED_AT, updated_at=LOADED_AT)  # type: ignore[arg-type]  # fmt: skip
            session.add(row)
            session.commit()
            other_id = row.id
        assert anna.post(f"/oversikt/registreringar/{other_id}/angra", data={"csrf": anna_csrf}).status_code == 404
        assert anna.post(f"/oversikt/registreringar/{other_id}/angra", data={"csrf": csrf}).status_code in (403, 404)
        assert completions_count(world.engine) == 1


def _first_activity(world: World, slug: str) -> str:
    with Session(world.engine) as session:
        promise = session.exec(select(Promise).where(Promise.slug == slug)).one()
        return session.exec(select(Activity.key).where(Activity.promise_id == promise.id)).first() or ""


# -- recording, correcting, undoing -----------------------------------------------------------------------
def test_recording_clears_the_warning_and_a_double_submit_stores_once(anna: httpx.Client, world: World) -> None:
    form = _record_form(anna, anteckning="Föräldramöte i aulan")
    first = anna.post(INFO + "/registrera", data=form)
    assert first.status_code == 303
    assert first.headers["location"] == INFO
    second = anna.post(INFO + "/registrera", data=form)  # the same form again (double click)
    assert second.status_code == 303
    assert completions_count(world.engine) == 1
    page = anna.get(INFO).text
    assert "Registreringen var redan sparad" in page
    assert "Föräldramöte i aulan" in page
    assert "Anna Berg (anna)" in page
    # a fresh form with the same values within two minutes is the same completion too
    again = anna.post(INFO + "/registrera", data=_record_form(anna, anteckning="Föräldramöte i aulan"))
    assert again.status_code == 303
    assert "Redan registrerad" in anna.get(INFO).text
    assert completions_count(world.engine) == 1
    overview = anna.get("/oversikt").text
    warnings = overview[overview.index('id="varningar"') : overview.index("<h2>Per period</h2>")]
    assert html.escape(WARNING) not in warnings
    assert html.escape("Informationskvällar för vårdnadshavare, Ekskolan, vårterminen 2019: 0 av 1") in warnings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"datum": "2019-06-11"}, "ligger i framtiden"),
        ({"datum": "11/6"}, "är inte ett datum; skriv det som ÅÅÅÅ-MM-DD"),
        ({"verksamhet": ""}, "räknas per högstadieskola: ange vilken"),
        ({"verksamhet": "okandskolan"}, "okänd högstadieskola"),
        ({"anteckning": "x" * 2001}, "anteckningen är för lång"),
    ],
    ids=["future", "not-a-date", "no-entity", "unknown-entity", "long-note"],
)
def test_bad_input_is_refused_with_a_swedish_message(
    anna: httpx.Client, world: World, values: dict[str, str], message: str
) -> None:
    response = anna.post(INFO + "/registrera", data=_record_form(anna, **values))
    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert "Traceback" not in response.text
    assert completions_count(world.engine) == 0


def test_unknown_activity_and_missing_csrf_store_nothing(anna: httpx.Client, world: World) -> None:
    form = _record_form(anna)
    assert anna.post("/oversikt/loften/astorp-2019/aktiviteter/finns-inte/registrera", data=form).status_code == 404
    forged = anna.post(INFO + "/registrera", data={**form, "csrf": "förfalskad"})
    assert forged.status_code == 403
    assert "Formuläret har gått ut eller kom inte från Löfte" in forged.text
    assert completions_count(world.engine) == 0


def test_script_in_a_note_is_shown_escaped(anna: httpx.Client) -> None:
    note = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    anna.post(INFO + "/registrera", data=_record_form(anna, anteckning=note))
    for path in (INFO, "/loften/astorp-2019/uppfoljning"):
        page = anna.get(path).text
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_correct_and_undo_keep_the_history_and_the_audit_trail(anna: httpx.Client, world: World) -> None:
    anna.post(INFO + "/registrera", data=_record_form(anna, anteckning="först"))
    with Session(world.engine) as session:
        first = session.exec(select(Completion)).one()
    page = anna.get(INFO).text
    csrf = field(page, "csrf")
    corrected = anna.post(f"/oversikt/registreringar/{first.id}/ratta",
                          data={"csrf": csrf, "datum": "2019-06-04", "anteckning": "rättad"})  # fmt: skip
    assert corrected.status_code == 303
    with Session(world.engine) as session:
        rows = session.exec(select(Completion).order_by(col(Completion.id))).all()
        assert [(r.done_on, r.note, r.undone_at is not None) for r in rows] == [
            (dt.date(2019, 6, 5), "först", True), (dt.date(2019, 6, 4), "rättad", False)]  # fmt: skip
        newest = rows[1].id
    # correcting the replaced row again is refused in Swedish
    again = anna.post(f"/oversikt/registreringar/{first.id}/ratta", data={"csrf": csrf, "datum": "2019-06-03"})
    assert again.status_code == 400
    assert "är ångrad; rätta den gällande i stället" in again.text
    assert anna.post(f"/oversikt/registreringar/{newest}/angra", data={"csrf": csrf}).status_code == 303
    page = anna.get(INFO).text
    assert f"Registrering nr {newest} är ångrad." in page
    assert f"rättad, se nr {newest}" in page
    assert "ångrad av Anna Berg (anna)" in page
    assert "Ändringslogg (3)" in page
    assert "rättade" in page
    assert "ångrade" in page
    assert completions_count(world.engine) == 0
    with Session(world.engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_type == "completion")).all()
        assert sorted(actions) == ["completion.correct", "completion.create", "completion.undo"]
    # the warning is back
    assert html.escape(WARNING) in anna.get("/oversikt").text


# -- the follow-up report --------------------------------------------------------------------------------------
def test_follow_up_report_html_and_csv_for_excel(anna: httpx.Client) -> None:
    anna.post(INFO + "/registrera", data=_record_form(anna, anteckning='=HYPERLINK("http://x")'))
    page = anna.get("/loften/astorp-2019/uppfoljning?fran=2019-01-01&till=2019-06-30")
    assert page.status_code == 200
    assert "Uppföljning: Medborgarlöfte Åstorp 2019" in page.text
    assert "@media print" not in page.text
    assert "/static/lofte.css" in page.text
    assert "Ladda ner som CSV" in page.text
    response = anna.get("/loften/astorp-2019/uppfoljning?fran=2019-01-01&till=2019-06-30&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Aktivitet", "Ansvarig", "Verksamhet"]
    info = [r for r in rows if r[0] == "Informationskvällar för vårdnadshavare" and r[3] == "vårterminen 2019"]
    assert {r[2]: (r[6], r[7]) for r in info} == {"Björkskolan": ("1", "1"), "Ekskolan": ("1", "0")}
    bjork = next(r for r in info if r[2] == "Björkskolan")
    assert bjork[8] == "uppfylld"
    assert bjork[9] == "2019-06-05"
    assert bjork[10] == '2019-06-05: =HYPERLINK("http://x")'  # starts with the date: text in Excel
    assert report._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert report._cell("-1") == "'-1"
    assert any(r[8] == "följs inte upp med antal" for r in rows)
    assert all(r[3] != "höstterminen 2019" for r in rows)  # outside the span
    assert b"\r\n" in response.content
    bad = anna.get("/loften/astorp-2019/uppfoljning?fran=igår")
    assert bad.status_code == 400
    assert "'fran' ska vara ett datum skrivet ÅÅÅÅ-MM-DD" in html.unescape(bad.text)
    backwards = anna.get("/loften/astorp-2019/uppfoljning?fran=2019-06-01&till=2019-01-01")
    assert backwards.status_code == 400


# -- the public page -------------------------------------------------------------------------------------------------
def test_public_page_only_when_opted_in_and_without_names_or_notes(server: Running, world: World) -> None:
    with server.client() as anna:
        login(anna)
        anna.post(INFO + "/registrera", data=_record_form(anna, anteckning="Hemlig anteckning"))
    with server.client() as citizen:
        assert citizen.get("/offentlig/astorp-2019").status_code == 404
        with session_scope(world.engine) as session:
            promise = session.exec(select(Promise).where(Promise.slug == "astorp-2019")).one()
            promise.public = True
        page = citizen.get("/offentlig/astorp-2019")
        assert page.status_code == 200
        text = page.text
        assert "Informationskvällar för vårdnadshavare" in text
        assert "vårterminen 2019" in text
        assert "Hemlig anteckning" not in text
        assert "Anna" not in text
        assert "anna" not in text
        assert "följs inte upp med ett antal" in text
        assert citizen.get("/offentlig/finns-inte").status_code == 404


# -- one-click links ------------------------------------------------------------------------------------------------
def _link(world: World, *, issued: dt.datetime = NOW - dt.timedelta(days=1), **claims: object) -> str:
    values: dict[str, object] = {"promise": "astorp-2019", "activity": "informationskvallar",
                                 "entity": "bjorkskolan", "period_key": "2019-VT",
                                 "recipient": "kommunen@astorp.example.se"}  # fmt: skip
    values.update(claims)
    return sign_completion_link(world.settings.secret_key, now=issued, **values)  # type: ignore[attr-defined,arg-type]


def test_a_signed_link_confirms_on_get_and_records_once_on_post(server: Running, world: World) -> None:
    token = _link(world)
    with server.client() as mail_scanner:
        for _ in range(2):
            page = mail_scanner.get(f"/klart/{token}")
            assert page.status_code == 200
            assert "Markera som genomförd?" in page.text
            assert "vårterminen 2019" in page.text
            assert html.escape(WARNING) in page.text
    assert completions_count(world.engine) == 0
    with server.client() as person:
        done = person.post(f"/klart/{token}", data={"datum": "2019-06-07", "anteckning": ""})
        assert done.status_code == 200
        assert "Registrerat: genomförd 7 juni 2019" in done.text
        twice = person.post(f"/klart/{token}", data={"datum": "2019-06-06", "anteckning": "igen"})
        assert twice.status_code == 200
        assert "Den här länken har redan använts" in twice.text
    assert completions_count(world.engine) == 1
    with Session(world.engine) as session:
        row = session.exec(select(Completion)).one()
        assert row.recorded_by == "kommunen@astorp.example.se (via länk)"
        assert row.done_on == dt.date(2019, 6, 7)


def test_a_link_refuses_a_date_outside_its_period_or_in_the_future(server: Running, world: World) -> None:
    token = _link(world)
    with server.client() as person:
        for day, message in (("2019-08-20", "ligger utanför perioden vårterminen 2019"),
                             ("2019-06-11", "ligger i framtiden"), ("fel", "är inte ett datum")):  # fmt: skip
            response = person.post(f"/klart/{token}", data={"datum": day})
            assert response.status_code == 400
            assert message in html.unescape(response.text)
    assert completions_count(world.engine) == 0


def test_forged_and_expired_links_say_what_to_do_instead(server: Running, world: World) -> None:
    token = _link(world)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    expired = _link(world, issued=NOW - dt.timedelta(days=90))
    with server.client() as person:
        bad = person.get(f"/klart/{forged}")
        assert bad.status_code == 400
        assert "Länken är ogiltig" in bad.text
        assert "Öppna Löfte" in bad.text
        old = person.get(f"/klart/{expired}")
        assert old.status_code == 410
        assert "Länken gick ut den" in old.text
        assert person.post(f"/klart/{forged}", data={"datum": "2019-06-07"}).status_code == 400
        assert person.post(f"/klart/{expired}", data={"datum": "2019-06-07"}).status_code == 410
        gone = person.get(f"/klart/{_link(world, activity='finns-inte')}")
        assert gone.status_code == 404
        assert "finns inte längre" in gone.text
    assert completions_count(world.engine) == 0


# -- the demo ------------------------------------------------------------------------------------------------------
def test_the_demo_has_a_coordinator_and_a_history_in_every_kind_of_period(tmp_path: Path) -> None:
    from scheduler.demo import DEMO_USERNAME, demo_clock, prepare_demo

    demo = prepare_demo(tmp_path, now=LOADED_AT.replace(year=2026), secret="k" * 40)
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path), "LOFTE_SECRET_KEY": "k" * 40})
    world = World(demo.engine, settings, demo.feeds, tmp_path)
    with serve(world, now=demo_clock(demo.today)) as running, running.client() as client:
        assert login(client, DEMO_USERNAME, demo.password).status_code == 303
        page = client.get("/oversikt").text
        assert "missad" in page
        assert "uppfylld" in page
        assert "i fas" in page
        history = client.get("/oversikt/loften/astorp-2019/aktiviteter/informationskvallar").text
        assert "Demo Samordnare (demo)" in history
        assert "Ändringslogg" in history
    with Session(demo.engine) as session:
        assert session.exec(select(func.count()).select_from(Completion).where(
            col(Completion.undone_at).is_not(None))).one() == 2  # one corrected, one undone  # fmt: skip
    demo.engine.dispose()
