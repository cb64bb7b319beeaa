"""Word, reStructuredText and PDF files read with their structure: headings, lists, tables, code."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from makedocs import make_docx, make_pdf

from index.documents import (
    CODE,
    HEADER,
    ITEM,
    PROSE,
    ROW,
    Document,
    load_corpus,
    load_document,
)
from index.errors import CorpusError


def blocks_of(doc: Document) -> list[tuple[str, str, tuple[str, ...], int | None]]:
    """(kind, text, heading trail, group) of each paragraph, after checking the offsets."""
    assert len(doc.blocks) == len(doc.paragraphs)
    out = []
    previous_end = 0
    for n, (start, end) in enumerate(doc.paragraphs, start=1):
        assert previous_end <= start < end <= len(doc.text)
        piece = doc.text[start:end]
        assert piece == piece.strip()
        previous_end = end
        block = doc.block(n)
        trail = tuple(s.title for s in doc.trail(n))
        out.append((block.kind, piece, trail, block.group))
    return out


def load(tmp_path: Path, name: str, data: bytes | str) -> Document:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return load_document(path, name)


# --------------------------------------------------------------------------- .docx


HANDBOOK = [
    ("title", "Employee Handbook"),
    ("para", "Welcome to the team."),
    ("heading", "Leave policy", 1),
    ("heading", "Parental leave", 2),
    ("para", "Parents get sixteen weeks of paid leave."),
    ("bullet", "Tell your manager a month ahead."),
    ("bullet", "Fill in the leave form."),
    ("bullet2", "Attach the birth certificate."),
    ("para", "Eligibility"),
    ("number", "Six months of service."),
    ("heading", "Sick leave", 2),
    ("table", [["Kind", "Days"], ["Sick", "10"], ["Care of a relative", "5"]]),
    ("heading", "Tools", 1),
    ("code", "pip install handbook"),
    ("code", "handbook --check"),
]


def test_docx_headings_become_sections_and_blocks_keep_their_trail(tmp_path: Path) -> None:
    doc = load(tmp_path, "handbook.docx", make_docx(HANDBOOK))

    assert doc.title == "Employee Handbook"
    assert [(s.title, s.level) for s in doc.sections] == [
        ("Leave policy", 1),
        ("Parental leave", 2),
        ("Sick leave", 2),
        ("Tools", 1),
    ]
    blocks = blocks_of(doc)
    assert blocks[0] == (PROSE, "Welcome to the team.", (), None)
    assert blocks[1][:3] == (
        PROSE,
        "Parents get sixteen weeks of paid leave.",
        ("Leave policy", "Parental leave"),
    )
    # The headings are in the text a reader sees, but no heading is a paragraph.
    assert "Parental leave" in doc.text
    assert all(text != s.title for _, text, _, _ in blocks for s in doc.sections)


def test_docx_lists_tables_and_code_keep_their_kind(tmp_path: Path) -> None:
    doc = load(tmp_path, "handbook.docx", make_docx(HANDBOOK))
    blocks = blocks_of(doc)

    items = [(text, group) for kind, text, _, group in blocks if kind == ITEM]
    assert [t for t, _ in items] == [
        "Tell your manager a month ahead.",
        "Fill in the leave form.",
        "Attach the birth certificate.",
        "Six months of service.",
    ]
    # One group per list, the nested item in it: the prose line between them ends the first.
    assert items[0][1] == items[1][1] == items[2][1] != items[3][1]
    depths = [doc.blocks[n].depth for n, b in enumerate(doc.blocks) if b.kind == ITEM]
    assert depths == [0, 0, 1, 0]

    table = [(kind, text, trail) for kind, text, trail, _ in blocks if kind in (HEADER, ROW)]
    assert table == [
        (HEADER, "Kind | Days", ("Leave policy", "Sick leave")),
        (ROW, "Sick | 10", ("Leave policy", "Sick leave")),
        (ROW, "Care of a relative | 5", ("Leave policy", "Sick leave")),
    ]
    assert len({g for kind, _, _, g in blocks if kind in (HEADER, ROW)}) == 1

    # Consecutive monospace paragraphs are one code block, line by line.
    assert (CODE, "pip install handbook\nhandbook --check", ("Tools",)) in [b[:3] for b in blocks]


def test_docx_title_from_core_properties_else_first_heading(tmp_path: Path) -> None:
    titled = load(tmp_path, "a.docx", make_docx([("para", "Text.")], title="Travel Policy"))
    headed = load(tmp_path, "b.docx", make_docx([("heading", "Expenses", 1), ("para", "Text.")]))
    bare = load(tmp_path, "meeting_notes.docx", make_docx([("para", "Text.")]))

    assert titled.title == "Travel Policy"
    assert headed.title == "Expenses" and headed.trail(1)[0].title == "Expenses"
    assert bare.title == "Meeting notes"


def test_a_file_that_only_claims_to_be_docx_is_one_warning(tmp_path: Path) -> None:
    (tmp_path / "good.docx").write_bytes(make_docx([("para", "Real words.")]))
    (tmp_path / "renamed.docx").write_text("plain text in disguise", encoding="utf-8")
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "not a Word document")
    (tmp_path / "archive.docx").write_bytes(other_zip.getvalue())
    (tmp_path / "cut.docx").write_bytes(make_docx([("para", "Cut short.")])[:300])
    warnings: list[str] = []

    docs = load_corpus(tmp_path, warn=warnings.append)

    assert [d.doc_id for d in docs] == ["good.docx"]
    assert len(warnings) == 3
    for name in ("renamed.docx", "archive.docx", "cut.docx"):
        [line] = [w for w in warnings if name in w]
        assert "\n" not in line and "Traceback" not in line
    assert "not a Word .docx file" in next(w for w in warnings if "renamed.docx" in w)


# --------------------------------------------------------------------------- .rst

GUIDE_RST = """\
:orphan:

