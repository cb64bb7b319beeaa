"""Structure kept from documents: headings as sections, lists, tables and code as blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder, fake_factory

from bot.app import build_service
from bot.config import Settings
from index import store
from index.build import build
from index.documents import Document, load_document
from index.passages import split_document


def outline(doc: Document) -> list[tuple[str, str, list[str]]]:
    """``(kind, text, trail titles)`` of each paragraph, after checking offsets are verbatim."""
    rows = []
    assert len(doc.blocks) in (0, len(doc.paragraphs))
    for n, (start, end) in enumerate(doc.paragraphs, start=1):
        piece = doc.text[start:end]
        assert piece and piece == piece.strip()
        rows.append((doc.block(n).kind, piece, [s.title for s in doc.trail(n)]))
    return rows


def load(tmp_path: Path, name: str, content: str) -> Document:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return load_document(path, name)


# --------------------------------------------------------------------------- Markdown

HANDBOOK = """\
---
title: Staff handbook
source: https://example.org/handbook
---
# Staff handbook

Welcome to the team.

## Leave policy

You can take leave as follows:

- Annual leave: 25 days
- Sick leave: as needed,
  with a note after three days
  - A doctor's note after *three* days
- Parental leave

1. Ask your manager
2. Fill in the form

### Parental `leave`

| Type | Weeks |
|------|------:|
| Maternity | 26 |
| Paternity | 2 |

```bash
apply --leave parental
```

Leave policy
------------

    $ leave --balance
    25 days
