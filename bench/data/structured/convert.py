"""Rebuilds the two converted files of the structured set from their Markdown sources.

Real open-licensed ``.pdf`` manuals and ``.docx`` documents with prose to ask about
are rare, so two real Markdown pages are set as such files, their text unchanged:
headings become Word heading styles / PDF bookmarks (the outline), list items Word
list styles / indented bullets, code fences monospaced blocks. Link targets and
inline markup (``**``, backticks, ``{% … %}`` tags) are dropped, their text kept.

    python bench/data/structured/convert.py SOURCE.md OUT.docx|OUT.pdf "Title"

Needs python-docx (a dependency) and reportlab (the ``bench`` extra).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Block:
    kind: str  # heading, para, bullet, number, code
    text: str
    level: int = 0  # heading level, or list nesting depth
    lines: list[str] = field(default_factory=list)


_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_TAG = re.compile(r"\{%\s*slack_channel\s+\"([^\"]+)\"\s*%\}")


def inline(text: str) -> str:
    """Markdown inline markup removed, the words kept."""
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(r"#\1", text)
    text = text.replace("\\-", "-").replace("**", "").replace("`", "")
    text = re.sub(r"<sup>\[(\d+)\]\(#\d+\)</sup>", r" (\1)", text)
    text = re.sub(r"<a [^>]*><sup>(\d+)</sup></a>", r"(\1)", text)
    text = re.sub(r"<sup>(\d+)</sup>", r" (\1)", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def parse(markdown: str) -> list[Block]:
    """Blocks of a Markdown page (front matter skipped)."""
    lines = markdown.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    blocks: list[Block] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            blocks.append(Block("para", inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append(Block("code", "\n".join(code), lines=code))
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            flush()
            blocks.append(Block("heading", inline(m.group(2)), len(m.group(1))))
        elif m := re.match(r"^(\s*)([*-]|\d+\.)\s+(.*)$", line):
            flush()
            depth = len(m.group(1).expandtabs(4)) // 2
            item = [m.group(3)]
            while (
                i + 1 < len(lines)
                and lines[i + 1].strip()
                and not re.match(r"^\s*([*-]|\d+\.)\s+", lines[i + 1])
                and lines[i + 1].startswith(" ")
            ):
                i += 1
                item.append(lines[i].strip())
            kind = "number" if m.group(2)[0].isdigit() else "bullet"
            blocks.append(Block(kind, inline(" ".join(item)), min(depth, 2)))
        elif not stripped:
            flush()
        else:
            para.append(stripped)
        i += 1
    flush()
    return blocks


def to_docx(blocks: list[Block], title: str, out: Path) -> None:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    for b in blocks:
        if b.kind == "heading":
            document.add_heading(b.text, level=min(b.level, 4))
        elif b.kind in ("bullet", "number"):
            base = "List Bullet" if b.kind == "bullet" else "List Number"
            document.add_paragraph(b.text, style=base + (f" {b.level + 1}" if b.level else ""))
        elif b.kind == "code":
            p = document.add_paragraph()
            run = p.add_run(b.text)
            run.font.name = "Courier New"
            run.font.size = Pt(9)
        else:
            document.add_paragraph(b.text)
    document.save(str(out))


def to_pdf(blocks: list[Block], title: str, out: Path) -> None:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, Preformatted, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()

    class Outlined(SimpleDocTemplate):
        """Every heading becomes a bookmark in the PDF outline, nested by level."""

        def afterFlowable(self, flowable: object) -> None:
            level = getattr(flowable, "outline_level", None)
            if level is None:
                return
            text = flowable.getPlainText()  # type: ignore[attr-defined]
            key = f"h{id(flowable)}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=level, closed=False)

    story: list = []
    top = min((b.level for b in blocks if b.kind == "heading"), default=1)
    for b in blocks:
        if b.kind == "heading":
            p = Paragraph(escape(b.text), styles[f"Heading{min(b.level, 4)}"])
            p.outline_level = b.level - top  # type: ignore[attr-defined]
            story.append(p)
        elif b.kind in ("bullet", "number"):
            style = styles["Normal"].clone("item", leftIndent=18 * (b.level + 1))
            story.append(Paragraph(escape(b.text), style, bulletText="•"))
        elif b.kind == "code":
            story.append(Preformatted(b.text, styles["Code"]))
        else:
            story.append(Paragraph(escape(b.text), styles["BodyText"]))
            story.append(Spacer(1, 4))
    doc = Outlined(str(out), pagesize=LETTER, title=title, author="")
    doc.build(story)


def main() -> None:
    source, out, title = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    blocks = parse(source.read_text(encoding="utf-8"))
    (to_docx if out.suffix == ".docx" else to_pdf)(blocks, title, out)


if __name__ == "__main__":
    main()
