"""Plain text out of a signed document: .txt, .md, .docx (python-docx) and .pdf (pypdf).

``document_text(data, filename=...)`` returns the text the importer reads: paragraphs
separated by a blank line, list items as ``- item`` lines (Word's bullets and
numbering, a PDF's ``•``), text that is bold in part of a Word paragraph as
``**bold**`` (how the signed documents set off an activity's lead), and a PDF's
lines that wrap inside a sentence joined again. ``read_document(path)`` does the
same for a file, refusing one that is too large before reading it.

Anything that cannot give text raises ``DocumentError`` (a ``ValueError``) whose
``str()`` is the Swedish message a user sees, naming the file::

    lofte-2024.pdf: PDF-filen är lösenordsskyddad: spara en kopia utan lösenord och försök igen

Covered: an empty file, an unknown extension (also the old binary .doc), a file
larger than ``MAX_DOCUMENT_BYTES``, a damaged Word or PDF file, a password-protected
PDF, and a PDF without a text layer (a scan).
"""

from __future__ import annotations

import io
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["EXTENSIONS", "MAX_DOCUMENT_BYTES", "DocumentError", "document_text", "read_document"]

#: The formats read, by extension.
EXTENSIONS = (".txt", ".md", ".docx", ".pdf")
#: A signed medborgarlöfte is a few pages; a larger file is refused before it is read.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class DocumentError(ValueError):
    """A document that cannot be imported: ``filename`` and a Swedish ``problem``."""

    def __init__(self, filename: str, problem: str) -> None:
        self.filename, self.problem = filename, problem
        super().__init__(f"{filename}: {problem}")


def _size_sv(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} byte"


