"""Importing a signed medborgarlöfte in a real headless Chromium, against uvicorn on loopback.

Log in, upload the Åstorp seed, follow an activity's link to its mark in the source,
correct the police unit's email, save, and land on the promise's page; the database
holds the corrected address. Playwright drives Debian's Chromium (no browser
download); without it ``need_service`` skips (locally) or fails (CI).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from scheduler.auth import add_user
from scheduler.config import load_settings
from scheduler.db import Promise, Unit, make_engine, session_scope, upgrade
from tests.scheduler.test_web_dashboard import PASSWORD, Running, World, serve

pytestmark = pytest.mark.browser

NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
SEED = "000_d80146badab45a3d.txt"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Running, sa.Engine]]:
    engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(tmp_path / "lofte.sqlite3")))
    upgrade(engine)
    with session_scope(engine) as session:
        add_user(session, username="anna", name="Anna Berg", password=PASSWORD, now=NOW, kommuner=["Åstorp"])
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path), "LOFTE_SECRET_KEY": "k" * 40})
    with serve(World(engine, settings, [], tmp_path), now=NOW) as running:
        yield running, engine
    engine.dispose()


def test_upload_a_seed_correct_an_email_and_save(
    browser: object, site: tuple[Running, sa.Engine], shared_dir: Path, tmp_path: Path
) -> None:
    server, engine = site
    context = browser.new_context(locale="sv-SE")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.base + "/importera")
    assert "/logga-in" in page.url
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/importera")

    page.get_by_label("Dokument").set_input_files(str(shared_dir / "seeds" / SEED))
    page.get_by_role("button", name="Gör utkast").click()
    page.wait_for_url("**/importera")
    assert page.get_by_role("heading", level=1).inner_text() == f"Utkast ur {SEED}"
    marks = page.locator(".source mark")
    assert marks.count() >= 14
    # the activity list links to the activity's words in the source
    page.locator("ol.found a[href='#kalla-informationskvallar-vardnadshavare']").click()
    target = page.locator("mark:target")
    assert target.get_attribute("id") == "kalla-informationskvallar-vardnadshavare"
    assert target.inner_text().startswith("Informationskvällar för vårdnadshavare")
    page.screenshot(path=str(tmp_path / "utkast.png"), full_page=False)

    polisen = page.locator("[data-enhet='polisen']")
    polisen.get_by_label("E-post").fill("polisen.klippan@example.se")
    page.get_by_role("button", name="Spara som löfte").click()
    page.wait_for_url("**/loften/astorp-2019")
    assert page.get_by_role("heading", level=1).inner_text() == "Medborgarlöfte Åstorp 2019"
    assert "sparades som nytt löfte: 14 aktiviteter" in page.get_by_role("status").inner_text()
    assert page.get_by_role("link", name="Informationskvällar för vårdnadshavare", exact=False).count() == 1
    context.close()

    with Session(engine) as session:
        promise = session.exec(select(Promise)).one()
        unit = session.exec(select(Unit).where(Unit.promise_id == promise.id, Unit.key == "polisen")).one()
        assert unit.email == "polisen.klippan@example.se"
    assert (tmp_path / "promises" / "astorp-2019.yaml").is_file()
