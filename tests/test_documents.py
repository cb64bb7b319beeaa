"""Loading documents: every format, the seed article, and files that must be skipped."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from makedocs import make_pdf

from index.documents import READING, SUFFIXES, Document, load_corpus, load_document
from index.errors import CorpusError

REPO = Path(__file__).resolve().parents[1]
FORMATS = Path(__file__).resolve().parent / "data" / "formats"


def paragraph_texts(doc: Document) -> list[str]:
    """The paragraphs of ``doc``, after checking their offsets are exact and in order."""
    previous_end = 0
    texts = []
    for start, end in doc.paragraphs:
        assert previous_end <= start < end <= len(doc.text)
        piece = doc.text[start:end]
        assert piece == piece.strip() and piece
        texts.append(piece)
        previous_end = end
    return texts


# --------------------------------------------------------------------------- seed article


def test_seed_article_loads_with_its_front_matter_title_and_13_paragraphs() -> None:
    path = REPO / "corpus" / "denver-ordinance.md"
    header = path.read_text(encoding="utf-8").split("---")[1]
    title_line = next(line for line in header.splitlines() if line.startswith("title:"))

    [doc] = load_corpus(REPO / "corpus")

    assert doc.doc_id == "denver-ordinance.md"
    assert doc.title == title_line.removeprefix("title:").strip()
    assert doc.source == ""
    paragraphs = paragraph_texts(doc)
    assert len(paragraphs) == 13
    assert not doc.text.startswith("---")
    assert paragraphs[0].startswith("The Denver City Council has passed a measure")
    assert paragraphs[-1].endswith("suing the federal government.")


# --------------------------------------------------------------------------- each format


def test_the_sample_corpus_loads_every_format_in_sorted_order() -> None:
    docs = load_corpus(FORMATS)

    assert [d.doc_id for d in docs] == ["guide.md", "notes.txt", "page.html", "report.pdf"]
    for doc in docs:
        assert paragraph_texts(doc)


def test_txt_title_is_its_first_line_and_paragraphs_are_blank_line_blocks() -> None:
    doc = load_document(FORMATS / "notes.txt", "notes.txt")

    assert doc.title == "Library opening hours"
    assert doc.source == ""
    assert paragraph_texts(doc) == [
        "Library opening hours",
        "The central library opens at nine on weekdays\nand at ten on Saturdays.",
        "It is closed on Sundays and public holidays.",
    ]


def test_txt_bom_and_windows_newlines_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "city-council_minutes.txt"
    long_line = "The council met on Tuesday " + "and talked at length " * 10
    path.write_bytes(("\ufeff" + long_line + "\r\n\r\nSecond paragraph.\rThird line.\r\n").encode())

    doc = load_document(path, "minutes")

    assert doc.title == "City council minutes"  # the long first line is prose, not a title
    assert "\r" not in doc.text and not doc.text.startswith("\ufeff")
    assert paragraph_texts(doc) == [long_line.strip(), "Second paragraph.\nThird line."]


def test_txt_in_utf16_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("Café opening\n\nWe open at eight.\n".encode("utf-16"))

    doc = load_document(path, "notes.txt")

    assert doc.title == "Café opening"
    assert paragraph_texts(doc) == ["Café opening", "We open at eight."]


def test_markdown_front_matter_code_and_headings() -> None:
    doc = load_document(FORMATS / "guide.md", "guide.md")

    assert doc.title == "Recycling guide: what goes where"
    assert doc.source == "https://example.org/recycling"
    assert doc.date == "2024-03-01"
    assert doc.text.startswith("# Recycling at home")
    assert paragraph_texts(doc) == [  # headings are sections, not paragraphs
        "Paper and cardboard go in the blue bin.\nFlatten boxes first.",
        'bin = "green"\n\nprint(bin)',  # the code without its fence lines
        "Glass bottles go in the green bin; lids go in the general waste.",
        "Batteries are collected at the town hall.",
    ]
    assert [doc.block(n).kind for n in (1, 2, 3)] == ["prose", "code", "prose"]
    assert [s.title for s in doc.trail(3)] == ["Recycling at home", "Glass"]


@pytest.mark.parametrize(
    ("content", "title", "source", "date", "paragraphs"),
    [
        pytest.param(
            "---\ntitle:\nsource:\ndate:\n---\n# Heading title\n\nBody.\n",
            "Heading title",
            "",
            "",
            ["Body."],
            id="empty values fall back to the first heading",
        ),
        pytest.param(
            "---\ntitle: 'It''s \"quoted\"'\nsource: \"https://example.org/a?b=c\"\n"
            "date: '2021-05-06'\nauthor: someone\n---\nBody.\n",
            'It\'s "quoted"',
            "https://example.org/a?b=c",
            "2021-05-06",
            ["Body."],
            id="quoted values",
        ),
        pytest.param(
            "---\ntitle: Never closed\n\nBody.\n",
            "My notes",
            "",
            "",
            ["title: Never closed", "Body."],
            id="unclosed front matter is body text",
        ),
        pytest.param(
            "Intro line.\n\n---\ntitle: not front matter\n---\n\nEnd.\n",
            "My notes",
            "",
            "",
            ["Intro line.", "End."],
            id="dashes later in the file are not front matter",
        ),
        pytest.param(
            "Setext title\n============\n\nText under it.\n## Sub\nMore text.\n",
            "Setext title",
            "",
            "",
            ["Text under it.", "More text."],
            id="underlined heading and a heading inside a block",
        ),
        pytest.param(
            "## Only a subheading\n\n~~~python\nx = 1\n\ny = 2\n~~~\nAfter code.\n\n***\n",
            "My notes",
            "",
            "",
            ["x = 1\n\ny = 2", "After code."],
            id="tilde fence with blank lines and a thematic break",
        ),
    ],
)
def test_markdown_front_matter_edge_cases(
    tmp_path: Path, content: str, title: str, source: str, date: str, paragraphs: list[str]
) -> None:
    path = tmp_path / "my-notes.md"
    path.write_text(content, encoding="utf-8")

    doc = load_document(path, "my-notes.md")

    assert (doc.title, doc.source, doc.date) == (title, source, date)
    assert paragraph_texts(doc) == paragraphs


def test_markdown_with_windows_newlines_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.markdown"
    path.write_bytes(b"\xef\xbb\xbf---\r\ntitle: Crlf\r\n---\r\nOne.\r\n\r\nTwo.\r\n")

    doc = load_document(path, "a.markdown")

    assert doc.title == "Crlf"
    assert doc.text == "One.\n\nTwo.\n"
    assert paragraph_texts(doc) == ["One.", "Two."]


def test_html_keeps_the_article_and_drops_scripts_navigation_and_chrome() -> None:
    doc = load_document(FORMATS / "page.html", "page.html")

    assert doc.title == "Bridge closure notice"
    assert doc.source == "https://example.org/bridge"
    for dropped in ("tracking", "footer script", "color", "Home", "site header", "Related"):
        assert dropped not in doc.text
    assert "Copyright" not in doc.text
    assert doc.text.startswith("Old Bridge closes for repairs\n\n")  # headline kept, not a ¶
    assert paragraph_texts(doc) == [
        "The Old Bridge will be closed to traffic from 3 June until the end of August.",
        "Pedestrians can use the temporary footbridge.",
        "Buses take the ring road.",
        "Cyclists may walk their bikes across.",
    ]


def test_html_title_from_h1_source_from_og_url_and_nested_blocks(tmp_path: Path) -> None:
    path = tmp_path / "story.htm"
    path.write_text(
        '<html><head><meta property="og:url" content="https://example.org/story">'
        '<meta property="article:published_time" content="2023-02-01"></head><body>'
        "<h1>Storm  warning</h1><div>Loose text in a div."
        "<blockquote><p>Stay indoors.</p></blockquote>More div text.</div>"
        "<table><tr><td>Wind</td><td>90&nbsp;km/h</td></tr></table>"
        "<noscript>Enable JavaScript</noscript><p hidden>secret</p></body></html>",
        encoding="utf-8",
    )

    doc = load_document(path, "story.htm")

    assert doc.title == "Storm warning"
    assert doc.source == "https://example.org/story"
    assert doc.date == "2023-02-01"
    assert paragraph_texts(doc) == [
        "Loose text in a div.",
        "Stay indoors.",
        "More div text.",
        "Wind | 90 km/h",  # one table row, its cells in order
    ]
    assert "JavaScript" not in doc.text and "secret" not in doc.text


def test_html_in_a_declared_legacy_charset_is_read(tmp_path: Path) -> None:
    path = tmp_path / "menu.html"
    path.write_bytes('<meta charset="iso-8859-1"><p>Crème brûlée</p>'.encode("latin-1"))

    doc = load_document(path, "menu.html")

    assert paragraph_texts(doc) == ["Crème brûlée"]


def test_pdf_fixture_loads_title_from_metadata_and_its_text() -> None:
    doc = load_document(FORMATS / "report.pdf", "report.pdf")

    assert doc.title == "Water quality report 2024"
    assert doc.source == ""
    paragraphs = paragraph_texts(doc)
    assert paragraphs[:3] == [
        "Annual water report",
        "Tap water met every safety standard\nin all twelve monthly tests.",
        "Lead levels fell for the third year.",
    ]
    # The second page has no blank lines: sentence-final line ends split it.
    assert paragraphs[3:] == [
        "Two mains were replaced in May.",
        "The reservoir was\ncleaned in October.",
    ]


def test_pdf_without_metadata_is_titled_from_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "budget_summary.pdf"
    path.write_bytes(make_pdf([["Spending rose.", 'The mayor said "no."', "Then", "nothing"]]))

    doc = load_document(path, "budget_summary.pdf")

    assert doc.title == "Budget summary"
    assert paragraph_texts(doc) == ["Spending rose.", 'The mayor said "no."', "Then\nnothing"]


# --------------------------------------------------------------------------- skipping


def test_binary_undecodable_and_broken_files_are_skipped_with_a_warning_naming_each(
    tmp_path: Path,
) -> None:
    (tmp_path / "good.txt").write_text("A readable document.\n", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.md").write_bytes("Caf\xe9 menu".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(make_pdf([["Truncated."]])[:150])
    (tmp_path / "fake.pdf").write_text("not a pdf at all", encoding="utf-8")
    (tmp_path / "empty.html").write_text("<script>only()</script>", encoding="utf-8")
    warnings: list[str] = []

    docs = load_corpus(tmp_path, warn=warnings.append)

    assert [d.doc_id for d in docs] == ["good.txt"]
    assert len(warnings) == 5
    for name in ("image.txt", "latin1.md", "broken.pdf", "fake.pdf", "empty.html"):
        assert sum(name in line for line in warnings) == 1, name
    assert all("\n" not in line for line in warnings)


def test_encrypted_pdf_is_skipped_with_a_warning(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    (tmp_path / "plain.pdf").write_bytes(make_pdf([["Open text."]]))
    writer = PdfWriter()
    writer.append(PdfReader(tmp_path / "plain.pdf"))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    with open(tmp_path / "locked.pdf", "wb") as out:
        writer.write(out)
    warnings: list[str] = []

    docs = load_corpus(tmp_path, warn=warnings.append)

    assert [d.doc_id for d in docs] == ["plain.pdf"]
    assert len(warnings) == 1 and "locked.pdf" in warnings[0] and "encrypted" in warnings[0]


def test_skipped_files_are_logged_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.md").write_text("Fine.\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"abc\x00def")

    with caplog.at_level(logging.WARNING, logger="index.documents"):
        load_corpus(tmp_path)

    assert [r.getMessage() for r in caplog.records if "bad.txt" in r.getMessage()]


def test_a_broken_pdf_costs_exactly_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text("Fine.\n", encoding="utf-8")
    (tmp_path / "damaged.pdf").write_bytes(make_pdf([["Cut short."]])[:-40])

    with caplog.at_level(logging.DEBUG):
        load_corpus(tmp_path)

    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "damaged.pdf" in lines[0]


def test_two_given_files_with_the_same_name_keep_the_first(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text(f"From {folder}.", encoding="utf-8")
    warnings: list[str] = []

    docs = load_corpus(
        tmp_path / "corpus",
        [tmp_path / "one" / "notes.md", tmp_path / "two" / "notes.md"],
        warn=warnings.append,
    )

    assert [paragraph_texts(d) for d in docs] == [["From one."]]
    assert len(warnings) == 1 and str(tmp_path / "two" / "notes.md") in warnings[0]


def test_load_document_raises_for_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"text\x00more")

    with pytest.raises(CorpusError, match="data.txt"):
        load_document(path, "data.txt")


def test_walk_recurses_skips_hidden_and_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "deep" / "z.TXT").write_text("Upper-case suffix.", encoding="utf-8")
    (tmp_path / "b" / "a.md").write_text("Nested.", encoding="utf-8")
    (tmp_path / "a.html").write_text("<p>Top.</p>", encoding="utf-8")
    (tmp_path / ".hidden.md").write_text("Hidden file.", encoding="utf-8")
    (tmp_path / ".git" / "notes.txt").write_text("Hidden folder.", encoding="utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    warnings: list[str] = []

    docs = load_corpus(tmp_path, warn=warnings.append)

    assert [d.doc_id for d in docs] == ["a.html", "b/a.md", "b/deep/z.TXT"]
    assert warnings == []


def test_given_paths_inside_and_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "in.txt").write_text("Inside.", encoding="utf-8")
    (root / "ignored.txt").write_text("Not asked for.", encoding="utf-8")
    outside = tmp_path / "elsewhere"
    (outside / "more").mkdir(parents=True)
    (outside / "out.md").write_text("Outside.", encoding="utf-8")
    (outside / "more" / "deeper.md").write_text("Deeper.", encoding="utf-8")

    docs = load_corpus(root, [root / "sub", outside / "out.md", outside / "more"])

    assert [d.doc_id for d in docs] == ["more/deeper.md", "out.md", "sub/in.txt"]


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "readme.odt").write_text("Not a supported type.", encoding="utf-8")

    with pytest.raises(CorpusError) as error:
        load_corpus(tmp_path)

    message = str(error.value)
    assert str(tmp_path) in message and "\n" not in message
    assert all(suffix in message for suffix in SUFFIXES)


def test_folder_with_only_unreadable_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02")
    warnings: list[str] = []

    with pytest.raises(CorpusError, match="No readable document") as error:
        load_corpus(tmp_path, warn=warnings.append)

    assert str(tmp_path) in str(error.value)
    assert len(warnings) == 1 and "blob.txt" in warnings[0]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-corpus"

    with pytest.raises(CorpusError, match="does not exist") as error:
        load_corpus(missing)

    assert str(missing) in str(error.value) and ".pdf" in str(error.value)


def test_missing_given_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="typo.md"):
        load_corpus(tmp_path, [tmp_path / "typo.md"])


# --------------------------------------------------------------------------- paragraph_of


def test_paragraph_of_numbers_paragraphs_from_one() -> None:
    doc = load_document(FORMATS / "notes.txt", "notes.txt")

    for number, (start, end) in enumerate(doc.paragraphs, start=1):
        assert doc.paragraph_of(start) == number
        assert doc.paragraph_of(end - 1) == number
    gap = doc.paragraphs[0][1]  # the blank line after the first paragraph
    with pytest.raises(ValueError):
        doc.paragraph_of(gap)
    with pytest.raises(ValueError):
        doc.paragraph_of(len(doc.text) + 5)


# --------------------------------------------------------------------------- hostile corpora


def _load_within(seconds: float, *args: Any, **kwargs: Any) -> list[Document]:
    """load_corpus, failing the test instead of hanging when something blocks."""
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(load_corpus(*args, **kwargs)), daemon=True
    )
    worker.start()
    worker.join(seconds)
    assert outcome, f"load_corpus did not return within {seconds} s"
    return outcome[0]


def test_symlink_loops_fifos_sockets_and_devices_are_skipped_never_opened(
    tmp_path: Path,
) -> None:
    (tmp_path / "good.txt").write_text("A readable document.\n", encoding="utf-8")
    os.symlink("loop-b.txt", tmp_path / "loop-a.txt")
    os.symlink("loop-a.txt", tmp_path / "loop-b.txt")
    os.symlink("self.md", tmp_path / "self.md")
    os.mkfifo(tmp_path / "x.txt")  # opening it for reading would wait for a writer forever
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock.md"))
    os.symlink("/dev/zero", tmp_path / "zero.txt")  # a device: reading it never ends
    os.symlink("missing.txt", tmp_path / "dangling.txt")
    warnings: list[str] = []
    try:
        docs = _load_within(20, tmp_path, warn=warnings.append)
    finally:
        server.close()

    assert [d.doc_id for d in docs] == ["good.txt"]
    named = {
        "loop-a.txt": "symlink loop",
        "loop-b.txt": "symlink loop",
        "self.md": "symlink loop",
        "x.txt": "FIFO",
        "sock.md": "socket",
        "zero.txt": "device",
        "dangling.txt": "symlink to nothing",
    }
    assert len(warnings) == len(named), warnings
    for name, what in named.items():
        [line] = [w for w in warnings if f"{name}:" in w]
        assert what in line, line
    assert all("\n" not in line for line in warnings)


def test_a_fifo_given_by_path_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A readable document.\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.md")
    warnings: list[str] = []

    docs = _load_within(
        20, tmp_path, [tmp_path / "good.txt", tmp_path / "pipe.md"], warn=warnings.append
    )

    assert [d.doc_id for d in docs] == ["good.txt"]
    assert len(warnings) == 1 and "pipe.md" in warnings[0] and "FIFO" in warnings[0]


def test_load_document_refuses_a_fifo_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "late.txt")
    errors: list[BaseException] = []

    def load() -> None:
        try:
            load_document(tmp_path / "late.txt", "late.txt")
        except CorpusError as exc:
            errors.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    assert errors and "not a regular file" in str(errors[0])


def test_a_file_over_the_size_limit_is_skipped_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("A small document.\n", encoding="utf-8")
    (tmp_path / "huge.txt").write_text("Words and more words.\n" * 100_000, encoding="utf-8")
    warnings: list[str] = []

    docs = load_corpus(tmp_path, warn=warnings.append, max_bytes=1024 * 1024)

    assert [d.doc_id for d in docs] == ["small.txt"]
    [line] = warnings
    assert "huge.txt" in line and "QUOTEBOT_MAX_FILE_MB" in line and "2.1 MB" in line
    assert [d.doc_id for d in load_corpus(tmp_path, warn=warnings.append)] == [
        "huge.txt",
        "small.txt",
    ]


def test_reading_reports_progress_per_file(tmp_path: Path) -> None:
    for n in range(3):
        (tmp_path / f"doc{n}.txt").write_text(f"Document {n}.\n", encoding="utf-8")
    seen: list[tuple[str, int, int]] = []

    load_corpus(tmp_path, progress=lambda *step: seen.append(step))

    assert seen == [(READING, n, 3) for n in range(4)]
