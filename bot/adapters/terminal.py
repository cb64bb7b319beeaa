"""The terminal front end: pretty answers and the interactive chat."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from bot import messages, render
from bot.answers import Answer, Quote, SourceInfo
from bot.errors import QuotebotError
from bot.followup import Turn

logger = logging.getLogger(__name__)

# C0 and C1 controls (but newline and tab), DEL, and the bidirectional overrides that
# reorder what a terminal shows: in corpus text they could retitle the window, clear
# the screen or disguise a quote, so the terminal shows them as harmless symbols.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture", e.g. ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def neutralise(text: str) -> str:
    """``text`` with every control or escape character replaced by a visible stand-in."""
    return _UNSAFE.sub(_visible, text)


def _console() -> Any:
    from rich.console import Console

    # No emoji codes: a document's "root:x:0" must not be shown as "root❌0".
    return Console(highlight=False, emoji=False)


def _say(console: Any, text: str, style: str = "") -> None:
    """Print ``text`` as it is: no markup, no emoji codes (":x:"), controls made visible."""
    from rich.text import Text

    console.print(Text(neutralise(text), style=style))


def print_answer(answer: Answer, console: Any = None) -> None:
    from rich.padding import Padding
    from rich.text import Text

    console = console or _console()

    if answer.truncated:
        _say(console, messages.QUESTION_TRUNCATED.format(limit=len(answer.question)), "dim")
    if answer.abstained:
        why, header = render.declined(answer)
        _say(console, why, "bold yellow")
        if answer.closest:
            _say(console, header, "dim")
    for n, quote in enumerate(render.shown_quotes(answer), start=1):
        style = "dim" if answer.abstained else "default"
        if render.is_code(quote):
            # Code is shown as written, indented under the others, without quotation marks.
            code = Text(neutralise(quote.text), style="dim" if answer.abstained else "green")
            console.print(Padding(code, (0, 0, 0, 4), expand=False))
            _say(console, f"  [{n}] {render.citation(quote)}{_link(quote)}", "cyan")
            continue
        parts = render.marked(quote, quote.text)
        body: list[Any] = [neutralise(quote.text)]
        if parts is not None:
            before, phrase, after = parts
            body = [neutralise(before), (neutralise(phrase), "bold reverse"), neutralise(after)]
        text = Text.assemble("“", *body, "”", style=style)
        console.print(Padding(text, (0, 0, 0, 2), expand=False))
        _say(console, f"  [{n}] {render.citation(quote)}{_link(quote)}", "cyan")
    _say(console, render.confidence_line(answer), "dim")


def _link(quote: Quote) -> str:
    url = render.link(quote)
    return f" <{url}>" if url else ""


def print_sources(sources: list[SourceInfo], manifest: dict[str, Any], console: Any = None) -> None:
    from rich.table import Table
    from rich.text import Text

    console = console or _console()
    table = Table(title="Indexed documents")
    table.add_column("Document")
    table.add_column("Title")
    table.add_column("¶", justify="right")
    table.add_column("Source")
    for s in sources:
        table.add_row(
            *(Text(neutralise(cell)) for cell in (s.document, s.title, str(s.paragraphs))),
            Text(neutralise(s.source) or "—"),
        )
    console.print(table)
    _say(
        console,
        f"{manifest.get('sentences')} sentences, index kind {manifest.get('index_kind')}, "
        f"model {manifest.get('model')}, built {manifest.get('built_at')}",
        "dim",
    )


def chat(service: Any, stdin: Any = None, console: Any = None) -> None:
    """Read commands until EOF, /quit or Ctrl-C: ``/ask …``, ``/sources``, ``/help``."""
    stdin = stdin or sys.stdin
    console = console or _console()
    try:
        _chat(service, stdin, console)
    except KeyboardInterrupt:
        console.print()  # Ctrl-C is how people leave a terminal program: not an error


def _chat(service: Any, stdin: Any, console: Any) -> None:
    """Read commands until EOF or /quit: ``/ask …``, ``/sources``, ``/help``; a bare line asks."""
    from rich.text import Text

    interactive = stdin.isatty()
    if interactive:
        console.print(
            Text.assemble(
                ("quotebot", "bold"),
                " — ask about: " + neutralise(", ".join(s.title for s in service.sources())),
                "\nType a question, /help, or /quit.",
            )
        )
    previous: Turn | None = None
    while True:
        if interactive:
            try:
                line = console.input("[bold green]> [/]")
            except EOFError:
                break
        else:
            line = stdin.readline()
            if not line:
                break
        line = line.strip()
        if not line:
            continue
        command, _, rest = line.partition(" ") if line.startswith("/") else ("/ask", "", line)
        command = command.lower()
        if command in ("/quit", "/exit"):
            break
        try:
            if command == "/ask":
                # As in a thread: a question that refers back follows up on the last
                # one answered (a declined question is no context).
                answer = service.ask(rest, previous)
                previous = previous if answer.abstained else Turn.of(answer)
                print_answer(answer, console)
            elif command == "/sources":
                _say(console, render.sources_text(service.sources()))
            elif command == "/help":
                _say(console, messages.TERMINAL_HELP)
            elif command == "/collection":
                from bot.collections import switch

                _say(console, switch(service, rest))
                previous = None  # another collection: a new conversation
            else:
                _say(console, f"Unknown command {command}. {messages.UNKNOWN_COMMAND}")
        except QuotebotError as exc:
            _say(console, str(exc))
        except Exception:
            logger.exception("Failed to answer a question")  # the question itself is not logged
            _say(console, messages.GENERIC_ERROR)
