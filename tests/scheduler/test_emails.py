"""Composing reminder emails: Swedish wording, headers, golden messages, refused input.

Golden files in tests/golden/emails/: ``<case>.eml`` is the message as sent (CRLF made
LF; the MIME boundary, Date and Message-ID normalised), ``<case>.txt`` and
``<case>.html`` its decoded bodies for review. Regenerate with ``--force-regen``.
"""

from __future__ import annotations

import datetime as dt
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest

from scheduler.emails import DigestItem, EmailInputError, compose_digest, compose_escalation, parse_address
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "emails"
NOW = dt.datetime(2025, 11, 28, 6, 30, tzinfo=dt.UTC)  # Friday 07:30 in Stockholm
SENDER = "Löfte i Åstorp <lofte@astorp.example.se>"
BASE = "https://lofte.astorp.example.se"


def info_kvall(**overrides: object) -> DigestItem:
    fields: dict[str, object] = {
        "activity": "Informationskväll för vårdnadshavare",
        "entity": "Nyhemsskolan",
        "period_label": "höstterminen 2025",
        "done": 0,
        "required": 1,
        "state": "i fara",
        "period_end": dt.date(2025, 12, 19),
        "days_left": 21,
        "lov_days_left": 7,
        "planned": (dt.date(2025, 12, 3),),
        "done_url": f"{BASE}/klart/eyJwIjoiYXN0b3JwIn0.abc",
        "responsible": "Nyhemsskolans rektor",
    }
    return DigestItem(**{**fields, **overrides})  # type: ignore[arg-type]


def items() -> list[DigestItem]:
    return [
        info_kvall(),
        DigestItem(
            activity="Trygghetsvandring",
            entity="Bjuv",
            entity_preposition="i",
            period_label="2025",
            done=1,
            required=2,
            state="efter",
            period_end=dt.date(2025, 12, 31),
            days_left=33,
            lov_days_left=10,
            planned=(dt.date(2025, 12, 4), dt.date(2025, 12, 11)),
            done_url=f"{BASE}/klart/eyJwIjoiYmp1diJ9.def",
            responsible="Polisen, lokalpolisområde Klippan",
        ),
        DigestItem(
            activity="Föräldravandring",
            entity=None,
            period_label="november 2025",
            done=0,
            required=2,
            state="i fara",
            period_end=dt.date(2025, 11, 30),
            days_left=2,
            planned=(),
            responsible="Nyhemsskolans rektor",
        ),
    ]


def digest(**overrides: object) -> EmailMessage:
    fields: dict[str, object] = {
        "to": "rektor@nyhem.astorp.example.se",
        "unit_name": "Nyhemsskolans rektor",
        "items": items(),
        "feed_url": f"{BASE}/feeds/u-7f3a.ics",
        "dashboard_url": f"{BASE}/",
        "unsubscribe_url": f"{BASE}/avregistrera/u-7f3a",
        "now": NOW,
        "sender": SENDER,
        "key": "rektor@nyhem.astorp.example.se/2025-11-28/digest",
    }
    return compose_digest(**{**fields, **overrides})  # type: ignore[arg-type]


def escalation(**overrides: object) -> EmailMessage:
    fields: dict[str, object] = {
        "to": "samordnare@astorp.example.se",
        "coordinator_name": "Anna Andersson",
        "promise_name": "Medborgarlöfte Åstorp 2025",
        "items": [
            info_kvall(),
            info_kvall(
                entity="Björnekulla skola",
                period_label="vårterminen 2025",
                state="missad",
                period_end=dt.date(2025, 6, 30),
                days_left=0,
                lov_days_left=0,
                planned=(),
                done_url=None,
            ),
            items()[1],
        ],
        "dashboard_url": f"{BASE}/",
        "now": NOW,
        "sender": SENDER,
        "key": "samordnare@astorp.example.se/2025-11-28/escalation",
    }
    return compose_escalation(**{**fields, **overrides})  # type: ignore[arg-type]


def normalised(msg: EmailMessage) -> str:
    text = msg.as_bytes(policy=SMTP).decode("ascii").replace("\r\n", "\n")
    text = re.sub(r"={15}\d+==", "===============BOUNDARY==", text)
    text = re.sub(r"(?m)^Date: .*$", "Date: <normalised>", text)
    return re.sub(r"(?m)^Message-ID: .*$", "Message-ID: <normalised>", text)


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


# -- golden ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["digest", "escalation"])
def test_golden(case: str, file_regression: object) -> None:
    msg = digest() if case == "digest" else escalation()
    text, html = bodies(msg)
    check = file_regression.check  # type: ignore[attr-defined]
    check(normalised(msg), fullpath=GOLDEN / f"{case}.eml")
    check(f"Subject: {msg['Subject']}\n\n{text}", fullpath=GOLDEN / f"{case}.txt")
    check(html, fullpath=GOLDEN / f"{case}.html")


