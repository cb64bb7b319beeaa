"""The terminal front end: corpus text cannot drive the terminal; Ctrl-C is a clean exit."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from rich.console import Console

from bot.adapters.terminal import chat, neutralise, print_answer, print_sources
from bot.render import json_text
from bot.service import QuoteService
from index.documents import load_corpus
from index.search import Searcher
from index.store import build_index

# Retitles the window, clears the screen, rings the bell, hides text with a reverse override.
HOSTILE = "\x1b]0;pwned\x07The vault code is \x1b[2J4521\x9b31m and the gate is \u202eeno\x1b[0m."
SEQUENCES = ("\x1b]0;", "\x1b[2J", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile(tmp_path: Path) -> QuoteService:
    (tmp_path / "vault.txt").write_text(f"Vault notes \x1b[5m\n\n{HOSTILE}\n", encoding="utf-8")
    index = build_index(load_corpus(tmp_path), FakeEmbedder())
    return QuoteService(index, Searcher(index, FakeEmbedder()))


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, highlight=False), out


def test_an_answer_quoting_escape_sequences_cannot_drive_the_terminal(hostile):
    answer = hostile.ask("What is the vault code?")
    console, out = terminal()

    print_answer(answer, console)

    shown = out.getvalue()
    assert "4521" in shown and "vault code" in shown
    for sequence in SEQUENCES:
        assert sequence not in shown, repr(sequence)
    assert "␛]0;pwned␇" in shown and "␛[2J" in shown
    # The quote itself stays verbatim where it is data, not terminal output.
    quotes = json.loads(json.dumps(answer.to_dict()))["quotes"] or answer.to_dict()["closest"]
    assert HOSTILE in {q["text"] for q in quotes}


def test_json_output_escapes_what_a_terminal_would_act_on(hostile):
    printed = json_text(hostile.ask("What is the vault code?").to_dict())

    for sequence in SEQUENCES:
        assert sequence not in printed, repr(sequence)
    assert "\\u001b[2J" in printed and "\\u009b31m" in printed and "\\u202e" in printed
    assert "é" in json_text("café")  # ordinary text stays readable
    quotes = json.loads(printed)["quotes"] or json.loads(printed)["closest"]
    assert HOSTILE in {q["text"] for q in quotes}


def test_sources_and_chat_neutralise_titles_and_typed_commands(hostile):
    console, out = terminal()
    print_sources(hostile.sources(), hostile.index.manifest, console)
    chat(
        hostile,
        stdin=io.StringIO("/sources\n/\x1b[2Jboom\nWhat is the vault code?\n"),
        console=console,
    )

    shown = out.getvalue()
    assert "Vault notes" in shown and "4521" in shown
    assert "Unknown command /␛[2jboom" in shown  # commands are case-insensitive
    for sequence in SEQUENCES + ("\x1b[5m",):
        assert sequence not in shown, repr(sequence)


def test_brackets_and_emoji_codes_in_documents_are_shown_as_written(tmp_path: Path):
    """Rich markup and emoji codes in a title or a quote are text, not formatting."""
    (tmp_path / "gate.md").write_text(
        "# [red]Gate :x: notes\n\nThe gate code is root:x:0 and [bold]not[/bold] :smile:.\n",
        encoding="utf-8",
    )
    index = build_index(load_corpus(tmp_path), FakeEmbedder())
    service = QuoteService(index, Searcher(index, FakeEmbedder()))
    console, out = terminal()

    print_answer(service.ask("What is the gate code?"), console)
    print_sources(service.sources(), service.index.manifest, console)

    shown = out.getvalue()
    assert "root:x:0 and [bold]not[/bold] :smile:." in shown
    assert shown.count("[red]Gate :x: notes") == 2  # the citation and the sources table
    assert "❌" not in shown and "😄" not in shown


def test_neutralise_keeps_newlines_tabs_and_ordinary_unicode():
    text = "Line one\n\tCafé — “quoted” 😀"
    assert neutralise(text) == text
    assert neutralise("a\x00b\x7fc\x85d") == "a␀b␡c<U+0085>d"


class InterruptingStdin(io.StringIO):
    """A terminal whose user presses Ctrl-C at the prompt after one question."""

    def readline(self, *args: object) -> str:
        line = super().readline()
        if not line:
            raise KeyboardInterrupt
        return line


def test_ctrl_c_in_the_chat_ends_it_quietly(hostile):
    console, out = terminal()

    chat(hostile, stdin=InterruptingStdin("What is the vault code?\n"), console=console)

    assert "4521" in out.getvalue()
