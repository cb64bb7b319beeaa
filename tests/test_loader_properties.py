"""Every loader, on random bytes and random structure: a sound Document or one CorpusError line.

Whatever a corpus file holds, ``load_document`` either returns a document whose
every paragraph is a verbatim span of its text, with one block per paragraph and
headings that point inside the outline, or refuses the file with a CorpusError
whose message is one line. No other exception may escape: it would stop an
index build with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from makedocs import make_docx, make_pdf

from index.documents import KINDS, Document, load_document
from index.errors import CorpusError

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SUFFIXES = (".txt", ".md", ".html", ".pdf", ".docx", ".rst")


def check_loads_soundly(path: Path) -> Document | None:
    """Load ``path``; assert the document is sound or the refusal is one line."""
    try:
        doc = load_document(path, path.name)
    except CorpusError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        assert path.name in message
        return None
    assert doc.paragraphs, "a document without paragraphs must be refused"
    previous_end = 0
    for start, end in doc.paragraphs:
        assert previous_end <= start < end <= len(doc.text)
        piece = doc.text[start:end]
        assert piece.strip() == piece
        previous_end = end
    assert not doc.blocks or len(doc.blocks) == len(doc.paragraphs)
    for block in doc.blocks:
        assert block.kind in KINDS
        assert block.section is None or 0 <= block.section < len(doc.sections)
        assert block.depth >= 0
    for n, section in enumerate(doc.sections):
        assert section.title == section.title.strip() and section.level >= 1
        assert section.title.strip()  # a lone "#" is no blank step in a citation's trail
        assert section.parent is None or 0 <= section.parent < n
    for n in range(1, len(doc.paragraphs) + 1):
        doc.trail(n)  # terminates: parents point backwards
    assert doc.title.strip()
    return doc


def write(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"sample{suffix}"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- random bytes


@pytest.mark.parametrize("suffix", SUFFIXES)
@PROPERTY
@given(data=st.binary(max_size=3000))
def test_random_bytes(tmp_path: Path, suffix: str, data: bytes) -> None:
    check_loads_soundly(write(tmp_path, suffix, data))


@pytest.mark.parametrize(
    ("suffix", "prefix"),
    [(".pdf", b"%PDF-1.4\n"), (".docx", b"PK\x03\x04"), (".html", b"<html><body>")],
)
@PROPERTY
@given(data=st.binary(max_size=3000))
def test_random_bytes_behind_a_valid_signature(
    tmp_path: Path, suffix: str, prefix: bytes, data: bytes
) -> None:
    check_loads_soundly(write(tmp_path, suffix, prefix + data))


# --------------------------------------------------------------------------- random structure

# Printable text with the characters markup is made of, and some that are not ASCII.
words = st.text(
    alphabet=st.sampled_from(list("abc XYZ é中 ?.:,-_*`#=|<>/\\'\"()[]{}~^+!0123\t")),
    max_size=40,
)
MARKUP_LINES = [
    "# {}",
    "## {}",
    "{}\n===",
    "{}\n---",
    "- {}",
    "* {}",
    "1. {}",
    "| {} | {} |",
    "|---|---|",
    "```\n{}\n```",
    "    {}",
    "> {}",
    "---\ntitle: {}\n---",
    "<h2>{}</h2>",
    "<ul><li>{}</li><li>{}",
    "<table><tr><th>{}</th></tr><tr><td>{}</td></tr></table>",
    "<pre>{}</pre>",
    "<dl><dt>{}?</dt><dd>{}</dd></dl>",
    "<details><summary>{}</summary>{}</details>",
    "<nav>{}</nav><main><p>{}</p></main>",
    "{}\n" + "~" * 5,
    ".. note::\n\n   {}",
    ".. code-block:: python\n\n   {}",
    ".. {}:: {}\n   :opt: {}\n\n   {}",
    ":func:`{}` and :unknown:`{}`",
    ".. versionadded:: 1.0\n   {}",
    "{}?\n    {}",
    "term\n    {}",
    ":field: {}",
    "=====  =====\n{}  {}\n=====  =====",
    ".. include:: {}",
    ".. raw:: html\n\n   {}",
    ".. toctree::\n\n   {}",
    "::\n\n    {}",
    ">>> {}\n{}",
    "1.2 {}",
    "",
]


@st.composite
def marked_up_text(draw: st.DrawFn) -> str:
    """Lines of Markdown, HTML and reStructuredText markup, nested by random indentation."""
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        template = draw(st.sampled_from(MARKUP_LINES))
        filled = template.format(*(draw(words) for _ in range(template.count("{}"))))
        indent = " " * draw(st.sampled_from([0, 0, 0, 2, 3, 4, 8]))
        lines.append("\n".join(indent + line for line in filled.split("\n")))
        if draw(st.booleans()):
            lines.append("")
    return "\n".join(lines)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".rst"])
@PROPERTY
@given(text=marked_up_text())
def test_random_markup(tmp_path: Path, suffix: str, text: str) -> None:
    check_loads_soundly(write(tmp_path, suffix, text.encode("utf-8")))


@st.composite
def nested_html(draw: st.DrawFn) -> str:
    """Randomly nested elements, some left unclosed."""
    tags = ["div", "p", "ul", "li", "table", "tr", "td", "th", "h1", "h3", "pre", "dl", "dt"]
    tags += ["dd", "details", "summary", "section", "article", "nav", "footer", "span", "b"]
    out: list[str] = []
    open_tags: list[str] = []
    for _ in range(draw(st.integers(0, 60))):
        action = draw(st.sampled_from(["open", "open", "text", "close"]))
        if action == "open":
            tag = draw(st.sampled_from(tags))
            out.append(f"<{tag}>")
            open_tags.append(tag)
        elif action == "text":
            out.append(draw(words))
        elif open_tags and draw(st.booleans()):
            out.append(f"</{open_tags.pop()}>")
    return "".join(out)


@PROPERTY
@given(page=nested_html())
@example(page="<![<div>")  # a declaration html.parser rejects outright
@example(page="<tr>0<div><td>")  # a row whose last cell is empty
def test_random_nested_html(tmp_path: Path, page: str) -> None:
    check_loads_soundly(write(tmp_path, ".html", page.encode("utf-8")))


# Text python-docx can store: XML 1.0 characters only.
word_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
)
word_block = st.one_of(
    st.tuples(st.sampled_from(["para", "bullet", "bullet2", "number", "code", "title"]), word_text),
    st.tuples(st.just("heading"), word_text, st.integers(0, 9)),
    st.tuples(
        st.just("table"),
        st.lists(st.lists(word_text, min_size=1, max_size=3), min_size=1, max_size=4),
    ),
)


@PROPERTY
@given(blocks=st.lists(word_block, max_size=20), title=word_text)
def test_random_word_documents(
    tmp_path: Path, blocks: list[tuple[object, ...]], title: str
) -> None:
    doc = check_loads_soundly(write(tmp_path, ".docx", make_docx(blocks, title=title)))
    if doc is None:  # refused only when it holds nothing but headings
        for block in blocks:
            if block[0] == "table":
                assert not any(cell.strip() for row in block[1] for cell in row)  # type: ignore[attr-defined]
            elif block[0] not in ("heading", "title"):
                assert not str(block[1]).strip()


pdf_line = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.tuples(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        st.sampled_from([8.0, 12.0, 14.0, 18.0, 24.0]),
    ),
)


@st.composite
def outlines(draw: st.DrawFn, pages: int, depth: int = 0) -> list[tuple[str, int, list[object]]]:
    marks = []
    for _ in range(draw(st.integers(0, 3 if depth < 2 else 0))):
        title = draw(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
        children = draw(outlines(pages, depth + 1))
        marks.append((title, draw(st.integers(0, pages - 1)), children))
    return marks


@st.composite
def pdfs(draw: st.DrawFn) -> bytes:
    pages = draw(st.lists(st.lists(pdf_line, max_size=12), min_size=1, max_size=4))
    outline = draw(outlines(len(pages)))
    return make_pdf(pages, outline=outline)  # type: ignore[arg-type]


@PROPERTY
@given(pdf=pdfs())
def test_random_pdfs_with_outlines_and_font_sizes(tmp_path: Path, pdf: bytes) -> None:
    check_loads_soundly(write(tmp_path, ".pdf", pdf))


@pytest.mark.parametrize("suffix", [".pdf", ".docx"])
@PROPERTY
@given(data=st.data())
def test_damaged_files(tmp_path: Path, suffix: str, data: st.DataObject) -> None:
    """A valid file cut short or with bytes overwritten."""
    if suffix == ".pdf":
        original = make_pdf([["Heading", "Some text."], ["More."]], outline=[("Heading", 0, [])])
    else:
        original = make_docx(
            [("heading", "Heading", 1), ("para", "Some text."), ("table", [["a", "b"]])]
        )
    damaged = bytearray(original[: data.draw(st.integers(0, len(original)))])
    for _ in range(data.draw(st.integers(0, 8))):
        if damaged:
            at = data.draw(st.integers(0, len(damaged) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    check_loads_soundly(write(tmp_path, suffix, bytes(damaged)))
