"""One ONNX export of the question model per model, shared by every index built from it.

Exporting, fusing and quantising the embedding model takes about half of a
small corpus's build. The export depends only on the model's files, the export
code and the libraries that write it, so it is made once into a cache folder
keyed by those, and each new index copies it into its own generation (an index
stays self-contained: a reader opens the generation's own ``model/``).

An entry is written into a temporary folder and renamed into place, so two
builds at once never see half an entry; its ``entry.json``, written last, lists
every file's size and SHA-256, and an entry that no longer matches them is
exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

logger = logging.getLogger(__name__)

# Raise when the export code changes what it writes (index/embedder.py export_onnx,
# index/onnx.py fuse_bert): every cached export is then made again.
EXPORT_VERSION = 1
ENTRY = "entry.json"
# The libraries whose versions change what an export writes.
_WRITERS = ("torch", "transformers", "onnx", "onnxruntime", "sentence-transformers")


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/quotebot/models``, else ``~/.cache/quotebot/models``."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "quotebot" / "models"


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def model_key(name: str, model_dir: Path) -> str:
    """The cache key of ``name`` loaded from the local folder ``model_dir``.

    Every file of the model (weights, configs, tokenizer), the name written into
    the export's config, the export code's version and the writing libraries'
    versions: a change to any of them makes a new key.
    """
    h = hashlib.sha256()
    h.update(f"quotebot-export {EXPORT_VERSION}\0{name}\0".encode())
    for lib in _WRITERS:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{lib}={version}\0".encode())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(model_dir).as_posix()}\0{_digest(f)}\0".encode())
    return h.hexdigest()[:32]


def _intact(entry: Path) -> bool:
    """Whether ``entry`` holds exactly the files its ``entry.json`` lists, unchanged."""
    try:
        listed = json.loads((entry / ENTRY).read_text())["files"]
        for name, meta in listed.items():
            f = entry / name
            if f.stat().st_size != meta["size"] or _digest(f) != meta["sha256"]:
                return False
        return bool(listed) and "model.onnx" in listed
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _seal(folder: Path) -> None:
    """Write ``entry.json``: what :func:`_intact` checks the folder against later."""
    files = {
        f.name: {"size": f.stat().st_size, "sha256": _digest(f)}
        for f in sorted(folder.iterdir())
        if f.is_file() and f.name != ENTRY
    }
    (folder / ENTRY).write_text(json.dumps({"files": files}, indent=2))


def _copy(entry: Path, target: Path) -> None:
    """Copy the entry's files (not its ``entry.json``) into ``target``.

    A copy, not a hard link: a cache file damaged in place must not damage the
    indexes made from it. The copies keep the entry's modification times.
    """
    target.mkdir(parents=True, exist_ok=True)
    for f in entry.iterdir():
        if f.name != ENTRY:
            shutil.copy2(f, target / f.name)


def _set_aside(entry: Path) -> None:
    """Move ``entry`` out of the way (rename, then delete): a reader never sees it half gone."""
    aside = entry.with_name(f".old-{entry.name}-{secrets.token_hex(3)}")
    try:
        os.rename(entry, aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def place(
    target: Path,
    *,
    key: str,
    export: Callable[[Path], None],
    folder: Path,
    renew: bool = False,
) -> bool:
    """Put the export of ``key`` into ``target``, from the cache when it holds an intact copy.

    ``export(path)`` writes a fresh export; ``renew`` makes one even when the
    cache holds a copy (``quotebot index --rebuild``) and replaces that copy.
    True when the cached copy was used. A cache folder that cannot be written
    costs only the sharing: the export is then written straight into ``target``.
    Errors of ``export`` itself (ModelError) propagate.
    """
    entry = folder / key
    if not renew and entry.is_dir():
        if _intact(entry):
            try:
                _copy(entry, target)
                return True
            except OSError:  # replaced meanwhile by another build: export below
                shutil.rmtree(target, ignore_errors=True)
        else:
            logger.warning(
                "The cached question model in %s was damaged; exporting it again.", entry
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fresh = folder / f".tmp-{key}-{secrets.token_hex(3)}"
        fresh.mkdir()
    except OSError as exc:
        logger.warning("Cannot cache the question model in %s: %s", folder, exc.strerror)
        export(target)
        return False
    try:
        export(fresh)
        _seal(fresh)
        _copy(fresh, target)
        if renew or (entry.is_dir() and not _intact(entry)):
            _set_aside(entry)
        try:
            os.rename(fresh, entry)
        except OSError:
            pass  # another build placed its own export first: keep that one
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return False
