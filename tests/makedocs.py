"""Small PDF and Word files made in the tests, with the structure a test needs."""

from __future__ import annotations

import io
from collections.abc import Sequence

# A PDF line: its text, or (text, font size in points); the body is 12 pt.
Line = str | tuple[str, float]
# A bookmark: (title, page index, children).
Bookmark = tuple[str, int, Sequence["Bookmark"]]


def make_pdf(
    pages: Sequence[Sequence[Line]],
    title: str | None = None,
    outline: Sequence[Bookmark] = (),
) -> bytes:
    """A valid PDF: one Helvetica text line per entry, one list per page, and bookmarks.

    A line holding a single space comes out of text extraction as a blank line.
    """
    objects: list[bytes] = [b"", b""]  # catalog and page tree, filled in below
    font = len(objects) + 1
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        ops = [b"BT 72 740 Td"]
        for line in lines:
            text, size = (line, 12.0) if isinstance(line, str) else line
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(
                b"/F1 %.1f Tf %.1f TL T* (" % (size, size * 1.2)
                + escaped.encode("latin-1")
                + b") Tj"
            )
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, len(objects))
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info = b""
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % title.encode("latin-1"))
        info = b" /Info %d 0 R" % len(objects)
    trailer = b"<< /Size %d /Root 1 0 R%s" % (len(objects) + 1, info)

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n%s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    if not outline:
        return bytes(out)
    return _with_outline(bytes(out), outline)


def _with_outline(pdf: bytes, outline: Sequence[Bookmark]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    stack: list[tuple[Bookmark, object]] = [(mark, None) for mark in reversed(outline)]
    while stack:
        (name, page, children), parent = stack.pop()
        item = writer.add_outline_item(title=name, page_number=page, parent=parent)
        stack.extend((child, item) for child in reversed(children))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# A Word block: ("heading", text, level), ("title", text), ("para", text), ("bullet", text),
# ("bullet2", text), ("number", text), ("code", text), ("table", [[cell, ...], ...]).
WordBlock = tuple[object, ...]


def make_docx(blocks: Sequence[WordBlock], title: str = "") -> bytes:
    """A .docx with python-docx's default styles, one entry of ``blocks`` at a time."""
    import docx

    word = docx.Document()
    word.core_properties.title = title
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            word.add_heading(str(block[1]), level=int(block[2]))  # type: ignore[call-overload]
        elif kind == "title":
            word.add_paragraph(str(block[1]), style="Title")
        elif kind == "bullet":
            word.add_paragraph(str(block[1]), style="List Bullet")
        elif kind == "bullet2":  # an item of a list nested in the one above
            word.add_paragraph(str(block[1]), style="List Bullet 2")
        elif kind == "number":
            word.add_paragraph(str(block[1]), style="List Number")
        elif kind == "code":
            paragraph = word.add_paragraph()
            paragraph.add_run(str(block[1])).font.name = "Courier New"
        elif kind == "table":
            rows: list[list[str]] = block[1]  # type: ignore[assignment]
            table = word.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        else:
            word.add_paragraph(str(block[1]))
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
