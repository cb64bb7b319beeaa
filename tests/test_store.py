"""The index folder under stress: concurrent builds, readers, damage, a full disk."""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import fake_factory as fake

from bot.app import build_service
from bot.cli import main
from bot.config import Settings
from index import store
from index.build import build
from index.errors import IndexWriteError

ROOT = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, str(Path(__file__).resolve().parent / "index_worker.py")]
ANIMALS = [("panda", "Bao Bao"), ("otter", "Pebbles"), ("heron", "Grey Wing")]


@pytest.fixture
def settings(fake_settings: Settings) -> Settings:
    return fake_settings


def add_animal(settings: Settings, n: int) -> str:
    """Add a zoo note about animal ``n``; return the question it answers."""
    animal, name = ANIMALS[n]
    (settings.corpus / f"zoo-{animal}.txt").write_text(
        f"Zoo news about the {animal}\n\nThe zoo's new {animal} is named {name}.\n"
    )
    return f"What is the zoo's new {animal} named?"


def first_quote(answer: dict | object) -> str:
    data = answer if isinstance(answer, dict) else answer.to_dict()  # type: ignore[attr-defined]
    return (data["quotes"] or data["closest"])[0]["text"]


def worker(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*WORKER, args[0], str(settings.corpus), str(settings.index_dir), *args[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def generations(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("gen-"))


# --------------------------------------------------------------------------- one writer at a time


def test_concurrent_builds_and_first_questions_always_leave_an_index_that_answers(settings):
    for n in range(len(ANIMALS)):
        question = add_animal(settings, n)
        # Round 0 has no index yet: the asker builds it on first use, beside two builds.
        procs = [worker(settings, "build"), worker(settings, "ask", question)]
        procs.append(worker(settings, "build"))
        results = [(p, *p.communicate(timeout=120)) for p in procs]
        for proc, _, err in results:
            assert proc.returncode == 0, err
            assert "Traceback" not in err
        _, asked, _ = results[1]
        name = ANIMALS[n][1]
        assert name in first_quote(json.loads(asked))
        for _, out, _ in (results[0], results[2]):
            assert json.loads(out)["documents"] == n + 2

        service = build_service(settings, embedder_factory=fake)
        assert name in first_quote(service.ask(question))
        assert len(service.sources()) == n + 2
        service.index.release()

    # nobody reads the older generations any more
    build(settings.index_spec(), embedder_factory=fake)
    names = sorted(p.name for p in settings.index_dir.iterdir())
    assert names == [".lock", "CURRENT", *generations(settings.index_dir)]
    assert len(generations(settings.index_dir)) == 1


def test_a_second_build_waits_for_the_first_with_one_notice_then_reuses_it(settings):
    build(settings.index_spec(), embedder_factory=fake)
    add_animal(settings, 0)
    with store.writer_lock(settings.index_dir):
        proc = worker(settings, "build")
        line = read_line(proc, timeout=60)
        assert "waiting for it to finish" in line and str(settings.index_dir) in line
        time.sleep(0.5)
        assert proc.poll() is None, "the second build did not wait"
        # re-entrant: the holder can still build
        build(settings.index_spec(), embedder_factory=fake)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting" not in err  # told once
    assert json.loads(out)["documents"] == 2
    manifest = store.read_manifest(settings.index_dir)
    assert manifest is not None and manifest["reused_documents"] == 2


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], timeout)
    assert ready, "no notice from the waiting build"
    return proc.stderr.readline()


# --------------------------------------------------------------------------- readers and cleaning


def test_a_generation_being_read_is_kept_until_its_reader_lets_go(settings):
    build(settings.index_spec(), embedder_factory=fake)
    reader = store.load_index(settings.index_dir, model=settings.model)
    first = reader.folder
    assert first is not None

    add_animal(settings, 0)
    build(settings.index_spec(), embedder_factory=fake)
    assert first.is_dir(), "a build deleted a generation that is still being read"
    assert reader.sentence_text(0)

    reader.release()
    add_animal(settings, 1)
    build(settings.index_spec(), embedder_factory=fake)
    assert not first.exists()
    assert len(generations(settings.index_dir)) == 1


def test_stray_temporary_folders_and_pointers_are_cleaned(settings):
    build(settings.index_spec(), embedder_factory=fake)
    folder = settings.index_dir
    (folder / ".tmp-gen-20250101T000000-abcdef").mkdir()
    (folder / ".tmp-gen-20250101T000000-abcdef" / "vectors.npy").write_bytes(b"half")
    (folder / ".CURRENT.gen-20250101T000000-abcdef").write_text("gen-20250101T000000-abcdef\n")
    (folder / "gen-20240101T000000-000000").mkdir()  # by an older quotebot: no readers file

    build(settings.index_spec(), embedder_factory=fake)

    assert sorted(p.name for p in folder.iterdir()) == [".lock", "CURRENT", *generations(folder)]
    assert len(generations(folder)) == 1


