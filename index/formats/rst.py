"""reStructuredText (``.rst``): parsed with docutils, text built from the doctree.

docutils knows where a node came from only by line, so the document's text is
built from the parse (see :mod:`index.formats.builder`) rather than cut from the
source: each section title on its line, then paragraphs, list items, table rows
(cells joined by " | ") and literal blocks, separated by blank lines. Markup is
gone; what a reader of the rendered page sees is kept.

Sphinx's directives and roles (``.. code-block::``, ``.. note::``,
``.. versionadded::``, ``:func:`...```) are not docutils', so any directive or
role the source uses that docutils does not know is registered before parsing
with a permissive handler that keeps its text. Nothing is read from other files
and no raw markup is passed through. A source docutils cannot parse at all is
read as plain text, in blank-line paragraphs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.documents import (
    CODE,
    HEADER,
    ITEM,
    ROW,
    Document,
    _blocks,
    _decode,
    _pretty_stem,
    _read_bytes,
)
from index.formats.builder import TextBuilder

_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+([A-Za-z0-9][\w:.+-]*)[ \t]*::", re.MULTILINE)
_ROLE = re.compile(r":([A-Za-z0-9][\w:.+-]*):`")
# ``Title <target>`` in a role's text: the reader sees the title.
_EXPLICIT_TITLE = re.compile(r"^(.+?)\s*<[^<>]*>$", re.DOTALL)

# Directives whose content is code, shown as it is.
_CODE_DIRECTIVES = frozenset(
    {
        "code-block",
        "sourcecode",
        "testcode",
        "testoutput",
        "doctest",
        "testsetup",
        "ipython",
        "jupyter-execute",
        "prompt",
        "productionlist",
    }
)
# Directives that show nothing readable here: another file's text, a generated
# listing, or configuration of the build.
_SKIPPED_DIRECTIVES = frozenset(
    {
        "toctree",
        "literalinclude",
        "highlight",
        "index",
        "tabularcolumns",
        "currentmodule",
        "module",
        "automodule",
        "autoclass",
        "autofunction",
        "automethod",
        "autoattribute",
        "autodata",
        "autoexception",
        "autosummary",
        "autoprogram",
        "sectionauthor",
        "codeauthor",
        "default-role",
        "default-domain",
        "graphviz",
        "digraph",
        "graph",
        "inheritance-diagram",
        "plot",
        "mermaid",
    }
)
# Directives whose argument is a condition or a layout setting, not text to read.
_CONTENT_ONLY_DIRECTIVES = frozenset(
    {"only", "ifconfig", "tabs", "grid", "grid-item", "rst-class", "cssclass", "class"}
)
_VERSION_DIRECTIVES = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
_QUESTION = re.compile(r"\?[\"'”’)\]]*$")
_SETTINGS = {
    "report_level": 5,
    "halt_level": 5,
    "warning_stream": False,
    "traceback": True,
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "syntax_highlight": "none",
    "smart_quotes": False,
    "doctitle_xform": False,
    "sectsubtitle_xform": False,
    "docinfo_xform": False,
    "input_encoding": "unicode",
    "output_encoding": "unicode",
    "character_level_inline_markup": False,
    "pep_references": False,
    "rfc_references": False,
}


def load(path: Path, doc_id: str) -> Document:
    source = _decode(path, _read_bytes(path))
    try:
        tree = _parse(source, str(path))
        builder = TextBuilder()
        _Walker(builder).walk(tree)
    except Exception:  # docutils fails on a few pathological inputs; keep the text
        return _plain(source, path, doc_id)
    title = next((s.title for s in builder.sections), "") or _pretty_stem(path)
    return builder.document(doc_id, title)


def _plain(text: str, path: Path, doc_id: str) -> Document:
    return Document(
        doc_id=doc_id, title=_pretty_stem(path), text=text, paragraphs=tuple(_blocks(text))
    )


def _parse(source: str, name: str) -> Any:
    from docutils.core import publish_doctree

    _register(source)
    return publish_doctree(source, source_path=name, settings_overrides=dict(_SETTINGS))


# --------------------------------------------------------------------------- Sphinx markup


def _register(source: str) -> None:
    """Make every directive and role ``source`` names parse, keeping the text it shows."""
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser, directives, roles
    from docutils.parsers.rst.languages import en
    from docutils.utils import new_document

    settings = get_default_settings(Parser)
    for key, value in _SETTINGS.items():
        setattr(settings, key, value)
    lookup = new_document("<lookup>", settings)
    # docutils looks directives and roles up by their lower-cased names.
    for name in {n.lower() for n in _DIRECTIVE.findall(source)}:
        known, _ = directives.directive(name, en, lookup)
        if known is None:
            directives.register_directive(name, _directive_for(name))
    for name in {n.lower() for n in _ROLE.findall(source)}:
        known, _ = roles.role(name, en, 0, lookup.reporter)
        if known is None:
            roles.register_local_role(name, _plain_role)


class _AnyOption(dict[str, Callable[[Any], Any]]):
    """An option spec that accepts every option, so unknown directives never fail on one."""

    def __missing__(self, key: str) -> Callable[[Any], Any]:
        return _any_value

    def __contains__(self, key: object) -> bool:
        return True

    def __bool__(self) -> bool:  # docutils reads options only from a non-empty spec
        return True


def _any_value(value: Any) -> Any:
    return value


def _directive_for(name: str) -> type:
    from docutils import nodes
    from docutils.parsers.rst import Directive

    base = name.rsplit(":", 1)[-1]

    class Permissive(Directive):
        has_content = True
        optional_arguments = 1
        final_argument_whitespace = True
        option_spec = _AnyOption()

        def run(self) -> list[Any]:
            argument = " ".join(self.arguments).strip()
            if base in _SKIPPED_DIRECTIVES or base.startswith("auto"):
                return []
            if base in _CODE_DIRECTIVES:
                code = "\n".join(self.content)
                return [nodes.literal_block(code, code)] if code.strip() else []
            container = nodes.container()
            if base in _VERSION_DIRECTIVES:
                # "Added in version 2.1: what changed", as Sphinx shows it.
                version, _, explanation = " ".join(argument.split()).partition(" ")
                lead = f"{_VERSION_DIRECTIVES[base]} {version}".strip()
                paragraph = nodes.paragraph()
                paragraph += nodes.Text(lead + (": " if explanation else "."))
                paragraph += self._inline(explanation)
                container += paragraph
            elif argument and base not in _CONTENT_ONLY_DIRECTIVES:
                # A signature (``.. function:: connect(host, port)``) or an admonition's
                # title: a reader sees it above the content.
                paragraph = nodes.paragraph()
                paragraph += self._inline(argument)
                container += paragraph
            if self.content:
                self.state.nested_parse(self.content, self.content_offset, container)
            return [container]

        def _inline(self, text: str) -> list[Any]:
            if not text.strip():
                return []
            parsed, _ = self.state.inline_text(text, self.lineno)
            return list(parsed)

    return Permissive


def _plain_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: Any = None,
    content: Any = None,
) -> tuple[list[Any], list[Any]]:
    """A role docutils does not know (``:func:`connect```): the text the reader sees."""
    from docutils import nodes
    from docutils.utils import unescape

    shown = unescape(text)
    if explicit := _EXPLICIT_TITLE.match(shown):
        shown = explicit.group(1)
    else:
        shown = shown.lstrip("!")
        if shown.startswith("~"):
            shown = shown[1:].rsplit(".", 1)[-1]
    return [nodes.literal(rawtext, shown)], []


# --------------------------------------------------------------------------- the doctree


class _Walker:
    """Appends a doctree's readable content to a builder, in document order."""

    def __init__(self, builder: TextBuilder) -> None:
        self.builder = builder

    def walk(self, root: Any) -> None:
        from docutils import nodes

        b = self.builder
        # An explicit stack of nodes and actions (callables, run when popped): deep
        # nesting cannot exhaust Python's own stack here.
        stack: list[Any] = list(reversed(root.children))
        depth = 0
        silent = _silent_nodes()

        def leave_section() -> None:
            nonlocal depth
            depth -= 1

        while stack:
            node = stack.pop()
            if callable(node):
                node()
            elif isinstance(node, nodes.section):
                depth += 1
                first = node.children[0] if node.children else None
                title = first if isinstance(first, nodes.title) else None
                if title is not None:
                    b.heading(title.astext(), depth, _anchor(node))
                stack.append(leave_section)
                stack.extend(reversed([c for c in node.children if c is not title]))
            elif isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
                stack.extend(reversed(self._list(node)))
            elif isinstance(node, nodes.definition_list):
                stack.extend(reversed(self._definitions(node)))
            elif isinstance(node, (nodes.field_list, nodes.option_list)):
                actions: list[Any] = []
                for entry in node.children:
                    name = _text(entry.children[0]) if entry.children else ""
                    body = entry.children[1] if len(entry.children) > 1 else None
                    if body is None or not body.astext().strip():
                        continue  # a bare flag such as Sphinx's ``:orphan:``
                    actions.extend(self._term_item(name, body, id(node)))
                stack.extend(reversed(actions))
            elif isinstance(node, nodes.table):
                self._table(node)
            elif isinstance(node, (nodes.literal_block, nodes.doctest_block)):
                b.paragraph(node.astext(), CODE)
            elif isinstance(node, nodes.line_block):
                b.paragraph("\n".join(_text(line) for line in node.findall(nodes.line)))
            elif isinstance(node, nodes.topic) and "contents" in node.get("classes", []):
                continue  # a generated table of contents
            elif isinstance(node, silent):
                continue
            elif isinstance(node, nodes.TextElement):
                # Paragraphs, rubrics, attributions, a topic's or admonition's title...
                b.paragraph(_text(node))
            elif isinstance(node, nodes.Element):
                stack.extend(reversed(node.children))

    def _list(self, node: Any) -> list[Any]:
        """Each item is one block (its paragraphs in one line); nested content follows it.

        Items of lists nested in one list share its group while they are consecutive.
        """
        from docutils import nodes

        key, depth = _outermost_list(node)
        actions: list[Any] = []
        for item in node.children:
            lead = " ".join(_text(c) for c in item.children if isinstance(c, nodes.paragraph))
            actions.append(functools.partial(self.builder.item, lead, key, ITEM, depth))
            actions.extend(c for c in item.children if not isinstance(c, nodes.paragraph))
        return actions

    def _definitions(self, node: Any) -> list[Any]:
        """A term that asks a question heads its definition (a FAQ entry); others are items."""
        from docutils import nodes

        actions: list[Any] = []
        for entry in node.children:
            term = next((c for c in entry.children if isinstance(c, nodes.term)), None)
            definition = next((c for c in entry.children if isinstance(c, nodes.definition)), None)
            term_text = _text(term) if term is not None else ""
            if not _QUESTION.search(term_text):
                actions.extend(self._term_item(term_text, definition, id(node)))
                continue
            actions.append(functools.partial(self.builder.question, term_text))
            actions.extend(definition.children if definition is not None else [])
            actions.append(self.builder.answered)
        return actions

    def _term_item(self, term: str, body: Any, key: Any) -> list[Any]:
        """``term: first paragraph`` as one item, then the rest of the body."""
        from docutils import nodes

        children = list(body.children) if body is not None else []
        text = term
        if children and isinstance(children[0], nodes.paragraph):
            text = _join_term(term, _text(children.pop(0)))
        return [functools.partial(self.builder.item, text, key), *children]

    def _table(self, node: Any) -> None:
        """Header rows (``thead``) as HEADER, body rows as ROW, one group per table."""
        from docutils import nodes

        for part in node.findall(lambda n: isinstance(n, (nodes.thead, nodes.tbody))):
            if part.parent.parent is not node:
                continue  # a table nested in a cell: its text is in the cell's
            kind = HEADER if isinstance(part, nodes.thead) else ROW
            for row in part.children:
                cells = [_text(entry) for entry in row.children]
                if any(cells):
                    self.builder.item(" | ".join(cells), id(node), kind)