Requests guide
==============

Requests sends HTTP requests. Call :func:`requests.get` or use a
:class:`~requests.sessions.Session`; see :ref:`the timeouts section <timeouts>`.

.. note::
   Sessions reuse connections.

.. versionadded:: 2.1
   The ``timeout`` argument.

Installation
------------

Install it with pip:

.. code-block:: console

   $ python -m pip install requests

* Python 3.9 or later
* an internet connection

  * a proxy works too

* nothing else

>>> import requests
>>> requests.__name__
'requests'

Options
-------

=========  ==========================
Option     Meaning
=========  ==========================
timeout    seconds to wait for the server
verify     check the TLS certificate
=========  ==========================

timeout
    Seconds to wait. Without it a request can hang forever.

:param url: the address to fetch
:returns: a Response

.. _timeouts:

FAQ
---

How do I stop a request from hanging?
    Pass ``timeout=5``:

    .. code-block:: python

       requests.get(url, timeout=5)

Why is my proxy ignored?
    Set ``HTTPS_PROXY``.

.. sphinx-only-widget:: carousel
   :speed: fast

   Text inside a directive nobody here knows.

.. only:: html

   Shown on the web page.

.. toctree::
   :maxdepth: 2

   install
   api

.. raw:: html

   <script>alert("raw")</script>