def _check_extension(filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    if ext in EXTENSIONS:
        return ext
    known = ", ".join(EXTENSIONS)
    if ext == ".doc":
        return _fail(filename, f"det gamla Word-formatet .doc kan inte läsas: spara dokumentet som .docx ({known})")
    if ext in (".odt", ".rtf", ".pages"):
        return _fail(filename, f"formatet {ext} kan inte läsas: spara dokumentet som .docx eller .pdf ({known})")
    shown = f"filformatet {ext}" if ext else "en fil utan filändelse"
    return _fail(filename, f"{shown} kan inte läsas: Löfte läser {known}")


def _fail(filename: str, problem: str) -> str:
    raise DocumentError(filename, problem)


def read_document(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The bytes of the document at ``path`` and the name to show, checked before reading.

    The extension and the size are checked first, so a wrong or huge file is refused
    without being read.
    """
    shown = os.fspath(path)
    _check_extension(shown)
    file = Path(shown)
    try:
        size = file.stat().st_size
        if file.is_dir():
            _fail(shown, "är en katalog, inte en fil")
        if size > MAX_DOCUMENT_BYTES:
            _fail(
                shown,
                f"filen är för stor ({_size_sv(size)}; högst {_size_sv(MAX_DOCUMENT_BYTES)}): "
                "ett medborgarlöfte är några sidor, kontrollera att det är rätt fil",
            )
        return file.read_bytes(), shown
    except FileNotFoundError:
        _fail(shown, "filen finns inte")
    except PermissionError:
        _fail(shown, "filen kan inte läsas (behörighet saknas)")
    except OSError as exc:
        _fail(shown, f"filen kan inte läsas ({exc.strerror or exc})")
    raise AssertionError("unreachable")  # pragma: no cover


def document_text(data: bytes, *, filename: str) -> str:
    """The text of a document given as bytes; the extension of ``filename`` picks the reader."""
    ext = _check_extension(filename)
    if len(data) > MAX_DOCUMENT_BYTES:
        _fail(filename, f"filen är för stor ({_size_sv(len(data))}; högst {_size_sv(MAX_DOCUMENT_BYTES)})")
    if not data.strip():
        _fail(filename, "filen är tom")
    if ext in (".txt", ".md"):
        text = _plain_text(data, filename)
    elif ext == ".docx":
        text = _docx_text(data, filename)
    else:
        text = _pdf_text(data, filename)
    text = normalise(text)
    if not text.strip():
        _fail(filename, "dokumentet innehåller ingen text")
    return text


_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f\u2009\u200a]+")
_BULLET_GLYPHS = str.maketrans(
    {"\uf0b7": "•", "\uf0a7": "•", "\u25cf": "•", "\u25aa": "•", "\u2023": "•", "\u2043": "•"}
)


def normalise(text: str) -> str:
    """Line ends as ``\\n``, odd spaces and bullet glyphs made plain, trailing spaces dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\f", "\n")
    text = text.replace("\u00ad", "").replace("\ufeff", "").translate(_BULLET_GLYPHS)
    return "\n".join(_SPACES.sub(" ", line).rstrip() for line in text.split("\n"))


def _plain_text(data: bytes, filename: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096] or data.startswith((b"%PDF", b"PK\x03\x04")):
        _fail(filename, "filen är inte en textfil (byt filändelse om det är en Word- eller PDF-fil)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Swedish Windows text files are Windows-1252; every byte decodes there but a few.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return _fail(filename, "texten går inte att läsa: spara filen som UTF-8")


# -- Word ----------------------------------------------------------------------------------------------
def _docx_text(data: bytes, filename: str) -> str:
    import docx  # noqa: PLC0415 - python-docx loads lxml; only Word files need it
    from docx.opc.exceptions import PackageNotFoundError  # noqa: PLC0415

    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: an encrypted .docx or a .doc renamed
            _fail(filename, "Word-filen är lösenordsskyddad eller i det gamla .doc-formatet: spara den som .docx")
        _fail(filename, "filen är inte ett Word-dokument (.docx)")
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        _fail(filename, f"Word-filen är skadad eller inte ett Word-dokument ({type(exc).__name__})")
    except Exception as exc:
        _fail(filename, f"Word-filen går inte att läsa ({type(exc).__name__})")
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: one line per row, cells separated by " | "
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                line = " | ".join(dict.fromkeys(c for c in cells if c))
                if line:
                    blocks.append(line)
            continue
        text = _docx_paragraph(item)
        if text.strip():
            blocks.append(text)
    out: list[str] = []
    for block in blocks:
        if out and not (block.startswith("- ") and out[-1].lstrip().startswith("- ")):
            out.append("")
        out.append(block)
    return "\n".join(out)


def _docx_paragraph(paragraph: object) -> str:
    """One paragraph: '- ' for list items, '**…**' around runs that are bold in part of it."""
    runs = [(run.text, bool(run.bold)) for run in paragraph.runs if run.text]  # type: ignore[attr-defined]
    text = "".join(t for t, _ in runs) if runs else paragraph.text  # type: ignore[attr-defined]
    bold_chars = sum(len(t.strip()) for t, b in runs if b)
    if runs and 0 < bold_chars < len(text.strip()):
        text = ""
        for part, bold in _merge_runs(runs):
            if bold and part.strip():
                lead, core, tail = _split_space(part)
                text += f"{lead}**{core}**{tail}"
            else:
                text += part
    style = (getattr(paragraph.style, "name", "") or "").lower()  # type: ignore[attr-defined]
    p_pr = paragraph._p.pPr  # type: ignore[attr-defined]
    numbered = p_pr is not None and p_pr.numPr is not None
    if numbered or style.startswith(("list", "liststycke", "punktlista", "numrerad")):
        return "- " + text.strip()
    return text


def _merge_runs(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    merged: list[tuple[str, bool]] = []
    for text, bold in runs:
        if merged and merged[-1][1] == bold:
            merged[-1] = (merged[-1][0] + text, bold)
        else:
            merged.append((text, bold))
    return merged


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core) :]


# -- PDF -----------------------------------------------------------------------------------------------
def _pdf_text(data: bytes, filename: str) -> str:
    from pypdf import PasswordType, PdfReader  # noqa: PLC0415 - only PDF files need it
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError  # noqa: PLC0415

    if b"%PDF" not in data[:1024]:
        _fail(filename, "filen är inte en PDF")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged-but-readable files log warnings
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            _fail(filename, "PDF-filen är lösenordsskyddad: spara en kopia utan lösenord och försök igen")
        pages = [_page_text(page) for page in reader.pages]
    except (FileNotDecryptedError, DependencyError):
        _fail(filename, "PDF-filen är lösenordsskyddad: spara en kopia utan lösenord och försök igen")
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        _fail(filename, f"PDF-filen är skadad och går inte att läsa ({type(exc).__name__})")
    if not any(page.strip() for page in pages):
        _fail(
            filename,
            "PDF-filen innehåller ingen text, bara bilder (en inskannad sida?): "
            "använd originaldokumentet, eller kör textigenkänning (OCR) först",
        )
    # Pages joined without a blank line, so that a sentence running onto the next page is joined again.
    return reflow_lines("\n".join(normalise(page).strip("\n") for page in pages))


def _page_text(page: Any) -> str:
    """The page's text in layout mode, which keeps the blank lines between paragraphs."""
    try:
        return str(page.extract_text(extraction_mode="layout") or "")
    except Exception:
        return str(page.extract_text() or "")


_SENTENCE_END = (".", "!", "?", ":", ";")
_BULLET_START = re.compile(r"\s*(?:[•\-–*·▪]|\d{1,2}[.)]|[a-z][)])\s")


def reflow_lines(text: str) -> str:
    """Join a PDF's lines that wrap inside a sentence; keep headings, bullets and paragraphs.

    A line continues the previous one when that one does not end a sentence and this
    one starts in lower case, with a digit, or follows a long line (a wrapped one).

    >>> reflow_lines("Minst 3 insatser ska genomföras\\nunder 2022.\\nUppföljning\\n• En punkt")
    'Minst 3 insatser ska genomföras under 2022.\\nUppföljning\\n• En punkt'
    """
    lines = text.split("\n")
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            out.append("")
            continue
        prev = out[-1] if out else ""
        continues = (
            prev
            and not prev.endswith(_SENTENCE_END)
            and not _BULLET_START.match(line)
            and (line[0].islower() or line[0].isdigit() or line[0] in "(–-" or len(prev) >= 0.7 * width)
        )
        if continues:
            out[-1] = prev + " " + line
        else:
            out.append(line)
    return "\n".join(out)
