"""Signed completion links: round trip, expiry, tampering, wrong or rotated keys."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import pytest
from itsdangerous.encoding import base64_decode, base64_encode

from rules.errors import NaiveDatetimeError
from scheduler.signing import LinkClaims, LinkExpired, LinkInvalid, sign_completion_link, verify

KEY = "en-hemlig-nyckel-som-är-lång-nog-0123456789"
NOW = dt.datetime(2025, 11, 3, 7, 0, 30, 123456, tzinfo=dt.UTC)


def token(**overrides: object) -> str:
    fields: dict[str, object] = {
        "promise": "astorp-2019",
        "activity": "informationskvall",
        "entity": "nyhemsskolan",
        "period_key": "2025-HT",
        "recipient": "kalle.karlsson@astorp.se",
        "now": NOW,
    }
    return sign_completion_link(KEY, **{**fields, **overrides})  # type: ignore[arg-type]


def test_roundtrip() -> None:
    claims = verify(KEY, token(), now=NOW)
    assert claims == LinkClaims(
        promise="astorp-2019",
        activity="informationskvall",
        entity="nyhemsskolan",
        period_key="2025-HT",
        recipient="kalle.karlsson@astorp.se",
        issued_at=dt.datetime(2025, 11, 3, 7, 0, 30, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 1, 2, 7, 0, 30, tzinfo=dt.UTC),
    )


def test_roundtrip_without_entity_and_with_a_local_now() -> None:
    local = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))
    claims = verify(KEY, token(entity=None, now=local), now=NOW)
    assert claims.entity is None
    assert claims.issued_at.tzinfo is dt.UTC


def test_token_is_url_safe_and_short() -> None:
    value = token()
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(value) < 300


def test_expires_after_the_given_days() -> None:
    value = token(expires_days=7)
    assert verify(KEY, value, now=NOW + dt.timedelta(days=6, hours=23)).period_key == "2025-HT"
    with pytest.raises(LinkExpired) as info:
        verify(KEY, value, now=NOW + dt.timedelta(days=7))
    assert info.value.expires_at == dt.datetime(2025, 11, 10, 7, 0, 30, tzinfo=dt.UTC)
    assert info.value.message == (
        "Länken gick ut den 10 november 2025. Öppna Löfte och markera aktiviteten där, eller vänta på nästa påminnelse."
    )


@pytest.mark.parametrize("position", [0, 10, 40, -5, -1])
def test_any_altered_character_is_invalid(position: int) -> None:
    value = token()
    char = value[position]
    altered = value[:position] + ("A" if char != "A" else "B") + value[position + 1 :]
    with pytest.raises(LinkInvalid, match=r"^Länken är ogiltig"):
        verify(KEY, altered, now=NOW)


def test_payload_swapped_into_another_signature_is_invalid() -> None:
    """Change the activity in the readable payload and keep the signature: refused."""
    value = token()
    payload, signature = value.rsplit(".", 1)
    compressed = payload.startswith(".")  # itsdangerous zlib-compresses when it pays off
    raw = base64_decode(payload.removeprefix("."))
    data = json.loads(zlib.decompress(raw) if compressed else raw)
    assert data["a"] == "informationskvall"
    data["a"], data["x"] = "annan-aktivitet", data["x"] + 10**8
    forged = base64_encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    with pytest.raises(LinkInvalid):
        verify(KEY, f"{forged}.{signature}", now=NOW)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "x" * 5000, "åäö.ÅÄÖ"])
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(LinkInvalid):
        verify(KEY, garbage, now=NOW)


def test_wrong_secret_is_invalid() -> None:
    with pytest.raises(LinkInvalid):
        verify("en-annan-nyckel-0123456789-abcdef", token(), now=NOW)


def test_rotated_keys_still_verify_old_links() -> None:
    old = token()
    new_key = "ny-nyckel-0123456789-0123456789-abc"
    assert verify([KEY, new_key], old, now=NOW).activity == "informationskvall"
    fresh = sign_completion_link(
        [KEY, new_key], promise="p", activity="a", entity=None, period_key="2025", recipient="x@y.se", now=NOW
    )
    with pytest.raises(LinkInvalid):
        verify(KEY, fresh, now=NOW)  # signed with the newest key only
    assert verify(new_key, fresh, now=NOW).promise == "p"


def test_signed_data_that_is_not_a_link_is_invalid() -> None:
    import hashlib

    from itsdangerous import URLSafeSerializer

    from scheduler.signing import SALT

    other = URLSafeSerializer(KEY, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}).dumps({"p": 1})
    with pytest.raises(LinkInvalid):
        verify(KEY, str(other), now=NOW)


def test_naive_now_and_bad_input_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        token(now=dt.datetime(2025, 11, 3, 7, 0))  # noqa: DTZ001 (the point of the test)
    with pytest.raises(NaiveDatetimeError):
        verify(KEY, token(), now=dt.datetime(2025, 11, 3, 7, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="expires_days"):
        token(expires_days=0)
    with pytest.raises(ValueError, match="not an email address"):
        token(recipient="ingen adress")
    with pytest.raises(ValueError, match="at least 16"):
        sign_completion_link(
            "kort", promise="p", activity="a", entity=None, period_key="k", recipient="x@y.se", now=NOW
        )
