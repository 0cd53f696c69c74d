"""The coordinator's whole flow in a real headless Chromium, against uvicorn on loopback.

Log in, see the warning for a quota at risk, open the activity, mark it done with the
form, see the warning clear, and fetch the responsible unit's calendar feed: the
event is shown done. Playwright drives Debian's Chromium (``/usr/bin/chromium``), no
browser download; without it ``need_service`` skips (locally) or fails (CI).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import icalendar
import pytest
import sqlalchemy as sa

from scheduler.db import make_engine, upgrade
from scheduler.feeds import FeedScope
from tests.scheduler.test_web_dashboard import PASSWORD, WARNING, Running, World, make_world, serve

pytestmark = pytest.mark.browser



@pytest.fixture
def world(tmp_path: Path) -> World:
    engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(tmp_path / "lofte.sqlite3")))
    upgrade(engine)
    return make_world(engine, tmp_path)


@pytest.fixture
def server(world: World) -> Iterator[Running]:
    with serve(world) as running:
        yield running
    world.engine.dispose()


def _feed_events(server: Running, world: World) -> list[icalendar.Event]:
    events = []
    for feed in world.feeds:
        if feed.info.scope is FeedScope.UNIT and feed.info.kommun == "Åstorp":
            body = httpx.get(server.base + feed.path, timeout=20).content
            for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
                summary = str(event["SUMMARY"])
                if "Informationskvällar" in summary and "Björkskolan" in summary:
                    events.append(event)
    return events


def test_log_in_see_the_warning_mark_it_done_and_the_feed_shows_it(
    browser: object, server: Running, world: World
) -> None:
    before = _feed_events(server, world)
    assert before, "the unit feed has the information evening at Björkskolan"
    assert not any(str(e["SUMMARY"]).startswith("✔ Genomförd") for e in before)

    context = browser.new_context(locale="sv-SE")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.base + "/oversikt")
    assert "/logga-in" in page.url  # not logged in yet
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill("fel-lösenord-123")
    page.get_by_role("button", name="Logga in").click()
    assert page.get_by_role("alert").inner_text() == "Fel användarnamn eller lösenord."
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/oversikt")

    warnings = page.locator("ul.warnings")
    assert WARNING in warnings.inner_text()
    page.get_by_role("link", name=WARNING, exact=False).first.click()
    page.wait_for_url("**/aktiviteter/informationskvallar")
    assert page.get_by_label("Datum").input_value() == "2019-06-10"  # today, the app's clock
    page.get_by_label("Datum").fill("2019-06-05")
    page.get_by_label("Var").select_option(label="Björkskolan")
    page.get_by_label("Anteckning (valfri)").fill("<b>Föräldramöte</b> i aulan")
    page.get_by_role("button", name="Registrera som genomförd").click()
    assert "Registrerat: genomförd 5 juni 2019." in page.get_by_role("status").inner_text()
    assert "<b>Föräldramöte</b> i aulan" in page.locator("td.note").first.inner_text()  # shown as text

    page.get_by_role("link", name="Översikt").first.click()
    page.wait_for_url("**/oversikt")
    assert WARNING not in page.locator("ul.warnings").inner_text()
    assert "Ekskolan, vårterminen 2019: 0 av 1" in page.locator("ul.warnings").inner_text()
    context.close()

    after = _feed_events(server, world)
    done = [e for e in after if str(e["SUMMARY"]).startswith("✔ Genomförd")]
    assert len(done) == 1
    assert done[0]["DTSTART"].dt.date() <= dt.date(2019, 6, 30)
    assert "Status: genomförd" in str(done[0]["DESCRIPTION"])