def _outermost_list(node: Any) -> tuple[int, int]:
    """The outermost list ``node`` is nested in, and how deeply: nested items join its group."""
    from docutils import nodes

    outer, depth = node, 0
    parent = node.parent
    while parent is not None:
        if isinstance(parent, (nodes.bullet_list, nodes.enumerated_list)):
            outer, depth = parent, depth + 1
        parent = parent.parent
    return id(outer), depth


def _silent_nodes() -> tuple[type, ...]:
    from docutils import nodes

    return (
        nodes.comment,
        nodes.substitution_definition,
        nodes.target,
        nodes.system_message,
        nodes.pending,
        nodes.raw,
        nodes.image,
        nodes.label,
        nodes.transition,
        nodes.meta,
        nodes.problematic,
    )


def _anchor(section: Any) -> str:
    """``#id`` of a section: the id made from its own title when it has one."""
    from docutils import nodes

    ids = list(section.get("ids", []))
    for name in section.get("names", []):
        if nodes.make_id(name) in ids:
            return "#" + nodes.make_id(name)
    return "#" + ids[0] if ids else ""


def _text(node: Any) -> str:
    return " ".join(node.astext().split())


def _join_term(term: str, definition: str) -> str:
    if not term:
        return definition
    if term[-1] in ":.?!":
        return f"{term} {definition}"
    return f"{term}: {definition}"
