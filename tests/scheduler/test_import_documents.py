"""`lofte import` of documents written differently, of Word and PDF files, and of bad input.

The documents in tests/data/documents are written in other styles than the signed
seeds: a news item on a kommun's website, Markdown headings instead of markers, a
numbered list with "(Kommunen)" markers, an open-ended promise. Word and PDF files
are made here, with python-docx and with ``bench.bench_import.text_pdf`` (a real
PDF that pypdf reads back).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader, PdfWriter

from bench.bench_import import text_pdf
from scheduler.cli import main
from scheduler.doc_text import MAX_DOCUMENT_BYTES, DocumentError, document_text
from scheduler.importer import ImportResult, import_document
from tests.conftest import ROOT

DOCUMENTS = ROOT / "tests" / "data" / "documents"
TODAY = dt.date(2025, 1, 15)


def imported(name: str) -> ImportResult:
    path = DOCUMENTS / name
    return import_document(path.read_bytes(), filename=name, today=TODAY)


def by_key(result: ImportResult) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """key → (unit, partners, the rule's summary)."""
    return {a.key: (a.unit, a.partners, a.rule.to_json()["summary"].split(" (")[0]) for a in result.activities}


def review_text(result: ImportResult) -> str:
    return "\n".join(str(n) for n in result.review)


# -- other styles ---------------------------------------------------------------------------------
def test_news_item_on_a_kommun_website() -> None:
    result = imported("nyhet-sala.txt")
    assert (result.kommun, result.lan, result.police_area) == ("Sala", "Västmanland", None)
    assert (result.validity.start, result.validity.end) == (dt.date(2023, 3, 6), dt.date(2025, 12, 31))
    assert result.signed_on is None  # "Publicerad 7 mars 2023" is not a signature
    found = by_key(result)
    assert list(found) == [
        "perioden-lovar-polisen",
        "kommunen-ordna-tva",
        "faltassistenterna-vara-ute",
        "polisen-kommunen-dessutom",
    ]  # the quotation and the "Vill du veta mer?" are no activities
    assert found["perioden-lovar-polisen"] == ("polisen", (), "minst 4 gånger per månad")
    assert found["kommunen-ordna-tva"] == ("kommunen", ("polisen",), "2 gånger per termin")
    assert found["faltassistenterna-vara-ute"][0] == "fältgruppen"
    assert found["polisen-kommunen-dessutom"][:2] == ("polisen", ("kommunen",))
    assert "dokumentet namnger inget lokalpolisområde" in review_text(result)
    assert result.spec is not None
    assert {u.key: u.part_of for u in result.spec.units}["fältgruppen"] == "kommunen"


def test_headings_instead_of_markers() -> None:
    result = imported("rubriker-kiruna.md")
    assert (result.kommun, result.lan, result.police_area) == ("Kiruna", "Norrbotten", "Kiruna")
    # "fram till halvårsskiftet 2025", counted from the last signature
    assert result.signed_on == dt.date(2024, 2, 5)
    assert (result.validity.start, result.validity.end) == (dt.date(2024, 2, 5), dt.date(2025, 6, 30))
    assert "startdagen 2024-02-05 är antagen (sista underskriften)" in review_text(result)
    units = {a.key: a.unit for a in result.activities}
    assert units == {
        "polisen-besoker-kommunens": "polisen",
        "riktade-insatser-skadegorelse": "polisen",
        "narvaro-skolornas-avslutningar": "polisen",
        "forbattrad-belysning-gangtunnlarna": "kommunen",
        "faltgruppen-ar-ute": "kommunen",
    }  # the Bakgrund section's "unga ska kunna känna sig trygga" is no activity
    assert [e.name for e in result.entities] == [f"Fritidsgård {n} (namnge)" for n in (1, 2, 3)]
    assert result.activities[0].entity_kind == "fritidsgård"
    belysning = next(a for a in result.activities if a.key == "forbattrad-belysning-gangtunnlarna")
    assert belysning.rule.deadline == dt.date(2024, 10, 31)
    assert belysning.tracked


def test_numbered_list_with_markers_in_parentheses() -> None:
    result = imported("numrerad-ystad.txt")
    assert (result.kommun, result.police_area, result.signed_on) == ("Ystad", "Ystad", dt.date(2024, 1, 22))
    # "under två (2) år framåt från det att de tecknas", from the last signature
    assert (result.validity.start, result.validity.end) == (dt.date(2024, 1, 22), dt.date(2026, 1, 21))
    found = by_key(result)
    assert [v[0] for v in found.values()] == ["kommunen", "kommunen", "polisen", "kommunen"]
    assert found["genomfora-10-gemensamma"][1] == ("polisen",)
    assert found["halla-ssp-moten"][2] == "1 gång varannan månad"
    assert not next(a for a in result.activities if a.key == "erbjuda-foraldravandringar-behov").tracked
    assert "namnge de 4 verksamheterna av sorten skola" in review_text(result)  # "kommunens fyra grundskolor"


def test_open_ended_promise_gets_one_year_and_a_review_item() -> None:
    result = imported("tills-vidare-boden.txt")
    assert (result.validity.start, result.validity.end) == (TODAY, dt.date(2026, 1, 14))
    assert "löftet gäller tills vidare: Löfte har antagit ett år" in review_text(result)
    assert [a.unit for a in result.activities] == ["polisen", "polisen", "kommunen"]  # "X lovar att:" headings


def test_missing_validity_is_assumed_and_flagged() -> None:
    text = "Medborgarlöfte Lunds kommun\n\nPolisen ska genomföra minst två trygghetsvandringar per månad.\n"
    result = import_document(text.encode(), filename="utan-datum.txt", today=TODAY)
    assert (result.validity.start, result.validity.end) == (TODAY, dt.date(2026, 1, 14))
    assert "dokumentet anger ingen giltighetstid" in review_text(result)
    assert result.spec is not None


# -- Word and PDF ---------------------------------------------------------------------------------
def _docx() -> bytes:
    document = Document()
    document.add_heading("Medborgarlöfte Hässleholms kommun 2025", level=1)
    document.add_paragraph("Medborgarlöftet gäller från 2025-02-01 till 2026-01-31.")
    document.add_heading("Polisen lovar att:", level=2)
    item = document.add_paragraph(style="List Bullet")
    item.add_run("Trygghetsskapande närvaro i centrum.").bold = True
    item.add_run(" Minst 3 kvällar per månad.")
    document.add_paragraph(
        "Besöka kommunens två högstadieskolor minst en gång per termin och högstadieskola.", style="List Bullet"
    )
    document.add_heading("Kommunen lovar att:", level=2)
    document.add_paragraph("Ordna två föräldramöten om droger per läsår.", style="List Number")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Hässleholm 2025-01-20"
    table.rows[0].cells[1].text = "Lokalpolisområde Hässleholm"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_document_with_lists_bold_lead_and_a_table() -> None:
    data = _docx()
    text = document_text(data, filename="lofte.docx")
    assert "- **Trygghetsskapande närvaro i centrum.** Minst 3 kvällar per månad." in text
    result = import_document(data, filename="lofte.docx", today=TODAY)
    assert (result.kommun, result.lan, result.police_area) == ("Hässleholm", "Skåne", "Hässleholm")
    assert (result.validity.start, result.validity.end) == (dt.date(2025, 2, 1), dt.date(2026, 1, 31))
    found = by_key(result)
    assert [(v[0], v[2]) for v in found.values()] == [
        ("polisen", "minst 3 gånger per månad"),
        ("polisen", "minst 1 gång per termin och högstadieskola"),
        ("kommunen", "2 gånger per läsår"),
    ]
    assert len(result.entities) == 2
    assert result.spec is not None


def test_pdf_of_a_seed_gives_the_same_activities_as_its_text(shared_dir: Path) -> None:
    text = (shared_dir / "seeds" / "000_d80146badab45a3d.txt").read_text(encoding="utf-8")
    from_text = import_document(text.encode(), filename="astorp.txt", today=TODAY)
    from_pdf = import_document(text_pdf(text, width=80), filename="astorp.pdf", today=TODAY)
    assert [(a.sentence, a.unit) for a in from_pdf.activities] == [(a.sentence, a.unit) for a in from_text.activities]
    assert from_pdf.validity == from_text.validity
    for activity in from_pdf.activities:  # wrapped lines: one span per line, in the PDF's text
        assert " ".join(from_pdf.source_text[a:b] for a, b in activity.spans) == activity.sentence


# -- bad input ------------------------------------------------------------------------------------
def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("Medborgarlöfte Åstorps kommun"))))
    writer.encrypt(user_password="hemligt", owner_password="ägare", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _image_only_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("tom.txt", b"", "tom.txt: filen är tom"),
        ("tom.pdf", b"   \n", "tom.pdf: filen är tom"),
        ("skannad.pdf", _image_only_pdf(), "skannad.pdf: PDF-filen innehåller ingen text, bara bilder"),
        ("hemlig.pdf", _encrypted_pdf(), "hemlig.pdf: PDF-filen är lösenordsskyddad"),
        ("trasig.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "trasig.pdf: PDF-filen är skadad"),
        ("trasig.docx", b"PK\x03\x04 inte en zip", "trasig.docx: filen är inte ett Word-dokument"),
        ("gammal.doc", b"\xd0\xcf\x11\xe0", "gammal.doc: det gamla Word-formatet .doc kan inte läsas"),
        ("bild.png", b"\x89PNG", "bild.png: filformatet .png kan inte läsas: Löfte läser .txt, .md, .docx, .pdf"),
        ("recept.txt", "Kanelbullar\n\nBlanda mjölet med smöret.".encode(), "recept.txt: dokumentet ser inte ut som"),
        (
            "ingen-kommun.txt",
            "Medborgarlöfte\n\nPolisen ska genomföra minst två insatser per månad.".encode(),
            "ingen-kommun.txt: hittar ingen kommun i dokumentet",
        ),
        (
            "inga-aktiviteter.txt",
            "Medborgarlöfte Lunds kommun\n\nPolisen och kommunen samarbetar.".encode(),
            "inga-aktiviteter.txt: hittar inga aktiviteter i dokumentet",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v and len(v) < 25 else "",
)
def test_bad_input_is_refused_in_swedish(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(DocumentError) as caught:
        import_document(data, filename=filename, today=TODAY)
    assert str(caught.value).startswith(message)


def test_too_large_a_document_is_refused_before_reading() -> None:
    with pytest.raises(DocumentError, match=r"stor\.txt: filen är för stor \(21 MB; högst 20 MB\)"):
        import_document(b"x" * (MAX_DOCUMENT_BYTES + 1024 * 1024), filename="stor.txt", today=TODAY)


# -- the command line -----------------------------------------------------------------------------
def test_cli_writes_the_draft_and_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    source = DOCUMENTS / "numrerad-ystad.txt"
    assert main(["import", str(source)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Utkast sparat: ystad-2024.yaml (4 aktiviteter")
    assert "Behöver granskas (" in out
    written = (tmp_path / "ystad-2024.yaml").read_text(encoding="utf-8")
    assert written.startswith("# UTKAST: Medborgarlöfte Ystad 2024–2026")
    assert main(["check", "ystad-2024.yaml"]) == 0
    capsys.readouterr()

    (tmp_path / "ystad-2024.yaml").write_text("mitt eget arbete\n", encoding="utf-8")
    assert main(["import", str(source)]) == 2
    assert "ystad-2024.yaml finns redan" in capsys.readouterr().err
    assert (tmp_path / "ystad-2024.yaml").read_text(encoding="utf-8") == "mitt eget arbete\n"
    assert main(["import", str(source), "--force"]) == 0
    assert (tmp_path / "ystad-2024.yaml").read_text(encoding="utf-8") == written
    assert main(["import", str(source), "-o", "annat.yaml", "--today", "2024-05-01"]) == 0
    assert (tmp_path / "annat.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annat.yaml", "ystad-2024.yaml"]  # no temp files left


def test_cli_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "skannad.pdf").write_bytes(_image_only_pdf())
    assert main(["import", "skannad.pdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lofte: skannad.pdf: PDF-filen innehåller ingen text")
    assert "(inget utkast skrevs)" in err
    huge = tmp_path / "stor.pdf"
    with huge.open("wb") as handle:  # 50 MB, sparse: refused by its size before it is read
        handle.truncate(50 * 1024 * 1024)
    assert main(["import", "stor.pdf"]) == 2
    assert "stor.pdf: filen är för stor (50 MB; högst 20 MB)" in capsys.readouterr().err
    assert main(["import", "finns-inte.txt"]) == 2
    assert "finns-inte.txt: filen finns inte" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skannad.pdf", "stor.pdf"]
