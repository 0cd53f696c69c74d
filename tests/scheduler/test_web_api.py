"""The JSON API through a real uvicorn server on loopback (httpx), on SQLite and PostgreSQL.

Same world as ``test_web_dashboard``: Åstorp 2019 and Hagfors 2022 loaded, Anna sees
Åstorp, Olle Hagfors, the clock fixed at 10 June 2019.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from scheduler.auth import set_password
from scheduler.db import User, session_scope
from scheduler.status import evaluate_promises
from tests.scheduler.conftest import empty_tables
from tests.scheduler.test_web_dashboard import (
    LOADED_AT,
    NOW,
    Running,
    World,
    completions_count,
    field,
    login,
    make_world,
    reset_world,
    serve,
)

BJORK = {"promise": "astorp-2019", "activity": "informationskvallar", "entity": "bjorkskolan",
         "done_on": "2019-06-05", "note": "Föräldramöte"}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(migrated: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> World:
    empty_tables(migrated)
    return make_world(migrated, tmp_path_factory.mktemp("api"))


@pytest.fixture
def world(loaded: World) -> World:
    reset_world(loaded)
    return loaded


@pytest.fixture
def server(world: World) -> Iterator[Running]:
    with serve(world) as running:
        yield running


def api_key(server: Running, username: str = "anna") -> str:
    with server.client() as client:
        login(client, username)
        page = client.post("/konto/api-nyckel", data={"csrf": field(client.get("/konto").text, "csrf")}).text
    found = page.split('id="api-nyckel">', 1)[1].split("<", 1)[0]
    assert found.startswith("lofte_")
    return found


@pytest.fixture
def anna(server: Running) -> Iterator[httpx.Client]:
    with server.client() as client:
        client.headers["Authorization"] = f"Bearer {api_key(server)}"
        yield client


def test_status_is_the_same_json_as_lofte_status(anna: httpx.Client, world: World) -> None:
    response = anna.get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    expected = evaluate_promises(world.engine, today=NOW.date(), promise="astorp-2019")
    assert body == expected.to_json(items=expected.relevant())
    assert body["warnings"] > 0
    assert {q["kommun"] for q in body["quotas"]} == {"Åstorp"}
    first = body["quotas"][0]
    assert first["state"] == "i fara"
    assert anna.get("/api/v1/status?all=1").json()["quotas"].__len__() == len(expected.items)
    police = anna.get("/api/v1/status?unit=polisen").json()["quotas"]
    assert police
    assert {q["unit"] for q in police} == {"polisen"}
    assert anna.get("/api/v1/status?promise=hagfors-2022").status_code == 404
    bad = anna.get("/api/v1/status?date=igår")
    assert bad.status_code == 422
    assert bad.json() == {"fel": "Felaktiga uppgifter: query.date: inte ett datum (ÅÅÅÅ-MM-DD)"}


def test_record_repeat_correct_and_undo(anna: httpx.Client, world: World) -> None:
    created = anna.post("/api/v1/completions", json=BJORK)
    assert created.status_code == 201
    row = created.json()["completion"]
    assert created.json()["created"] is True
    assert row["entity"] == "bjorkskolan"
    assert row["recorded_by"] == "Anna Berg (anna)"
    repeat = anna.post("/api/v1/completions", json=BJORK)
    assert repeat.status_code == 200
    assert repeat.json()["created"] is False
    assert repeat.json()["completion"]["id"] == row["id"]
    assert completions_count(world.engine) == 1
    status = anna.get("/api/v1/status").json()
    bjork = next(q for q in status["quotas"] if q["activity"] == "informationskvallar" and q["entity"] == "bjorkskolan")
    assert bjork["state"] == "uppfylld"
    listed = anna.get("/api/v1/completions?promise=astorp-2019&activity=informationskvallar").json()["completions"]
    assert [c["id"] for c in listed] == [row["id"]]
    corrected = anna.patch(f"/api/v1/completions/{row['id']}", json={"done_on": "2019-06-04"})
    assert corrected.status_code == 200
    new = corrected.json()["completion"]
    assert new["replaces_id"] == row["id"]
    assert new["done_on"] == "2019-06-04"
    assert new["note"] == "Föräldramöte"
    undone = anna.delete(f"/api/v1/completions/{new['id']}")
    assert undone.status_code == 200
    assert undone.json()["completion"]["undone_by"] == "Anna Berg (anna)"
    again = anna.delete(f"/api/v1/completions/{new['id']}")
    assert again.status_code == 409
    assert again.json() == {"fel": f"Registrering {new['id']} är redan ångrad."}
    assert anna.patch(f"/api/v1/completions/{new['id']}", json={}).status_code == 422
    assert completions_count(world.engine) == 0


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"done_on": "2019-06-11"}, 422, "ligger i framtiden"),
        ({"done_on": "2019-13-01"}, 422, "done_on: inte ett datum (ÅÅÅÅ-MM-DD)"),
        ({"activity": "finns-inte"}, 404, "Okänd aktivitet 'finns-inte' i astorp-2019"),
        ({"entity": None}, 422, "räknas per högstadieskola: ange vilken"),
        ({"promise": "hagfors-2022"}, 404, "Finns inte."),
        ({"promise": "finns-inte"}, 404, "Finns inte."),
        ({"extra": 1}, 422, "extra: okänt fält"),
        ({"note": "x" * 2001}, 422, "note: för lång (högst 2000 tecken)"),
    ],
    ids=["future", "bad-date", "unknown-activity", "no-entity", "other-kommun", "unknown-promise", "extra", "long"],
)
def test_bad_input_is_a_4xx_with_a_swedish_message(
    anna: httpx.Client, world: World, change: dict[str, object], status: int, message: str
) -> None:
    response = anna.post("/api/v1/completions", json={**BJORK, **change})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["fel"]
    assert message in body["fel"]
    assert completions_count(world.engine) == 0


def test_malformed_bodies_never_give_a_500(anna: httpx.Client, world: World) -> None:
    bodies = [(b"{not json", "application/json"), (b"[1, 2]", "application/json"),
              (b"\xff\xfe", "application/json"), (b"promise=x", "application/x-www-form-urlencoded")]  # fmt: skip
    for content, kind in bodies:
        response = anna.post("/api/v1/completions", content=content, headers={"content-type": kind})
        assert 400 <= response.status_code < 500, content
        assert response.json()["fel"].startswith("Felaktiga uppgifter")
    assert anna.get("/api/v1/finns-inte").json() == {"fel": "Finns inte."}
    assert anna.put("/api/v1/completions/1", json={}).status_code == 405
    assert anna.delete("/api/v1/completions/999999").json() == {"fel": "Ingen registrering med nummer 999999."}
    assert anna.delete("/api/v1/completions/abc").status_code == 422
    assert completions_count(world.engine) == 0


def test_authentication_key_session_and_csrf(server: Running, world: World) -> None:
    with server.client() as nobody:
        response = nobody.get("/api/v1/status")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Inte inloggad" in response.json()["fel"]
        forged = nobody.get("/api/v1/status", headers={"Authorization": "Bearer lofte_forged.key"})
        assert forged.status_code == 401
        assert forged.json() == {"fel": "API-nyckeln är ogiltig eller återkallad."}
    with server.client() as browser:
        login(browser)
        assert browser.get("/api/v1/status").status_code == 200
        no_header = browser.post("/api/v1/completions", json=BJORK)
        assert no_header.status_code == 403
        assert "X-CSRF-Token" in no_header.json()["fel"]
        token = browser.get("/oversikt").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert browser.post("/api/v1/completions", json=BJORK, headers={"X-CSRF-Token": token}).status_code == 201
    # Olle's key cannot reach Åstorp's completion; a new password revokes his keys
    key = api_key(server, "olle")
    with server.client() as olle:
        olle.headers["Authorization"] = f"Bearer {key}"
        assert olle.get("/api/v1/status").json()["quotas"][0]["kommun"] == "Hagfors"
        assert olle.get("/api/v1/completions?promise=astorp-2019").status_code == 404
        assert olle.delete("/api/v1/completions/1").status_code == 404
        with session_scope(world.engine) as session:
            user = session.exec(select(User).where(User.username == "olle")).one()
            set_password(session, user, "ett-nytt-lösenord-2", now=LOADED_AT, actor="test")
        assert olle.get("/api/v1/status").status_code == 401
    assert completions_count(world.engine) == 1


def test_openapi_schema_is_published(anna: httpx.Client) -> None:
    schema = anna.get("/api/v1/openapi.json").json()
    assert {"/status", "/completions", "/completions/{completion_id}"} <= set(schema["paths"])