"""


def test_markdown_headings_lists_tables_and_code_keep_their_kind_and_trail(
    tmp_path: Path,
) -> None:
    doc = load(tmp_path, "handbook.md", HANDBOOK)

    leave = ["Staff handbook", "Leave policy"]
    assert outline(doc) == [
        ("prose", "Welcome to the team.", ["Staff handbook"]),
        ("prose", "You can take leave as follows:", leave),
        ("item", "Annual leave: 25 days", leave),
        ("item", "Sick leave: as needed,\n  with a note after three days", leave),
        ("item", "A doctor's note after *three* days", leave),
        ("item", "Parental leave", leave),
        ("item", "Ask your manager", leave),
        ("item", "Fill in the form", leave),
        ("header", "| Type | Weeks |", [*leave, "Parental leave"]),
        ("row", "| Maternity | 26 |", [*leave, "Parental leave"]),
        ("row", "| Paternity | 2 |", [*leave, "Parental leave"]),
        ("code", "apply --leave parental", [*leave, "Parental leave"]),
        ("code", "$ leave --balance\n    25 days", ["Staff handbook", "Leave policy"]),
    ]
    blocks = doc.blocks
    # The bulleted list (with its nested item) is one group, the numbered list another,
    # the table a third; the nested item knows it is nested.
    assert len({b.group for b in blocks[2:6]}) == 1
    assert blocks[4].depth == 1 and blocks[2].depth == 0
    assert blocks[6].group == blocks[7].group != blocks[2].group
    assert len({b.group for b in blocks[8:11]} - {blocks[2].group, blocks[6].group}) == 1
    assert blocks[0].group is None
    # GitHub's anchors: a repeated heading gets -1.
    assert [(s.title, s.level, s.anchor) for s in doc.sections] == [
        ("Staff handbook", 1, "staff-handbook"),
        ("Leave policy", 2, "leave-policy"),
        ("Parental leave", 3, "parental-leave"),
        ("Leave policy", 2, "leave-policy-1"),
    ]
    assert doc.title == "Staff handbook"


def test_markdown_bold_questions_head_faq_entries_below_their_heading(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "faq.md",
        "# Help\n\n## Accounts\n\n**How do I reset my password?**\n"
        "Open *Settings* and choose Reset.\n\n"
        "**Can I change my user name?**\n\nNo: it is fixed once chosen.\n\n"
        "**Note:** bold text that is not a question stays prose.\n\n"
        "## Billing\n\nInvoices arrive monthly.\n",
    )

    assert outline(doc) == [
        (
            "prose",
            "Open *Settings* and choose Reset.",
            ["Help", "Accounts", "How do I reset my password?"],
        ),
        (
            "prose",
            "No: it is fixed once chosen.",
            ["Help", "Accounts", "Can I change my user name?"],
        ),
        (
            "prose",
            "**Note:** bold text that is not a question stays prose.",
            ["Help", "Accounts", "Can I change my user name?"],
        ),
        ("prose", "Invoices arrive monthly.", ["Help", "Billing"]),
    ]
    question = doc.sections[doc.block(1).section or 0]
    assert (question.level, question.anchor) == (3, "")


def test_markdown_heading_markup_and_punctuation_make_github_slugs(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "api.md",
        "## What's [new](https://x.org) in **v2.0**?\n\nText.\n\n## FAQ\n\nA.\n\n## FAQ\n\nB.\n\n"
        "## `quotebot eval` -- options\n\nC.\n\n"
        "## Why does `brew upgrade <formula>` upgrade <b>more</b>?\n\nD.\n",
    )

    assert [(s.title, s.anchor) for s in doc.sections] == [
        ("What's new in v2.0?", "whats-new-in-v20"),
        ("FAQ", "faq"),
        ("FAQ", "faq-1"),
        ("quotebot eval -- options", "quotebot-eval----options"),
        # In a code span <formula> is text, not a tag; outside one a tag is markup.
        (
            "Why does brew upgrade <formula> upgrade more?",
            "why-does-brew-upgrade-formula-upgrade-more",
        ),
    ]


def test_a_markdown_table_right_below_its_lead_in_is_still_a_table(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "prices.md",
        "Prices per plan:\n| Plan | Price |\n|---|---|\n| Team | 29 euros |\nAfter the table.\n",
    )

    assert outline(doc) == [
        ("prose", "Prices per plan:", []),
        ("header", "| Plan | Price |", []),
        ("row", "| Team | 29 euros |", []),
        ("prose", "After the table.", []),
    ]


def test_markdown_prose_without_structure_reads_as_before(tmp_path: Path) -> None:
    doc = load(tmp_path, "plain.md", "First paragraph\nwraps here.\n\nSecond one.\n")

    assert outline(doc) == [
        ("prose", "First paragraph\nwraps here.", []),
        ("prose", "Second one.", []),
    ]


# --------------------------------------------------------------------------- units and the index


def test_list_items_rows_and_code_are_one_unit_each_and_prose_is_split(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "setup.md",
        "## Install\n\nRun the installer first. Then restart the machine to finish.\n\n"
        "- Step one is short. It has two sentences.\n\n"
        "| Key | Meaning |\n|---|---|\n| A. B. | Two sentences in a cell. |\n\n"
        "```python\nx = 1. \ny = 2. Then more code.\n```\n",
    )

    units = [
        (doc.block(s.paragraph).kind, doc.text[s.start : s.end]) for s in split_document(doc, 0)
    ]

    assert units == [
        ("prose", "Run the installer first."),
        ("prose", "Then restart the machine to finish."),
        ("item", "Step one is short. It has two sentences."),
        ("header", "| Key | Meaning |"),
        ("row", "| A. B. | Two sentences in a cell. |"),
        ("code", "x = 1. \ny = 2. Then more code."),
    ]


def test_the_saved_index_keeps_blocks_and_sections(tmp_path: Path) -> None:
    doc = load(tmp_path, "handbook.md", HANDBOOK)
    plain = load(tmp_path, "plain.txt", "Just prose.\n\nMore prose.\n")
    live = store.save_index(store.build_index([doc, plain], FakeEmbedder()), tmp_path / "index")

    loaded = store.load_index(tmp_path / "index")

    assert loaded.documents == [doc, plain]
    assert loaded.documents[0].trail(9)[-1].anchor == "parental-leave"
    stored = json.loads((live / "documents.json").read_text())
    assert "sections" not in stored[1]  # a document without structure costs nothing extra


def test_an_index_in_the_previous_format_is_rebuilt_not_refused(
    fake_settings: Settings,
) -> None:
    (fake_settings.corpus / "guide.md").write_text("## Where\n\nGlass goes in the green bin.\n")
    build(fake_settings.index_spec(), embedder_factory=fake_factory)
    generation = fake_settings.index_dir / (fake_settings.index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["format_version"] = store.FORMAT_VERSION - 1
    (generation / "manifest.json").write_text(json.dumps(manifest))

    service = build_service(fake_settings, embedder_factory=fake_factory)

    assert any(d.sections for d in service.index.documents)


# --------------------------------------------------------------------------- HTML

STRUCTURE = Path(__file__).resolve().parent / "data" / "structure"


def test_a_saved_help_page_keeps_its_article_and_drops_banner_navigation_and_footer() -> None:
    doc = load_document(STRUCTURE / "help.html", "help.html")

    assert doc.title == "Accounts and billing"  # the h1, not "… | Example Co"
    assert doc.source == "https://example.org/help/accounts"
    for furniture in ("cookies", "Pricing", "Getting started", "All rights reserved", "dataLayer"):
        assert furniture not in doc.text
    reset = ["Accounts and billing", "Accounts", "How do I reset my password?"]
    billing = ["Accounts and billing", "Billing"]
    api = ["Accounts and billing", "Using the API"]
    assert outline(doc) == [
        (
            "prose",
            "This page answers the questions our support team hears most often about "
            "accounts, invoices and payment methods.",
            ["Accounts and billing"],
        ),
        (
            "prose",
            "Open the sign-in page, choose Forgot password and follow the link we send to "
            "your email address within a few minutes.",
            reset,
        ),
        (
            "prose",
            "Yes. Go to Settings, then Privacy, and choose Delete account. Your data is "
            "removed within thirty days.",
            ["Accounts and billing", "Accounts", "Can I delete my account?"],
        ),
        ("prose", "We accept the following payment methods for every plan:", billing),
        ("item", "Credit and debit cards from all major networks", billing),
        ("item", "Bank transfer for annual plans", billing),
        ("item", "Invoices for companies with more than fifty seats", billing),
        ("header", "Plan | Monthly price | Seats", billing),
        ("row", "Starter | 9 euros | 3", billing),
        ("row", "Team | 29 euros | 15", billing),
        (
            "prose",
            "Create a token in the dashboard and pass it with each request as shown below.",
            api,
        ),
        (
            "code",
            'curl -H "Authorization: Bearer $TOKEN" \\\n     https://api.example.org/v1/invoices',
            api,
        ),
        (
            "prose",
            "A seat is one named person who can sign in to your workspace at the same time "
            "as others.",
            [*api, "What is a seat?"],
        ),
        (
            "prose",
            "We refund any annual plan within fourteen days of purchase, no questions asked.",
            [*api, "Do you offer refunds?"],
        ),
    ]
    anchors = {s.title: s.anchor for s in doc.sections}
    assert anchors["How do I reset my password?"] == "reset-password"  # the heading's id
    assert anchors["Can I delete my account?"] == "delete-account"  # an <a name> inside it
    assert anchors["Billing"] == "billing"
    assert doc.blocks[4].group == doc.blocks[6].group != doc.blocks[7].group


def test_html_nested_lists_and_content_after_a_definition_list(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "glossary.html",
        "<html><body><main><h2 id='terms'>Terms</h2>"
        "<ul><li>Fruit<ul><li>Apple</li><li>Pear</li></ul></li><li>Bread</li></ul>"
        "<dl><dt id='q'>Is rye bread?</dt><dd><p>Yes, rye is a bread.</p></dd></dl>"
        "<p>After the glossary comes this closing remark about terms.</p>"
        "<details id='more'><summary>Why so short?</summary>Space is limited here.</details>"
        "</main></body></html>",
    )

    assert outline(doc) == [
        ("item", "Fruit", ["Terms"]),
        ("item", "Apple", ["Terms"]),
        ("item", "Pear", ["Terms"]),
        ("item", "Bread", ["Terms"]),
        ("prose", "Yes, rye is a bread.", ["Terms", "Is rye bread?"]),
        ("prose", "After the glossary comes this closing remark about terms.", ["Terms"]),
        ("prose", "Space is limited here.", ["Terms", "Why so short?"]),
    ]
    assert [b.depth for b in doc.blocks[:4]] == [0, 1, 1, 0]
    assert len({b.group for b in doc.blocks[:4]}) == 1
    assert [(s.title, s.anchor) for s in doc.sections][1:] == [
        ("Is rye bread?", "q"),
        ("Why so short?", "more"),
    ]


# --------------------------------------------------------------------------- plain text

POLICY = """\
Remote work policy