"""


def test_rst_sections_with_anchors_and_the_title(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.rst", GUIDE_RST)

    assert doc.title == "Requests guide"
    sections = [(s.title, s.level, s.anchor) for s in doc.sections]
    assert sections[:4] == [
        ("Requests guide", 1, "#requests-guide"),
        ("Installation", 2, "#installation"),
        ("Options", 2, "#options"),
        ("FAQ", 2, "#faq"),
    ]
    assert doc.sections[1].parent == 0


def test_rst_sphinx_markup_keeps_the_text_a_reader_sees(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.rst", GUIDE_RST)
    texts = [text for _, text, _, _ in blocks_of(doc)]

    assert texts[0] == (
        "Requests sends HTTP requests. Call requests.get or use a Session; "
        "see the timeouts section."
    )
    assert "Sessions reuse connections." in texts
    assert "Added in version 2.1: The timeout argument." in texts
    assert "Text inside a directive nobody here knows." in texts
    assert "Shown on the web page." in texts and "html" not in texts
    # Build configuration and raw markup are not content.
    assert "orphan" not in doc.text and "maxdepth" not in doc.text
    assert "api" not in texts and "alert" not in doc.text
    assert ":func:" not in doc.text and "``" not in doc.text


def test_rst_code_lists_tables_and_definitions(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.rst", GUIDE_RST)
    blocks = blocks_of(doc)
    kinds = {text: kind for kind, text, _, _ in blocks}

    assert kinds["$ python -m pip install requests"] == CODE
    assert kinds[">>> import requests\n>>> requests.__name__\n'requests'"] == CODE
    items = [(text, group) for kind, text, _, group in blocks if kind == ITEM]
    listed = items[:4]
    assert [t for t, _ in listed] == [
        "Python 3.9 or later",
        "an internet connection",
        "a proxy works too",
        "nothing else",
    ]
    assert len({g for _, g in listed}) == 1  # the nested item stays in its list
    depths = [doc.blocks[n].depth for n, b in enumerate(doc.blocks) if b.kind == ITEM][:4]
    assert depths == [0, 0, 1, 0]
    table = [(kind, text) for kind, text, _, _ in blocks if kind in (HEADER, ROW)]
    assert table == [
        (HEADER, "Option | Meaning"),
        (ROW, "timeout | seconds to wait for the server"),
        (ROW, "verify | check the TLS certificate"),
    ]
    assert kinds["timeout: Seconds to wait. Without it a request can hang forever."] == ITEM
    assert kinds["param url: the address to fetch"] == ITEM


def test_rst_question_terms_are_faq_entries_with_their_answers(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.rst", GUIDE_RST)
    blocks = blocks_of(doc)

    by_text = {text: trail for _, text, trail, _ in blocks}
    entry = ("Requests guide", "FAQ", "How do I stop a request from hanging?")
    assert by_text["Pass timeout=5:"] == entry
    assert by_text["requests.get(url, timeout=5)"] == entry
    assert by_text["Set HTTPS_PROXY."] == (
        "Requests guide",
        "FAQ",
        "Why is my proxy ignored?",
    )
    # After the definition list the entry is closed: the next block is under FAQ.
    assert by_text["Text inside a directive nobody here knows."] == ("Requests guide", "FAQ")


def test_rst_never_reads_other_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    source = (
        f"Title\n=====\n\nBefore.\n\n.. include:: {secret}\n\n"
        f".. literalinclude:: {secret}\n\n.. csv-table::\n   :file: {secret}\n\nAfter.\n"
    )

    doc = load(tmp_path, "inc.rst", source)

    assert "TOP-SECRET-VALUE" not in doc.text
    assert [text for _, text, _, _ in blocks_of(doc)] == ["Before.", "After."]


def test_rst_that_is_not_really_rst_is_still_read(tmp_path: Path) -> None:
    doc = load(tmp_path, "notes.rst", "Just some notes.\n\n* one\n*two\n\n.. broken::\n")

    assert "Just some notes." in [text for _, text, _, _ in blocks_of(doc)]


# --------------------------------------------------------------------------- .pdf


def test_pdf_outline_places_sections_at_their_title_lines(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            ["Preface text before any chapter.", "Installation", "Run the installer."],
            ["It takes a minute.", "Upgrading", "Run it again."],
            ["Index of terms."],
        ],
        outline=[("Installation", 0, [("Upgrading", 1, [])]), ("Index", 2, [])],
    )

    doc = load(tmp_path, "manual.pdf", pdf)

    assert [(s.title, s.level, s.parent) for s in doc.sections] == [
        ("Installation", 1, None),
        ("Upgrading", 2, 0),
        ("Index", 1, None),
    ]
    assert [(text, trail) for _, text, trail, _ in blocks_of(doc)] == [
        ("Preface text before any chapter.", ()),
        ("Run the installer.", ("Installation",)),
        ("It takes a minute.", ("Installation",)),
        ("Run it again.", ("Installation", "Upgrading")),
        # The title is not on its page: the section opens at the page's top.
        ("Index of terms.", ("Index",)),
    ]


def test_pdf_larger_font_lines_are_headings(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            [
                ("Leave policy", 20),
                "Everyone gets leave.",
                ("Parental leave", 15),
                "Sixteen weeks.",
            ],
            [("2", 15), ("Sick leave", 15), "Ten days a year, paid in full.", "Tell us early."],
        ]
    )

    doc = load(tmp_path, "policy.pdf", pdf)

    # The first heading of a manual is as often "1 Introduction" as its title: the
    # title comes from the metadata or the file name, as before.
    assert doc.title == "Policy"
    assert [(text, trail) for _, text, trail, _ in blocks_of(doc)] == [
        ("Everyone gets leave.", ("Leave policy",)),
        ("Sixteen weeks.", ("Leave policy", "Parental leave")),
        # A number set as large as a heading is not one.
        ("2", ("Leave policy", "Parental leave")),
        ("Ten days a year, paid in full.", ("Leave policy", "Sick leave")),
        ("Tell us early.", ("Leave policy", "Sick leave")),
    ]


def test_pdf_with_uniform_fonts_and_no_outline_is_flat_prose(tmp_path: Path) -> None:
    doc = load(tmp_path, "memo.pdf", make_pdf([["Short line", "Body text goes on.", "More."]]))

    assert doc.sections == () and doc.blocks == ()
    assert [doc.text[a:b] for a, b in doc.paragraphs] == ["Short line\nBody text goes on.", "More."]


def test_pdf_running_header_in_a_large_font_is_not_a_heading(tmp_path: Path) -> None:
    pages = [[("ACME Corp", 16), f"Page {n} body text."] for n in range(1, 5)]

    doc = load(tmp_path, "report.pdf", make_pdf(pages))

    assert doc.sections == ()


@pytest.mark.parametrize("name", ["guide.rst", "handbook.docx"])
def test_the_new_formats_are_read_from_a_corpus_folder(tmp_path: Path, name: str) -> None:
    data = GUIDE_RST.encode() if name.endswith(".rst") else make_docx(HANDBOOK)
    (tmp_path / name).write_bytes(data)

    [doc] = load_corpus(tmp_path)

    assert doc.doc_id == name and doc.paragraphs


def test_damaged_pdf_outline_keeps_the_text(tmp_path: Path) -> None:
    pdf = make_pdf([["Chapter", "Body."]], outline=[("Chapter", 0, [])])
    broken = pdf.replace(b"/Outlines", b"/Outlinez")

    doc = load(tmp_path, "x.pdf", broken)

    assert "Body." in doc.text
    with pytest.raises(CorpusError):
        load(tmp_path, "y.pdf", b"%PDF-1.4\n" + b"garbage" * 10)


def test_rst_directive_names_are_read_whatever_their_case(tmp_path: Path) -> None:
    doc = load(tmp_path, "case.rst", "Setup\n=====\n\n.. VersionChanged:: 3.0\n   Faster.\n")

    assert [text for _, text, _, _ in blocks_of(doc)] == ["Changed in version 3.0: Faster."]