# -- wording --------------------------------------------------------------------------------------
def test_digest_says_what_is_missing_and_how_long_is_left() -> None:
    text, html = bodies(digest())
    assert (
        "Informationskväll för vårdnadshavare på Nyhemsskolan är inte genomförd än; "
        "höstterminen 2025 slutar om 3 veckor, varav en är lov." in text
    )
    assert "Trygghetsvandring i Bjuv: 1 av 2 genomförda; 2025 slutar om 5 veckor, varav en är lov." in text
    assert "Föräldravandring: ingen av 2 är genomförd än; november 2025 slutar om 2 dagar." in text
    assert "Planerade datum kvar: torsdag 4 december, torsdag 11 december." in text
    assert "Inga planerade datum kvar: lägg in ett datum i Löfte." in text
    assert f"Markera som genomförd: {BASE}/klart/eyJwIjoiYXN0b3JwIn0.abc" in text
    assert f'<a href="{BASE}/klart/eyJwIjoiYXN0b3JwIn0.abc">Markera som genomförd</a>' in html
    assert f"{BASE}/feeds/u-7f3a.ics" in text


@pytest.mark.parametrize(
    ("days_left", "lov_days_left", "phrase"),
    [
        (0, 0, "slutar i dag."),
        (1, 0, "slutar i morgon."),
        (6, 1, "slutar om 6 dagar, varav en är lovdag."),
        (13, 5, "slutar om 13 dagar, varav fem är lovdagar."),
        (14, 0, "slutar om 2 veckor."),
        (17, 2, "slutar om 2 veckor, varav två dagar är lov."),
        (21, 7, "slutar om 3 veckor, varav en är lov."),
        (70, 14, "slutar om 10 veckor, varav två är lov."),
    ],
)
def test_time_left_in_words(days_left: int, lov_days_left: int, phrase: str) -> None:
    item = info_kvall(days_left=days_left, lov_days_left=lov_days_left)
    text, _ = bodies(digest(items=[item]))
    assert f"höstterminen 2025 {phrase}" in text


def test_one_item_subject_names_it_and_many_count_them() -> None:
    assert digest(items=[info_kvall()])["Subject"] == (
        "Påminnelse: Informationskväll för vårdnadshavare på Nyhemsskolan, höstterminen 2025"
    )
    assert digest()["Subject"] == "Påminnelse: 3 aktiviteter i medborgarlöftet är inte klara"


def test_escalation_groups_by_responsible_and_counts_missed() -> None:
    msg = escalation()
    assert msg["Subject"] == "Eskalering: 3 aktiviteter i fara eller missade i Medborgarlöfte Åstorp 2025"
    text, _ = bodies(msg)
    assert "De ansvariga har fått påminnelser, men 1 har redan missats." in text
    assert text.index("Nyhemsskolans rektor\n") < text.index("Polisen, lokalpolisområde Klippan\n")
    assert (
        "- Informationskväll för vårdnadshavare på Björnekulla skola är inte genomförd; "
        "vårterminen 2025 slutade 30 juni 2025." in text
    )
    assert "List-Unsubscribe" not in msg
    only_missed = escalation(
        items=[info_kvall(state="missad", period_end=dt.date(2025, 6, 30), days_left=0, lov_days_left=0)]
    )
    assert only_missed["Subject"] == "Eskalering: 1 aktivitet missad i Medborgarlöfte Åstorp 2025"


# -- headers --------------------------------------------------------------------------------------
def test_headers() -> None:
    msg = digest()
    assert msg["From"] == "Löfte i Åstorp <lofte@astorp.example.se>"
    assert msg["To"] == "Nyhemsskolans rektor <rektor@nyhem.astorp.example.se>"
    assert msg["Date"] == "Fri, 28 Nov 2025 07:30:00 +0100"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Content-Language"] == "sv"
    assert msg["List-Unsubscribe"] == f"<{BASE}/avregistrera/u-7f3a>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<lofte\.[0-9a-f]{32}@astorp\.example\.se>", msg["Message-ID"])
    assert digest()["Message-ID"] == msg["Message-ID"]  # same decision key, same Message-ID
    assert digest(key="another")["Message-ID"] != msg["Message-ID"]
    unkeyed = {digest(key=None)["Message-ID"] for _ in range(3)}
    assert len(unkeyed) == 3
    assert all(m.endswith("@astorp.example.se>") for m in unkeyed)