# --------------------------------------------------------------------------- recovery


def _write(data: bytes) -> Callable[[Path], None]:
    def damage(current: Path) -> None:
        current.write_bytes(data)

    return damage


def _make_folder(current: Path) -> None:
    current.unlink()
    (current / "gen-inside").mkdir(parents=True)


def _make_fifo(current: Path) -> None:
    current.unlink()
    os.mkfifo(current)


DAMAGE = {
    "not utf-8": _write(b"\xff\xfe\x00garbage\x9b2J"),
    "empty": _write(b""),
    "a missing generation": _write(b"gen-20200101T000000-000000\n"),
    "a path outside the folder": _write(b"../../etc\n"),
    "an absolute path": _write(b"/etc\n"),
    "a directory": _make_folder,
    "a fifo": _make_fifo,
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_whatever_current_holds_ask_says_one_line_and_rebuild_repairs_it(settings, damage, capsys):
    build(settings.index_spec(), embedder_factory=fake)
    damage(settings.index_dir / store.CURRENT)
    flags = ["--corpus", str(settings.corpus), "--index-dir", str(settings.index_dir)]
    flags += ["--model", settings.model]

    assert main([*flags, "ask", "How did the council vote?"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "quotebot index --rebuild" in err, err

    build(settings.index_spec(), rebuild=True, embedder_factory=fake)
    answer = build_service(settings, embedder_factory=fake).ask("What did ICE call the ordinance?")
    assert '"dangerous"' in first_quote(answer)
    names = sorted(p.name for p in settings.index_dir.iterdir())
    assert names == [".lock", "CURRENT", *generations(settings.index_dir)]


# --------------------------------------------------------------------------- failed writes


@pytest.mark.parametrize(
    ("code", "said"), [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied")]
)
def test_a_failed_write_is_one_line_and_the_previous_index_stays(settings, monkeypatch, code, said):
    build(settings.index_spec(), embedder_factory=fake)
    before = (settings.index_dir / store.CURRENT).read_text()
    question = add_animal(settings, 0)
    real_save = store.np.save

    def failing_save(path, array, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == "vectors.npy":
            raise OSError(code, os.strerror(code), str(path))
        return real_save(path, array, *args, **kwargs)

    monkeypatch.setattr(store.np, "save", failing_save)
    with pytest.raises(IndexWriteError) as failed:
        build(settings.index_spec(), embedder_factory=fake)
    message = str(failed.value)
    assert said in message and "previous index" in message and "\n" not in message

    assert (settings.index_dir / store.CURRENT).read_text() == before
    assert not [
        p for p in settings.index_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"
    ]
    previous = store.load_index(settings.index_dir, model=settings.model)
    assert [d.doc_id for d in previous.documents] == ["denver-ordinance.md"]
    previous.release()

    monkeypatch.undo()
    answer = build_service(settings, embedder_factory=fake).ask(question)
    assert "Bao Bao" in first_quote(answer)


def test_the_file_size_setting_reaches_the_build(settings):
    (settings.corpus / "huge.txt").write_text("Many words here.\n" * 70_000)
    small = Settings(**{**settings.__dict__, "max_file_mb": 1.0})
    warnings: list[str] = []

    index = build(small.index_spec(), warn=warnings.append, embedder_factory=fake)

    assert [d.doc_id for d in index.documents] == ["denver-ordinance.md"]
    assert (
        len(warnings) == 1 and "huge.txt" in warnings[0] and "QUOTEBOT_MAX_FILE_MB" in warnings[0]
    )


def test_a_serving_process_cleans_up_but_never_under_a_running_build(settings):
    build(settings.index_spec(), embedder_factory=fake)
    in_progress = settings.index_dir / ".tmp-gen-20250101T000000-abcdef"

    with store.writer_lock(settings.index_dir):
        in_progress.mkdir()  # what a build writes before it publishes
        store.remove_unused(settings.index_dir)
        assert in_progress.is_dir()

    store.remove_unused(settings.index_dir)  # the build died: its leftovers go
    assert not in_progress.exists()
    assert store.current_generation(settings.index_dir) in generations(settings.index_dir)


def test_an_index_folder_that_cannot_be_made_is_one_line_and_exit_2(settings, capsys):
    blocker = settings.index_dir.parent / "not-a-folder"
    blocker.write_text("a file where the index folder's parent should be")
    flags = ["--corpus", str(settings.corpus), "--index-dir", str(blocker / "index")]

    assert main([*flags, "--model", settings.model, "ask", "How did the council vote?"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Cannot write the index" in err and "Traceback" not in err