Scope
=====

This policy covers every employee of the company.

1. Eligibility

1.1 Who may apply

Staff who finished their probation may apply.
Contractors may not.

Equipment Provided

The company provides:
- a laptop
- a headset and a second screen,
  delivered to your home
- Internet costs up to 30 euros

Steps to apply:
1) Write to your manager
2) Fill in the form

Thank you for reading.
"""


def test_plain_text_headings_and_bullets(tmp_path: Path) -> None:
    doc = load(tmp_path, "policy.txt", POLICY)

    applying = ["1. Eligibility", "1.1 Who may apply"]  # a level-1 number closes "Scope"
    equipment = [*applying, "Equipment Provided"]
    assert outline(doc) == [
        ("prose", "Remote work policy", []),
        ("prose", "This policy covers every employee of the company.", ["Scope"]),
        ("prose", "Staff who finished their probation may apply.\nContractors may not.", applying),
        ("prose", "The company provides:", equipment),
        ("item", "a laptop", equipment),
        ("item", "a headset and a second screen,\n  delivered to your home", equipment),
        ("item", "Internet costs up to 30 euros", equipment),
        ("prose", "Steps to apply:", equipment),
        ("item", "Write to your manager", equipment),
        ("item", "Fill in the form", equipment),
        ("prose", "Thank you for reading.", equipment),
    ]
    assert doc.title == "Remote work policy"
    assert [(s.title, s.level) for s in doc.sections] == [
        ("Scope", 1),
        ("1. Eligibility", 1),
        ("1.1 Who may apply", 2),
        ("Equipment Provided", 3),
    ]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            "Ozone facts\n\nTrioxygen (O\n3) is usually known as ozone. Ozone forms when O\n"
            "2 combines with oxygen. Tetraoxygen (O\n4) was found in 2001.\n",
            id="wrapped prose whose lines start with numbers",
        ),
        pytest.param(
            "Minutes of the meeting\n\nThe council met on Monday.\n\n"
            "1. The budget was approved.\n\nThe Mayor Spoke.\n\nIt ended at nine.\n",
            id="a numbered sentence and a one-line sentence are prose",
        ),
        pytest.param(
            "Notes\n\nThe figure rose - as expected\n- said the report - by ten percent.\n",
            id="a dash inside wrapped prose",
        ),
    ],
)
def test_plain_prose_reads_exactly_as_before(tmp_path: Path, content: str) -> None:
    from index.documents import _blocks

    doc = load(tmp_path, "prose.txt", content)

    assert list(doc.paragraphs) == _blocks(content)
    assert doc.blocks == () and doc.sections == ()
