"""Benchmark: `lofte import` of a 10-page document (about 30,000 characters), as .txt and as .pdf.

The document is the Åstorp seed padded with realistic prose and repeated activity
sections (other topics, same style) to ten A4 pages; the PDF is written by
``text_pdf`` (Helvetica 10 pt, 58 lines a page), a real PDF that pypdf reads back.
Goal (issue 7): ≤ 1 s per document. Baseline measured in the same run: reading the
same text with ``doc_text`` alone and parsing every sentence with ``parse_sv``.

    .venv/bin/python -m bench.bench_import [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import textwrap
import time
from pathlib import Path

__all__ = ["padded_document", "text_pdf"]

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
TODAY = dt.date(2025, 1, 15)

_PROSE = (
    "Trygghetsmätningen visar att invånarna i de centrala delarna av kommunen upplever en ökad oro för "
    "narkotikaförsäljning och för ungdomsgäng som samlas kvällstid vid busstationen och köpcentrumet. "
    "Polisen och kommunen har gått igenom anmälningsstatistiken, skolornas rapporter och fältassistenternas "
    "iakttagelser, och bilden stämmer med vad medborgarna berättade vid dialogmötena under hösten. "
    "Samverkan mellan skola, socialtjänst, fritid och polis är en förutsättning för att tidigt upptäcka unga "
    "i riskzonen och för att insatserna ska göra skillnad över tid."
)
_TOPICS = (
    "trafiksäkerhet",
    "skadegörelse",
    "otrygghet i centrum",
    "langning av alkohol",
    "nätmobbning",
    "inbrott i villaområden",
    "ungdomsbrottslighet",
    "droger i skolmiljön",
)


def padded_document(target_chars: int = 30_000) -> str:
    """The Åstorp seed padded to about ``target_chars`` with background prose and activity sections."""
    seed = (SEEDS / "000_d80146badab45a3d.txt").read_text(encoding="utf-8")
    parts = [seed.strip()]
    n = 0
    while sum(len(p) for p in parts) < target_chars:
        topic = _TOPICS[n % len(_TOPICS)]
        parts.append(f"Problembild {topic}\n\n{_PROSE}\n\n{_PROSE}")
        parts.append(
            f"Lokalpolisområde Klippan kommer att arbeta med {topic} enligt nedan:\n\n"
            f" • Genomföra minst {2 + n % 3} riktade insatser mot {topic} per månad.\n"
            f" • Föreläsningar för högstadieelever om {topic}. Minst en gång per termin och högstadieskola.\n"
            f" • Arbeta kontinuerligt med {topic} tillsammans med kommunens förvaltningar.\n\n"
            f"Åstorp kommun kommer att arbeta med {topic} enligt nedan:\n\n"
            f" • Informationskvällar för vårdnadshavare om {topic}, två gånger per termin.\n"
            f" • Trygghetsvandringar i centrum minst {3 + n % 4} gånger per år tillsammans med polisen.\n"
        )
        n += 1
    return "\n\n".join(parts) + "\n"


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf(text: str, *, width: int = 95, lines_per_page: int = 58) -> bytes:
    """A real, minimal PDF of ``text`` (Helvetica, WinAnsi): lines wrapped at ``width`` characters."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, width=width, subsequent_indent="") or [""])
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    objects: list[bytes] = [
        b"",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page in pages:
        body = b"BT /F1 10 Tf 13 TL 50 800 Td " + b" ".join(_pdf_string(line) + b" Tj T*" for line in page) + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % content
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe5\xe4\xf6\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _best(runs: list[float]) -> float:
    return min(runs)


def main() -> None:
    from rules import parse_sv  # noqa: PLC0415 - keep `python -m bench.bench_import --help` light
    from scheduler import importer  # noqa: PLC0415
    from scheduler.doc_text import document_text  # noqa: PLC0415
    from scheduler.import_text import blocks, sentences  # noqa: PLC0415
    from scheduler.importer import import_document  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    text = padded_document()
    documents = {"txt": text.encode("utf-8"), "pdf": text_pdf(text)}
    pages = len(text_pdf(text).split(b"/Type /Page ")) - 1
    print(f"document: {len(text)} characters, {pages} A4 pages as PDF ({len(documents['pdf'])} bytes)")
    for ext, data in documents.items():
        name = f"bench.{ext}"
        import_runs, baseline_runs = [], []
        result = None
        for _ in range(args.repeat):
            importer._parsed.cache_clear()
            start = time.perf_counter()
            result = import_document(data, filename=name, today=TODAY)
            import_runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = document_text(data, filename=name)
            for block in blocks(plain):
                for a, b in sentences(block.text):
                    parse_sv(block.text[a:b], today=TODAY)
            baseline_runs.append(time.perf_counter() - start)
        assert result is not None
        assert result.spec is not None
        best, base = _best(import_runs), _best(baseline_runs)
        print(
            f"{ext}: import {best * 1000:.0f} ms (median {statistics.median(import_runs) * 1000:.0f} ms; "
            f"goal ≤ 1000 ms), {len(result.activities)} activities; baseline (read + parse every sentence) "
            f"{base * 1000:.0f} ms; ratio {best / base:.2f}"
        )


if __name__ == "__main__":
    main()
