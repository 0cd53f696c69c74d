"""``/importera`` with documents that need no database: Word, PDF, pasted text, bad input,
escaping, login and CSRF on the upload, and the page's pure helpers (SQLite only).

The server is real (uvicorn on loopback, ``tests.scheduler.test_web_dashboard.serve``);
Anna is logged in once for the module. Saving, on SQLite and PostgreSQL, is in
``test_web_import.py``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from bench.bench_import import text_pdf
from scheduler.auth import add_user
from scheduler.config import load_settings
from scheduler.db import Promise, make_engine, session_scope, upgrade
from scheduler.web.import_page import _ItemKey, apply_edits, source_segments
from scheduler.yaml_lines import load_with_lines
from tests.scheduler.test_import_documents import _docx, _encrypted_pdf, _image_only_pdf
from tests.scheduler.test_web_dashboard import PASSWORD, Running, World, field, login, serve
from tests.scheduler.test_web_import import NOW, SEEDS, upload


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, sa.Engine, Path]]:
    data_dir = tmp_path_factory.mktemp("data")
    engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(data_dir / "lofte.sqlite3")))
    upgrade(engine)
    with session_scope(engine) as session:
        add_user(session, username="anna", name="Anna Berg", password=PASSWORD, now=NOW, kommuner=["Åstorp"])
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(data_dir), "LOFTE_SECRET_KEY": "k" * 40})
    with serve(World(engine, settings, [], data_dir), now=NOW) as running:
        yield running, engine, data_dir
    engine.dispose()


@pytest.fixture(scope="module")
def anna(site: tuple[Running, sa.Engine, Path]) -> Iterator[httpx.Client]:
    with site[0].client() as client:
        assert login(client, "anna").status_code == 303
        yield client


def nothing_saved(site: tuple[Running, sa.Engine, Path]) -> bool:
    with Session(site[1]) as session:
        count = session.exec(select(func.count()).select_from(Promise)).one()
    return count == 0 and not list((site[2] / "promises").glob("*"))


def test_not_logged_in_goes_to_the_login(site: tuple[Running, sa.Engine, Path]) -> None:
    with site[0].client() as client:
        response = client.get("/importera")
        assert response.status_code == 303
        assert response.headers["location"] == "/logga-in?nasta=%2Fimportera"
        for path in ("/importera", "/importera/spara"):  # a lapsed session comes back to the form
            response = client.post(path, data={"yaml": "x"})
            assert response.status_code == 303
            assert response.headers["location"] == "/logga-in?nasta=%2Fimportera"


def test_word_pdf_and_pasted_text_give_drafts(anna: httpx.Client, shared_dir: Path) -> None:
    text = (shared_dir / "seeds" / SEEDS["astorp-2019"]).read_text(encoding="utf-8")
    word = upload(anna, "lofte.docx", _docx())
    assert word.status_code == 200
    assert "Utkast ur lofte.docx" in word.text
    assert '<mark id="kalla-trygghetsskapande-narvaro-centrum"' in word.text
    pdf = upload(anna, "astorp.pdf", text_pdf(text, width=80))
    assert pdf.status_code == 200
    assert '<mark id="kalla-informationskvallar-vardnadshavare"' in pdf.text
    csrf = field(anna.get("/importera").text, "csrf")
    pasted = anna.post("/importera", data={"csrf": csrf, "text": text}, files={"dokument": ("", b"")})
    assert pasted.status_code == 200
    assert "Utkast ur inklistrad text" in pasted.text
    assert '<mark id="kalla-informationskvallar-vardnadshavare"' in pasted.text


def test_an_upload_without_csrf_is_refused(anna: httpx.Client, site: tuple[Running, sa.Engine, Path]) -> None:
    refused = upload(anna, "lofte.docx", _docx(), csrf="")
    assert refused.status_code == 403
    assert "Formuläret har gått ut. Ladda om sidan och försök igen." in refused.text
    assert "<mark" not in refused.text


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("tom.txt", b"", 422, "tom.txt: filen är tom"),
        ("skannad.pdf", _image_only_pdf(), 422, "skannad.pdf: PDF-filen innehåller ingen text, bara bilder"),
        ("hemlig.pdf", _encrypted_pdf(), 422, "hemlig.pdf: PDF-filen är lösenordsskyddad"),
        ("recept.txt", "Kanelbullar\n\nBlanda mjölet.".encode(), 422, "recept.txt: dokumentet ser inte ut som"),
        ("bild.png", b"\x89PNG", 422, "bild.png: filformatet .png kan inte läsas"),
        ("stor.pdf", None, 413, "Filen är för stor (50 MB; högst 20 MB)"),
    ],
    ids=["tom", "skannad", "losenord", "inte-ett-lofte", "bild", "50MB"],
)
def test_bad_input_gets_the_swedish_message_and_saves_nothing(  # noqa: PLR0917 - parameters and fixtures
    name: str, data: bytes | None, status: int, message: str, anna: httpx.Client, site: tuple[Running, sa.Engine, Path]
) -> None:
    refused = upload(anna, name, b"%" * (50 * 1024 * 1024) if data is None else data)
    assert refused.status_code == status
    shown = html.unescape(re.search(r'<p class="error" role="alert" id="fel">(.*?)</p>', refused.text).group(1))
    assert shown.startswith(message), shown
    assert "Traceback" not in refused.text
    assert nothing_saved(site)


def test_a_body_without_length_stops_being_read_past_the_limit(anna: httpx.Client) -> None:
    csrf = field(anna.get("/importera").text, "csrf")

    def body() -> Iterator[bytes]:
        yield (f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b\r\n'
               'Content-Disposition: form-data; name="dokument"; filename="stor.txt"\r\n\r\n').encode()  # fmt: skip
        for _ in range(40):
            yield b"a" * (1024 * 1024)
        yield b"\r\n--b--\r\n"

    refused = anna.post("/importera", content=body(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert refused.status_code == 413
    assert "Filen är för stor (mer än 20 MB; högst 20 MB)" in html.unescape(refused.text)
    empty = anna.post("/importera", data={"csrf": csrf, "text": "  "}, files={"dokument": ("", b"")})
    assert empty.status_code == 400
    assert "Välj ett dokument att ladda upp, eller klistra in texten." in empty.text


def test_script_in_a_document_is_shown_as_text(anna: httpx.Client) -> None:
    document = (
        "Medborgarlöfte Åstorps kommun 2019 <script>alert('källa')</script>\n\n"
        "Polisen lovar att:\n\n"
        "- Genomföra trygghetsvandringar <script>alert(1)</script> minst två gånger per termin.\n"
        '- Besöka skolorna <img src=x onerror="alert(2)"> en gång per månad.\n'
    )
    page = upload(anna, "farlig.txt", document.encode())
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=" in page.text


# -- the pure helpers -----------------------------------------------------------------------------------
def test_apply_edits_keeps_comments_and_adds_missing_keys() -> None:
    text = (
        "# head\n"
        "title: Gammal  # kommentar\n"
        "validity: {start: 2019-01-01, end: 2019-12-31}\n"
        "units:\n"
        "  - key: polisen\n"
        "    name: |\n"
        "      Polisen\n"
        "  - {key: kommunen, name: Kommunen}\n"
        "activities:\n"
        "  - key: a\n"
        "    unit:\n"
        "    tracked: false\n"
    )
    edited = apply_edits(
        text,
        [
            (("title",), "Ny: titel"),
            (("validity", "end"), "2020-06-30"),
            (("units", _ItemKey("polisen"), "email"), "p@example.se"),
            (("units", _ItemKey("polisen"), "name"), "Lpo Klippan"),
            (("units", _ItemKey("kommunen"), "email"), "k@example.se"),
            (("activities", _ItemKey("a"), "unit"), "kommunen"),
            (("activities", _ItemKey("a"), "tracked"), True),
        ],
    )
    assert edited.startswith('# head\ntitle: "Ny: titel"  # kommentar\n')
    assert load_with_lines(edited).data == {
        "title": "Ny: titel",
        "validity": {"start": "2019-01-01", "end": "2020-06-30"},
        "units": [
            {"key": "polisen", "name": "Lpo Klippan", "email": "p@example.se"},
            {"key": "kommunen", "name": "Kommunen", "email": "k@example.se"},
        ],
        "activities": [{"key": "a", "unit": "kommunen", "tracked": "true"}],
    }
    two = apply_edits("a:\n  b: 1\n", [(("a", "c"), "3"), (("a", "d"), "4")])
    assert two == 'a:\n  b: 1\n  c: "3"\n  d: "4"\n'  # two keys added at one place keep their order
    with pytest.raises(ValueError, match="'saknas' finns inte längre under units"):
        apply_edits(text, [(("units", _ItemKey("saknas"), "email"), "x@example.se")])


def test_source_segments_cover_the_text_once() -> None:
    text = "Inledning. Polisen ska patrullera\nvarje vecka. Slut."
    segments = source_segments(text, [("patrull", [(11, 33), (34, 46)]), ("krock", [(20, 40)])])
    assert "".join(s.text for s in segments) == text
    assert [(s.text, s.anchor) for s in segments if s.anchor] == [
        ("Polisen ska patrullera", "kalla-patrull"),
        ("\nvarje ", "kalla-krock"),  # an overlap is clipped to what is left
        ("vecka.", "kalla-patrull-2"),
    ]
