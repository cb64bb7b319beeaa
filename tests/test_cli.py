"""The quotebot command, run as a user runs it, with the real bundled model."""

from __future__ import annotations

import json
import logging
import os
import pty
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot import messages

ROOT = Path(__file__).resolve().parent.parent
QUOTEBOT = [sys.executable, "-m", "bot.cli"]

pytestmark = pytest.mark.model


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        QUOTEBOT + args, env=env, input=stdin, capture_output=True, text=True, timeout=600, cwd=ROOT
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose index was built once by `quotebot index` with the real model."""
    home = tmp_path_factory.mktemp("cli")
    corpus = home / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_", "SLACK_"))
    }
    env.update(QUOTEBOT_CORPUS=str(corpus), QUOTEBOT_INDEX_DIR=str(home / "index"))
    result = run(["index"], env)
    assert result.returncode == 0, result.stderr
    assert "Indexed 1 document(s)" in result.stdout
    assert "queries via onnx" in result.stdout
    return env


def test_ask_json_answers_with_a_verbatim_cited_quote(built):
    result = run(["ask", "--json", "What did ICE call the ordinance?"], built)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "abstained", "confidence", "quotes"}
    assert answer["abstained"] is False
    first = answer["quotes"][0]
    assert '"dangerous"' in first["text"] and first["paragraph"] == 7
    text = (Path(built["QUOTEBOT_CORPUS"]) / "denver-ordinance.md").read_text()
    body = text.split("---\n", 2)[2]
    assert body[first["start"] : first["end"]] == first["text"]


def test_ask_abstains_on_a_question_the_article_does_not_answer(built):
    answer = json.loads(run(["ask", "--json", "Who won the 2018 World Cup?"], built).stdout)
    assert answer["abstained"] is True and answer["quotes"] == []
    assert answer["closest"]


def test_a_team_can_ask_for_surer_answers_only(built):
    """QUOTEBOT_MIN_CONFIDENCE (or --min-confidence) declines what is less likely right."""
    question = "How many dollars a year could the city give up?"
    plain = json.loads(run(["ask", "--json", question], built).stdout)
    assert plain["abstained"] is False and plain["confidence"] < 0.99
    bar = f"{plain['confidence'] + 0.005:.3f}"
    for args, env in (
        (["--min-confidence", bar], built),
        ([], dict(built, QUOTEBOT_MIN_CONFIDENCE=bar)),
    ):
        strict = json.loads(run([*args, "ask", "--json", question], env).stdout)
        assert strict["abstained"] is True and strict["quotes"] == []
        assert strict["closest"][0]["text"] == plain["quotes"][0]["text"]
        assert strict["declined_below"] == float(bar)
    # Said in words: not "not found", since the closest match may well hold the answer.
    shown = run(["--min-confidence", bar, "ask", question], built).stdout
    assert messages.BELOW_BAR.format(bar=float(bar)) in shown
    assert messages.NOT_FOUND not in shown
    wrong = run(["--min-confidence", "2", "ask", question], built)
    assert wrong.returncode != 0 and "QUOTEBOT_MIN_CONFIDENCE must be" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_ask_reads_one_question_per_stdin_line(built):
    questions = "How did the council vote?\n\nWho is the mayor of Denver?\n   \n"
    result = run(["ask", "--json", "-"], built, stdin=questions)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in lines] == [
        "How did the council vote?",
        "Who is the mayor of Denver?",
    ]
    assert "10-0 vote" in (lines[0]["quotes"] or lines[0]["closest"])[0]["text"]
    assert "Hancock" in (lines[1]["quotes"] or lines[1]["closest"])[0]["text"]


def test_pretty_answer_shows_quote_citation_and_confidence(built):
    result = run(["ask", "How much money would Denver lose?"], built)
    assert result.returncode == 0
    assert "$425,000" in result.stdout
    assert "¶ 12" in result.stdout
    assert "Confidence:" in result.stdout


def test_empty_question_is_one_line_on_stderr(built):
    result = run(["ask", "   "], built)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "ask a question" in result.stderr
    assert "Traceback" not in result.stderr


def test_sources_lists_the_article(built):
    result = run(["sources", "--json"], built)
    data = json.loads(result.stdout)
    assert data["index_kind"] == "flat"
    assert data["documents"][0]["paragraphs"] == 13


def test_json_output_escapes_control_and_bidi_characters(built, tmp_path):
    """A title or quote that could drive or disguise a terminal is printed escaped."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    title = "Vault \x9b31m notes \u202eexe.txt"
    text = "The vault code is 4521 and the gate \x9b2J is green."
    (corpus / "vault.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    env = dict(built, QUOTEBOT_CORPUS=str(corpus), QUOTEBOT_INDEX_DIR=str(tmp_path / "index"))
    assert run(["index"], env).returncode == 0

    sources = run(["sources", "--json"], env).stdout
    asked = run(["ask", "--json", "What is the vault code?"], env).stdout

    for printed in (sources, asked):
        assert "\x9b" not in printed and "\u202e" not in printed
        assert "\\u009b" in printed and "\\u202e" in printed
    # Escaped, not removed: the parsed values are the document's own.
    assert json.loads(sources)["documents"][0]["title"] == title
    (quote,) = json.loads(asked)["quotes"]
    assert (quote["title"], quote["text"]) == (title, text)


def test_chat_accepts_the_bots_slash_commands(built):
    script = "/help\n/sources\nWhat did ICE call the ordinance?\n/ask\n/nonsense\n/quit\n"
    result = run(["chat"], built, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "/ask <question>" in result.stdout  # help
    assert "13 paragraphs" in result.stdout  # sources
    assert "dangerous" in result.stdout  # answer
    assert "Please ask a question" in result.stdout  # empty /ask
    assert "Unknown command /nonsense" in result.stdout


def test_run_without_platforms_starts_the_terminal_chat(built):
    result = run(["run"], built, stdin="What did ICE call the ordinance?\n")
    assert result.returncode == 0, result.stderr
    assert "terminal chat" in result.stderr
    assert "dangerous" in result.stdout


def test_changed_corpus_is_noticed_and_reindexed(built, tmp_path):
    env = dict(built, QUOTEBOT_INDEX_DIR=str(tmp_path / "index"))
    corpus = Path(env["QUOTEBOT_CORPUS"]).parent / "corpus2"
    shutil.copytree(built["QUOTEBOT_CORPUS"], corpus)
    env["QUOTEBOT_CORPUS"] = str(corpus)
    assert run(["index"], env).returncode == 0
    (corpus / "zoo.txt").write_text("Zoo news\n\nThe zoo's new panda is named Bao Bao.\n")
    result = run(["ask", "--json", "What is the name of the zoo's new panda?"], env)
    assert "corpus changed" in result.stderr
    answer = json.loads(result.stdout)
    assert "Bao Bao" in (answer["quotes"] or answer["closest"])[0]["text"]


def test_index_built_with_another_model_is_refused_in_one_line(built):
    env = dict(built, QUOTEBOT_MODEL="some/other-model")
    result = run(["ask", "hello there"], env)
    assert result.returncode == 2
    assert "quotebot index --rebuild" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_empty_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    env = dict(
        os.environ,
        QUOTEBOT_CORPUS=str(tmp_path / "empty"),
        QUOTEBOT_INDEX_DIR=str(tmp_path / "index"),
    )
    result = run(["index"], env)
    assert result.returncode == 2
    assert "No documents in" in result.stderr and "Traceback" not in result.stderr


def test_answering_never_imports_torch(built):
    code = (
        "import sys\n"
        "from bot.config import Settings\n"
        "from bot.app import build_service\n"
        "s = build_service(Settings.from_env(dotenv=False))\n"
        "s.ask('How did the council vote?')\n"
        # Both readers, whether or not that answer needed them.
        "from index.reader import default_reader\n"
        "from index.phrase import default_phrase_reader\n"
        "default_reader().score('Who is the mayor?', ['Mayor Michael Hancock said so.'])\n"
        "default_phrase_reader().read('Who is the mayor?', 'Mayor Michael Hancock said so.')\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=built,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.stdout.strip() == "False False", result.stderr


def test_a_process_that_has_answered_can_still_export_the_model(built, tmp_path):
    """A running bot that indexes a fresh collection exports the model in-process,
    after its readers are loaded; the thread pool they share must not refuse it."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from index.embedder import OnnxEmbedder, SentenceTransformerEmbedder\n"
        "from index.reader import default_reader\n"
        "assert default_reader() is not None\n"
        "SentenceTransformerEmbedder().export_onnx(Path(sys.argv[1]))\n"
        "print(OnnxEmbedder(Path(sys.argv[1])).encode(['Who is the mayor?']).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env=built,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "(1, 384)"


def test_onnx_and_torch_give_nearly_the_same_vectors(tmp_path, monkeypatch):
    import numpy as np

    from index.embedder import OnnxEmbedder, SentenceTransformerEmbedder

    sentences = [
        "The Denver City Council passed the measure in a 10-0 vote.",
        "ICE called the ordinance dangerous.",
        "Ünïcödé, emoji 🤔 and punctuation!?",
        "a",
        "word " * 400,
    ]
    torch_model = SentenceTransformerEmbedder()
    # A command-line process has no logging set up. The quantiser logs through
    # logging.info(), which then gives the root logger a handler to stderr: none may
    # stay behind to print every library's records on the terminal from then on.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    torch_model.export_onnx(tmp_path)
    assert logging.getLogger().handlers == []
    a = torch_model.encode(sentences)
    b = OnnxEmbedder(tmp_path).encode(sentences)
    # 8-bit weights: close to the float vectors, not equal to them.
    assert np.all(np.sum(a * b, axis=1) >= 0.98)
    # ... close enough that a question finds the same sentence closest either way.
    questions = ["How did the council vote?", "What did ICE call it?", "who voted"]
    q = OnnxEmbedder(tmp_path).encode(questions)
    assert list(np.argmax(q @ a[:2].T, axis=1)) == list(
        np.argmax(torch_model.encode(questions) @ a[:2].T, axis=1)
    )
    # An index carries the question model: a quarter of the float model's 90 MB.
    assert (tmp_path / "model.onnx").stat().st_size < 30_000_000


def test_an_export_that_fails_leaves_no_half_written_model(tmp_path, monkeypatch):
    """The disk fills up halfway through writing the model: nothing half-written stays
    behind for a later run to mistake for the model."""
    import torch

    from index.embedder import SentenceTransformerEmbedder

    def fail_half_way(module, args, path, **options):  # type: ignore[no-untyped-def]
        Path(path).write_bytes(b"\x08\x07 half of a model")
        raise OSError(28, "No space left on device")

    model = SentenceTransformerEmbedder()
    monkeypatch.setattr(torch.onnx, "export", fail_half_way)
    with pytest.raises(OSError):
        model.export_onnx(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_questions_worded_by_readers_are_answered_or_declined(built):
    """Readers who have not seen the article paraphrase it and type as in chat.

    Measured level, kept from sliding back: 29 of the 36 questions the article
    answers (30 at the last measurement, with two near the bar) get the answer
    within the first three quotes of an answer, every
    question about something else is declined, and three quarters of the
    marked phrases are right. Short of the goal (all 36, and the 5 on-topic questions
    the article does not answer declined: one is), as the README says.
    """
    cases = json.loads((ROOT / "tests" / "data" / "denver_questions.json").read_text())
    cases = cases["questions"]
    assert len(cases) >= 40
    stdin = "".join(c["question"] + "\n" for c in cases)
    result = run(["ask", "--json", "-"], built, stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(cases)
    answered_right, missed = 0, []
    marks_right, marks_wrong = [], []
    for case, answer in zip(cases, answers, strict=True):
        quotes = [q["text"] for q in answer["quotes"][:3]]
        first = answer["quotes"][0] if answer["quotes"] else None
        if first and first["highlight"]:
            at = first["highlight"]["start"] - first["start"]
            phrase = first["text"][at : first["highlight"]["end"] - first["start"]]
            right = any(phrase in a or a in phrase for a in case["answers"])
            (marks_right if right else marks_wrong).append(f"{case['question']!r}: {phrase!r}")
        if case["answers"]:
            if not answer["abstained"] and any(a in q for q in quotes for a in case["answers"]):
                answered_right += 1
            else:
                missed.append(case["question"])
        elif not case["on_topic"]:
            assert answer["abstained"], f"answered an off-topic question: {case['question']!r}"
    answerable = sum(1 for c in cases if c["answers"])
    assert answered_right >= 29, f"{answered_right}/{answerable}; missed: {missed}"
    # The marked answer phrase, where the first quote has one: 12 of 16 marks lie
    # inside a gold answer or around one.
    assert len(marks_right) >= 12, marks_right
    assert len(marks_wrong) <= len(marks_right) / 2, marks_wrong


# --------------------------------------------------------------------------- a running bot


def own_copy(built: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    """The built environment with a corpus and index of the test's own."""
    env = dict(built, **extra)
    for name in ("QUOTEBOT_CORPUS", "QUOTEBOT_INDEX_DIR"):
        copy = tmp_path / Path(built[name]).name
        shutil.copytree(built[name], copy)
        env[name] = str(copy)
    return env


class Lines:
    """The stdout of a running process, line by line, with a bounded wait for each."""

    def __init__(self, stream: Any) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line)

    def until(self, marker: str, timeout: float = 120) -> str:
        seen = []
        deadline = time.monotonic() + timeout
        while not seen or marker not in seen[-1]:
            seen.append(self.queue.get(timeout=max(0.1, deadline - time.monotonic())))
        return "".join(seen)


def test_a_running_chat_answers_from_a_document_indexed_beside_it(built, tmp_path):
    env = own_copy(built, tmp_path, QUOTEBOT_RELOAD_SECONDS="0.5", PYTHONUNBUFFERED="1")
    question = "What is the name of the zoo's new panda?\n"
    chat = subprocess.Popen(
        [*QUOTEBOT, "chat"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert chat.stdin is not None
    try:
        lines = Lines(chat.stdout)
        chat.stdin.write(question)
        chat.stdin.flush()
        assert "Bao Bao" not in lines.until("Confidence:")

        (Path(env["QUOTEBOT_CORPUS"]) / "zoo.txt").write_text(
            "Zoo news\n\nThe zoo's new panda is named Bao Bao.\n"
        )
        assert run(["index"], env).returncode == 0
        indexed = time.monotonic()
        while True:
            chat.stdin.write(question)
            chat.stdin.flush()
            if "Bao Bao" in lines.until("Confidence:"):
                break
            assert time.monotonic() - indexed < 10, "the running chat did not pick up the index"
            time.sleep(0.5)
        chat.stdin.close()
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        chat.wait()


def test_garbage_in_current_is_one_line_and_rebuild_repairs_it(built, tmp_path):
    env = own_copy(built, tmp_path)
    (Path(env["QUOTEBOT_INDEX_DIR"]) / "CURRENT").write_bytes(b"\xff\xfe\x1b[2J\x00garbage")

    result = run(["ask", "How did the council vote?"], env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "quotebot index --rebuild" in result.stderr
    assert "\x1b" not in result.stderr

    rebuilt = run(["index", "--rebuild"], env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    answer = json.loads(run(["ask", "--json", "How did the council vote?"], env).stdout)
    assert "10-0 vote" in answer["quotes"][0]["text"]


def test_verbose_index_logs_each_stage_when_not_on_a_terminal(built, tmp_path):
    env = own_copy(built, tmp_path)
    quiet = run(["index"], env)
    assert quiet.returncode == 0 and "Reading documents" not in quiet.stderr

    result = run(["-v", "index"], env)
    assert result.returncode == 0, result.stderr
    for line in (
        "Reading documents: 1 of 1",
        "Splitting sentences: 13 of 13",
        "Embedding sentences: 0 of 0",
        "Writing the index: 8 of 8",
    ):
        assert line in result.stderr


def read_some(fd: int) -> bytes | None:
    """What the terminal printed within a second (maybe nothing); None once it has closed."""
    ready, _, _ = select.select([fd], [], [], 1)
    if not ready:
        return b""
    try:
        return os.read(fd, 4096) or None
    except OSError:
        return None


def reading_the_terminal(session: int, timeout: float) -> bool:
    """Wait until a process of ``session`` is blocked reading its standard input."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                stat = (proc / "stat").read_text()
                syscall = (proc / "syscall").read_text()
            except OSError:  # ended meanwhile, or not ours to read
                continue
            state, _, _, sid = stat.rsplit(")", 1)[1].split()[:4]
            if int(sid) == session and state == "S" and syscall.startswith("0 0x0 "):
                return True  # read(0, …): waiting for a key
        time.sleep(0.05)
    return False


def in_a_terminal(argv: list[str], env: dict[str, str], keys: bytes) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal, press ``keys`` at its first prompt; (status, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the program, on the terminal
        os.chdir(ROOT)
        # As in an interactive shell, even when the tests run in the background
        # (where SIGINT is ignored, and an ignored signal is inherited).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # A program still running at the end is sent SIGABRT: every thread's stack is
        # printed to the terminal, so a failure shows where it hung.
        os.execvpe(argv[0], argv, {**env, "PYTHONFAULTHANDLER": "1"})
    output = b""
    pressed = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        chunk = read_some(fd)
        if chunk is None:  # the terminal closed: the program ended
            break
        output += chunk
        if not pressed and b"> " in output:
            # As a person does: once the program waits for a key. A SIGINT that lands
            # after the prompt is out but before input() reads is handled in C, yet
            # the read then blocks until the next key (CPython checks for signals
            # only when a read is interrupted); it took a busy machine to hit it.
            reading_the_terminal(pid, timeout=30)
            os.write(fd, keys)
            pressed = True
    ended, status = os.waitpid(pid, os.WNOHANG)
    grace = time.monotonic() + 10
    while not ended and pressed and time.monotonic() < grace:
        time.sleep(0.1)
        ended, status = os.waitpid(pid, os.WNOHANG)
    if not ended:
        os.killpg(pid, signal.SIGABRT)  # the program and any it started (make's quotebot)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (chunk := read_some(fd)) is not None:
            output += chunk
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode(errors="replace")
    assert pressed and ended, f"still running after Ctrl-C: {text}"
    return os.waitstatus_to_exitcode(status), text


def test_ctrl_c_ends_the_terminal_chat_with_status_0(built):
    status, output = in_a_terminal([*QUOTEBOT, "chat"], built, b"\x03")
    assert status == 0, output
    assert "Traceback" not in output


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "quotebot").exists(), reason="no .venv")
def test_ctrl_c_in_make_run_is_not_reported_as_an_error(built):
    env = {k: v for k, v in built.items() if not k.startswith("MAKE")}
    # -o: never reinstall .venv from a test, whatever the timestamps say.
    make = ["make", "-s", "-C", str(ROOT), "-o", ".venv/.installed", "run"]
    _, output = in_a_terminal(make, env, b"\x03")
    assert "Error 130" not in output and "make: ***" not in output, output
    assert "Traceback" not in output


def test_two_index_commands_at_once_both_succeed_and_leave_an_index_that_answers(built, tmp_path):
    env = own_copy(built, tmp_path)
    env["QUOTEBOT_INDEX_DIR"] = str(tmp_path / "fresh-index")  # nothing to reuse: both must build
    builds = [
        subprocess.Popen(
            [*QUOTEBOT, "index"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [b.communicate(timeout=600) for b in builds]
    for b, (out, err) in zip(builds, results, strict=True):
        assert b.returncode == 0, err
        assert "Indexed 1 document(s)" in out and "Traceback" not in err
    # Whichever came second waited for the first and reused its vectors and model export.
    assert any("1 unchanged" in out and "queries via onnx" in out for out, _ in results)

    answer = json.loads(run(["ask", "--json", "How did the council vote?"], env).stdout)
    assert "10-0 vote" in answer["quotes"][0]["text"]


def test_a_second_index_copies_the_exported_question_model(built, tmp_path):
    """The question model is exported once per model: another index built from the same
    model copies the cached export, and a fresh process answers from that copy."""
    from index.embedder import BUNDLED_MODEL, resolve_model
    from index.model_cache import default_folder, model_key

    entry = default_folder() / model_key(BUNDLED_MODEL, Path(resolve_model(BUNDLED_MODEL)))
    exported = (entry / "model.onnx").stat().st_mtime_ns
    env = {**built, "QUOTEBOT_INDEX_DIR": str(tmp_path / "index")}
    result = run(["index"], env)
    assert result.returncode == 0, result.stderr
    assert "queries via onnx" in result.stdout
    (generation,) = [p for p in (tmp_path / "index").iterdir() if p.name.startswith("gen-")]
    # A copy of the cached file (copies keep its time), not a new export.
    assert (generation / "model" / "model.onnx").stat().st_mtime_ns == exported
    assert (entry / "model.onnx").stat().st_mtime_ns == exported
    answer = json.loads(run(["ask", "--json", "What did ICE call the ordinance?"], env).stdout)
    assert answer["abstained"] is False and answer["quotes"]


def test_the_embedding_bar_shows_the_rate_and_the_time_left():
    """A big build's bar says how many sentences it embeds per second and how long is left."""
    from rich.progress import Progress, TimeRemainingColumn

    from bot.cli import _rate_column

    clock = [0.0]
    bar = Progress(get_time=lambda: clock[0])
    task = bar.add_task("Embedding sentences", total=1000)
    assert str(_rate_column().render(bar.tasks[0])) == ""  # nothing measured yet
    for done in (100, 200, 300):
        clock[0] += 1.0
        bar.update(task, completed=done)
    assert str(_rate_column().render(bar.tasks[0])) == "100/s"
    assert str(TimeRemainingColumn().render(bar.tasks[0])) == "0:00:07"
