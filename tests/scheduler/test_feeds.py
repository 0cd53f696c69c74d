"""Feed tokens (``scheduler.feeds``) and ``lofte feeds``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from scheduler.cli import main
from scheduler.db import FeedScope, FeedToken, Unit, session_scope
from scheduler.feeds import UnknownFeedError, ensure_feeds, list_feeds, looks_like_token, resolve, rotate
from scheduler.ical_feed import FeedTarget
from scheduler.store import hash_feed_token
from tests.scheduler.conftest import Seed

NOW = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)


def test_ensure_feeds_creates_one_per_unit_promise_and_kommun_once(engine: sa.Engine, seed: Seed) -> None:
    with session_scope(engine) as session:
        issued = ensure_feeds(session, now=NOW)
    assert sorted(f.info.scope.value for f in issued) == ["kommun", "promise", "unit", "unit"]
    assert all(looks_like_token(f.token) and len(f.token) >= 43 for f in issued)
    assert len({f.token for f in issued}) == 4
    with Session(engine) as session:
        rows = session.exec(select(FeedToken)).all()
        # only hashes are stored
        assert {r.token_hash for r in rows} == {hash_feed_token(f.token) for f in issued}
        assert not any(f.token in r.token_hash for r in rows for f in issued)
        for feed in issued:
            target = resolve(session, feed.token)
            assert target is not None
            assert target.scope is feed.info.scope
        assert resolve(session, issued[0].token[:-1] + ("A" if issued[0].token[-1] != "A" else "B")) is None
    with session_scope(engine) as session:
        assert ensure_feeds(session, now=NOW) == []  # nothing missing: nothing new
        names = [f.name for f in list_feeds(session)]
    assert names == [
        "Åstorp (hela kommunen)",
        "Medborgarlöfte Åstorp 2025",
        "Lokalpolisområde Klippan – Medborgarlöfte Åstorp 2025",
        "Åstorps kommun – Medborgarlöfte Åstorp 2025",
    ]


def test_a_new_unit_gets_a_feed_and_a_retired_one_does_not(engine: sa.Engine, seed: Seed) -> None:
    with session_scope(engine) as session:
        ensure_feeds(session, now=NOW)
        assert seed.promise.id is not None
        session.add(Unit(promise_id=seed.promise.id, key="skolan", name="Skolan"))
        session.add(Unit(promise_id=seed.promise.id, key="gammal", name="Gammal", retired_at=NOW))
        session.flush()
        issued = ensure_feeds(session, now=NOW)
    assert [f.info.name for f in issued] == ["Skolan – Medborgarlöfte Åstorp 2025"]


def test_rotate_replaces_the_token(engine: sa.Engine, seed: Seed) -> None:
    with session_scope(engine) as session:
        feed = ensure_feeds(session, now=NOW)[0]
        new = rotate(session, feed.info.id, now=NOW)
    with Session(engine) as session:
        assert resolve(session, feed.token) is None
        assert resolve(session, new) == FeedTarget(FeedScope.KOMMUN, kommun="Åstorp")
        assert [f.rotated_at for f in list_feeds(session) if f.id == feed.info.id] == [NOW]
        with pytest.raises(UnknownFeedError):
            rotate(session, 999_999, now=NOW)


def test_malformed_tokens_resolve_to_nothing(engine: sa.Engine) -> None:
    with Session(engine) as session:
        for token in ["", "a", "../../etc/passwd", "x" * 500, "ab cd" * 10, "å" * 43, "A" * 42 + "\0"]:
            assert resolve(session, token) is None, token


def test_lofte_feeds_lists_creates_and_rotates(
    engine: sa.Engine, seed: Seed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LOFTE_BASE_URL", "https://lofte.example.se")
    from scheduler.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["feeds", "--url", url]) == 0
        out = capsys.readouterr().out
        assert "Nya kalenderflöden (4); spara adresserna nu" in out
        assert out.count("https://lofte.example.se/feeds/") == 4
        assert out.count("webcal://lofte.example.se/feeds/") == 4
        assert "Kalenderflöden (4):" in out

        assert main(["feeds", "--url", url]) == 0
        out = capsys.readouterr().out
        assert "https://" not in out  # nothing new: no addresses (they are not stored)
        assert "enhet   Lokalpolisområde Klippan – Medborgarlöfte Åstorp 2025" in out

        with Session(engine) as session:
            feed_id = session.exec(select(FeedToken.id).where(FeedToken.scope == FeedScope.PROMISE)).one()
        assert main(["feeds", "--rotate", str(feed_id), "--url", url]) == 0
        out = capsys.readouterr().out
        assert f"Ny adress för Medborgarlöfte Åstorp 2025 (id {feed_id}); den gamla fungerar inte längre:" in out
        token = out.split("https://lofte.example.se/feeds/", 1)[1].split(".ics", 1)[0]
        with Session(engine) as session:
            assert resolve(session, token) == FeedTarget(FeedScope.PROMISE, promise_id=seed.promise.id)

        assert main(["feeds", "--rotate", "999999", "--url", url]) == 2
        assert "det finns inget kalenderflöde med id 999999" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_derived_tokens_can_be_rebuilt_from_the_secret_and_rotate(engine: sa.Engine, seed: Seed) -> None:
    """With the installation's secret a feed's address can be rebuilt (for reminder
    emails); the database alone still holds only hashes; rotating changes it."""
    from scheduler.feeds import feed_token, lookup, unit_feed_url

    secret = "s" * 40
    with Session(engine) as session:
        issued = ensure_feeds(session, now=NOW, secret=secret)
        session.commit()
        unit_feed = next(f for f in issued if f.info.scope is FeedScope.UNIT)
        row = session.get(FeedToken, unit_feed.info.id)
        assert row is not None
        assert unit_feed.token not in row.token_hash
        assert feed_token(row, secret=secret) == unit_feed.token
        assert feed_token(row, secret="another secret entirely, 40 chars long!") is None
        assert lookup(session, unit_feed.token) is not None
        url = unit_feed_url(session, row.unit_id, secret=secret, base_url="https://lofte.example.se")  # type: ignore[arg-type]
        assert url == f"https://lofte.example.se/feeds/{unit_feed.token}.ics"

        first = rotate(session, row.id, now=NOW, secret=secret)  # type: ignore[arg-type]
        second = rotate(session, row.id, now=NOW, secret=secret)  # type: ignore[arg-type]
        session.commit()
        assert len({unit_feed.token, first, second}) == 3
        assert lookup(session, unit_feed.token) is None
        assert lookup(session, first) is None
        assert feed_token(row, secret=secret) == second