def test_wire_form_is_ascii_with_encoded_subject_and_parses_back() -> None:
    raw = digest().as_bytes(policy=SMTP)
    assert raw.isascii()
    assert b"\r\nSubject: =?utf-8?" in raw
    back = message_from_bytes(raw, policy=default)
    assert back["Subject"] == "Påminnelse: 3 aktiviteter i medborgarlöftet är inte klara"
    assert back["From"].addresses[0].display_name == "Löfte i Åstorp"
    assert back.get_content_type() == "multipart/alternative"


def test_date_header_follows_dst() -> None:
    summer = digest(now=dt.datetime(2025, 6, 2, 5, 0, tzinfo=dt.UTC))
    assert summer["Date"] == "Mon, 02 Jun 2025 07:00:00 +0200"


def test_idn_domain_is_written_in_ascii() -> None:
    address = parse_address("Åre kommun <lofte@åre.se>", what="avsändaren")
    assert (address.display_name, address.addr_spec) == ("Åre kommun", "lofte@xn--re-xia.se")
    msg = digest(sender="Löfte <lofte@åre.se>")
    assert msg["Message-ID"].endswith("@xn--re-xia.se>")
    assert msg.as_bytes(policy=SMTP).isascii()


# -- bad input -------------------------------------------------------------------------------------
INJECTIONS = ["Skolan\r\nBcc: alla@example.se", "Skolan\nBcc: alla@example.se", "Skolan\rX", "Skolan\x00"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_header_injection_in_the_unit_name_is_refused(value: str) -> None:
    with pytest.raises(EmailInputError, match=r"^mottagarens namn innehåller (en radbrytning|ett styrtecken)"):
        digest(unit_name=value)


@pytest.mark.parametrize(
    "address",
    [
        "rektor@nyhem.se\r\nBcc: alla@example.se",
        "rektor@nyhem.se\nTo: x@y.se",
        "rektor",
        "rektor@",
        "@nyhem.se",
        "rek tor@nyhem.se",
        "rektor@nyhem",
        "rektor@@nyhem.se",
        "räktor@nyhem.se",
        "rektor@-nyhem.se",
        "a@b.se, c@d.se",
        "",
    ],
)
def test_invalid_recipient_address_is_refused(address: str) -> None:
    with pytest.raises(EmailInputError, match=r"^mottagarens adress .*e-posten skickas inte\.$"):
        digest(to=address)


def test_message_says_what_and_where() -> None:
    with pytest.raises(EmailInputError) as info:
        digest(to="rektor@nyhem")
    assert str(info.value) == "mottagarens adress har ett ogiltigt domännamn ('rektor@nyhem'); e-posten skickas inte."
    with pytest.raises(EmailInputError, match=r"^avsändaren \(LOFTE_MAIL_FROM\) är ingen e-postadress"):
        digest(sender="Löfte")


@pytest.mark.parametrize("field", ["activity", "entity", "period_label", "state", "responsible"])
def test_injection_in_item_fields_is_refused(field: str) -> None:
    with pytest.raises(EmailInputError, match="innehåller en radbrytning"):
        info_kvall(**{field: "Namn\r\nBcc: alla@example.se"})


@pytest.mark.parametrize("field", ["feed_url", "dashboard_url", "unsubscribe_url"])
@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://x.se/\r\nBcc: a@b.se", "https://x.se/a b", "ftp://x.se"]
)
def test_bad_links_are_refused(field: str, url: str) -> None:
    with pytest.raises(EmailInputError):
        digest(**{field: url})
    with pytest.raises(EmailInputError):
        info_kvall(done_url=url)


def test_impossible_numbers_are_refused() -> None:
    with pytest.raises(EmailInputError, match="går inte ihop"):
        info_kvall(days_left=3, lov_days_left=5)
    with pytest.raises(EmailInputError, match="går inte ihop"):
        info_kvall(done=-1)


def test_empty_digest_and_naive_now_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        digest(items=[])
    with pytest.raises(ValueError, match="timezone-aware"):
        digest(now=dt.datetime(2025, 11, 28, 7, 0))  # noqa: DTZ001 (the point of the test)


def test_html_escapes_every_field() -> None:
    script = "<script>alert('x')</script>"
    item = info_kvall(activity=f"Kväll {script}", entity=f"Skola & {script}", state=f"i fara {script}")
    for msg in (
        digest(items=[item], unit_name=f"Rektor {script}"),
        escalation(items=[item.__class__(**{**_fields(item), "responsible": f"Enhet {script}"})]),
    ):
        text, html = bodies(msg)
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
        assert "Skola &amp; &lt;script&gt;" in html
        assert "<script>alert('x')</script>" in text  # plain text is not HTML


def _fields(item: DigestItem) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}
