"""One quotebot process using an index folder, with the fake embedder (no model to load).

Tests run several at once to check that concurrent builds never break the index::

    python tests/index_worker.py build CORPUS INDEX
    python tests/index_worker.py ask CORPUS INDEX QUESTION    (builds on first use)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEmbedder  # noqa: E402

from bot.app import build_service  # noqa: E402
from bot.config import Settings  # noqa: E402
from index.build import build  # noqa: E402


def main(argv: list[str]) -> int:
    command, corpus, index, *question = argv
    settings = Settings(corpus=Path(corpus), index_dir=Path(index), model=FakeEmbedder.name)

    def notice(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def fake(name: str) -> FakeEmbedder:
        return FakeEmbedder()

    if command == "build":
        built = build(settings.index_spec(), notice=notice, embedder_factory=fake)
        print(json.dumps({"documents": len(built.documents), "generation": built.folder.name}))
    else:
        service = build_service(settings, notice=notice, embedder_factory=fake)
        print(json.dumps(service.ask(" ".join(question)).to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
