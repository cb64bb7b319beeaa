"""The ``quotebot`` command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import messages, render
from bot.adapters.terminal import neutralise
from bot.config import Settings
from bot.errors import QuestionError, QuotebotError
from index.documents import Progress
from index.vectors import KINDS

logger = logging.getLogger("quotebot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quotebot",
        description="Answer questions about documents with verbatim, cited quotes.",
    )
    parser.add_argument("--corpus", type=Path, help="corpus folder (QUOTEBOT_CORPUS)")
    parser.add_argument("--index-dir", type=Path, help="index folder (QUOTEBOT_INDEX_DIR)")
    parser.add_argument("--model", help="embedding model (QUOTEBOT_MODEL)")
    parser.add_argument(
        "--min-confidence",
        type=float,
        metavar="P",
        help="decline answers less likely than P to be right (QUOTEBOT_MIN_CONFIDENCE)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index")
    p.set_defaults(func=_cmd_index)
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus)")
    p.add_argument("--rebuild", action="store_true", help="re-embed every document")
    p.add_argument("--kind", choices=KINDS, help="FAISS index kind (QUOTEBOT_INDEX_KIND)")
    p.add_argument("--collection", metavar="NAME", help="only this collection (default: all)")

    p = sub.add_parser("ask", help="answer one question (or one per stdin line with -)")
    p.set_defaults(func=_cmd_ask)
    p.add_argument("question", nargs="+", help="the question, or - to read questions from stdin")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--collection", metavar="NAME", help="answer from this collection")

    p = sub.add_parser("sources", help="list the indexed documents")
    p.set_defaults(func=_cmd_sources)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--collection", metavar="NAME", help="this collection's documents")

    chat = "interactive terminal chat (/ask, /sources, /collection, /help)"
    sub.add_parser("chat", help=chat).set_defaults(func=_cmd_chat)

    p = sub.add_parser("run", help="start the configured chat adapters (default: terminal chat)")
    p.set_defaults(func=_cmd_run)
    p.add_argument("platform", nargs="?", choices=["discord", "slack"], help="only this one")
    p.add_argument("--http", action="store_true", help="Slack: HTTP mode instead of Socket Mode")
    p.add_argument("--port", type=int, default=3000, help="Slack HTTP mode port (default 3000)")
    p.add_argument("--host", help="listen address for HTTP mode and --metrics-port (QUOTEBOT_HOST)")
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics and /healthz on this port (QUOTEBOT_METRICS_PORT)",
    )
    p.add_argument("--shard-count", type=int, help="Discord: total number of shards")
    p.add_argument(
        "--shard-ids",
        type=_shard_ids,
        help="Discord: the shards this process runs, e.g. 0,1 (QUOTEBOT_DISCORD_SHARDS=0,1/4)",
    )

    p = sub.add_parser("db", help="the state store (QUOTEBOT_DATABASE_URL)")
    p.set_defaults(func=_cmd_db)
    db = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db.add_parser("upgrade", help="create or migrate the schema (also done at start-up)")

    p = sub.add_parser("feedback", help="the votes users gave: export or summarise")
    p.set_defaults(func=_cmd_feedback)
    fb = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    e = fb.add_parser("export", help="rated answers as a SQuAD-format file for quotebot eval")
    e.add_argument("--since", help="only answers asked on or after this date (YYYY-MM-DD, UTC)")
    e.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    fb.add_parser("stats", help="votes and share of 👍 by collection and week")

    p = sub.add_parser(
        "eval",
        help="evaluate on a SQuAD-format file, or on a corpus folder and a .jsonl of questions",
    )
    p.set_defaults(func=_cmd_eval)
    p.add_argument("file", type=Path, help="SQuAD JSON, or questions .jsonl (with --corpus)")
    p.add_argument(
        "--corpus",
        dest="eval_corpus",
        type=Path,
        metavar="DIR",
        help=".jsonl: the documents to ask (default: QUOTEBOT_CORPUS)",
    )
    p.add_argument(
        "--index-dir",
        dest="eval_index_dir",
        type=Path,
        metavar="DIR",
        help=".jsonl: keep the index here and reuse it (default: a temporary folder)",
    )
    p.add_argument("--split", help=".jsonl: only the questions of this split (e.g. test)")
    p.add_argument("--articles", default="24:48", help="article range A:B (default 24:48)")
    p.add_argument(
        "--v2", type=Path, help="SQuAD v2.0 dev file: also ask its unanswerable questions"
    )
    p.add_argument(
        "--no-small", action="store_true", help="skip the one- and three-paragraph corpora"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("tune", help="fit the ranker on a SQuAD tuning split")
    p.set_defaults(func=_cmd_tune)
    p.add_argument("file", type=Path)
    p.add_argument("--articles", default="0:24", help="article range A:B (default 0:24)")
    p.add_argument(
        "--v2", type=Path, help="SQuAD v2.0 dev file: its unanswerable questions as negatives"
    )
    p.add_argument("--answer-rate", type=float, default=0.982, help="in-article answer target")
    p.add_argument(
        "--unseen",
        metavar="A:B",
        help="articles the sentence reader was not trained on: its weight and the "
        "confidence are fitted on these alone",
    )
    p.add_argument(
        "--read",
        type=int,
        metavar="N",
        help="best candidates the sentence reader reads per question (default 3)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.command:
        _parser().print_help()
        return 0
    try:
        settings = Settings.from_env(
            corpus=args.corpus,
            index_dir=args.index_dir,
            model=args.model,
            min_confidence=args.min_confidence,
            index_kind=getattr(args, "kind", None),
            host=getattr(args, "host", None),
            metrics_port=getattr(args, "metrics_port", None),
            discord_shard_count=getattr(args, "shard_count", None),
            discord_shard_ids=getattr(args, "shard_ids", None),
        )
        _configure_logging("DEBUG" if args.verbose else settings.log_level)
        from bot.logfilter import Redactor, install

        # Tokens, response_urls and interaction tokens never reach the log.
        args.redactor = install(Redactor(settings.secrets))
        from bot.app import quiet_libraries

        quiet_libraries()
        return int(args.func(args, settings) or 0)
    except QuotebotError as exc:
        print(neutralise(f"quotebot: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        # Ctrl-C is how a bot or chat is meant to stop; elsewhere it cuts work short.
        return 0 if args.command in ("chat", "run") else 130
    except BrokenPipeError:
        return 0


def _shard_ids(text: str) -> tuple[int, ...]:
    from bot.config import parse_shard_ids

    try:
        return parse_shard_ids(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected shard numbers like 0,1, not {text!r}") from None


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().level > logging.DEBUG:
        # waitress warns "Task queue depth is N" for every request that waits for a
        # thread: in a burst of questions that is one warning per question, for a
        # queue that is working as meant. -v still shows them.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _progress(verbose: bool) -> tuple[Any, Progress]:
    """Progress of each long build stage: bars on stderr in a terminal, else log lines with -v."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext(), _LogProgress(verbose)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, update


def _rate_column() -> Any:
    """Items per second of a stage, once rich has measured it (how long a big build will take)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    return RateColumn()


class _LogProgress:
    """Build progress as log lines (a start, an end, and one line per 5 s), only with -v."""

    INTERVAL = 5.0

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.verbose:
            return
        now = time.monotonic()
        if stage not in self.last or done >= total or now - self.last[stage] >= self.INTERVAL:
            self.last[stage] = now
            logger.info("%s: %d of %d", stage, done, total)


def _notice(text: str) -> None:
    print(neutralise(text), file=sys.stderr)


def _warn(text: str) -> None:
    print(neutralise(f"warning: {text}"), file=sys.stderr)


def _service(settings: Settings, args: argparse.Namespace, *, every: bool = False) -> Any:
    """The service of ``--collection`` (default: the default one), or of ``every`` collection."""
    from bot import routing
    from bot.app import build_collections

    config = routing.load(settings)
    names = None if every else [config.get(getattr(args, "collection", None)).name]
    bar, update = _progress(args.verbose)
    with bar:
        return build_collections(config, names, progress=update, notice=_notice)


def _live_service(settings: Settings, args: argparse.Namespace) -> Any:
    """The services of a long-running bot: each follows each new build of its index."""
    return _service(settings, args, every=True)


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from bot import routing
    from bot.app import shared_embedders
    from index.build import BuildSpec, build, build_or_unpublish
    from index.store import CorpusIndex

    config = routing.load(settings)
    names = [config.get(args.collection).name] if args.collection else config.names
    if config.source is not None and args.paths:
        raise QuotebotError(
            "With collections (quotebot.toml), quotebot index builds whole collections: "
            "use --collection NAME instead of paths."
        )
    factory = shared_embedders()  # one model for every collection's build
    for name in names:
        collection = config.collections[name]
        spec = collection.settings.index_spec()
        bar, update = _progress(args.verbose)
        with bar:

            def make(spec: BuildSpec = spec, update: Progress = update) -> CorpusIndex:
                return build(
                    spec,
                    args.paths or None,
                    rebuild=args.rebuild,
                    progress=update,
                    warn=_warn,
                    notice=_notice,
                    embedder_factory=factory,
                )

            # With collections, an empty one has no index; a lone corpus must hold documents.
            index = make() if config.source is None else build_or_unpublish(spec, make)
        if index is None:
            print(messages.COLLECTION_NOTHING_TO_INDEX.format(name=name, folder=collection.folder))
            continue
        m = index.manifest
        summary = (
            f"Indexed {len(index.documents)} document(s), {m['sentences']} sentences "
            f"({m['reused_documents']} unchanged, not re-embedded); index kind "
            f"{m['index_kind']}, model {m['model']}, queries via {m.get('query_backend')}; "
            f"in {collection.index_dir}"
        )
        if config.source is None:
            print(summary)
        else:
            print(messages.COLLECTION_INDEXED.format(name=name, summary=summary))
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings, args)
    if args.question == ["-"]:
        for line in sys.stdin:
            if not line.strip():
                continue
            _print_answer(service, line, as_json=args.json)
            sys.stdout.flush()
        return 0
    return _print_answer(service, " ".join(args.question), as_json=args.json)


def _print_answer(service: Any, question: str, *, as_json: bool) -> int:
    try:
        answer = service.ask(question)
    except QuestionError as exc:
        if as_json:
            print(json.dumps({"question": question.strip(), "error": str(exc)}))
            return 0
        raise
    if as_json:
        print(render.json_text(answer.to_dict()))
    else:
        from bot.adapters.terminal import print_answer

        print_answer(answer)
    return 0


def _cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings, args)
    sources = service.sources()
    empty = service.get(service.active).index is None
    if empty and not args.json:
        print(messages.COLLECTION_EMPTY.format(name=service.active))
        return 0
    if args.json:
        manifest = service.index.manifest
        print(
            render.json_text(
                {
                    "index_kind": manifest.get("index_kind"),
                    "model": manifest.get("model"),
                    "sentences": manifest.get("sentences"),
                    "built_at": manifest.get("built_at"),
                    "documents": [s.__dict__ for s in sources],
                }
            )
        )
    else:
        from bot.adapters.terminal import print_sources

        print_sources(sources, service.index.manifest)
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.terminal import chat

    with _live_service(settings, args) as service:
        chat(service)
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    platforms = (
        [args.platform]
        if args.platform
        else [
            name
            for name, on in (
                ("discord", settings.discord_configured),
                ("slack", settings.slack_configured),
            )
            if on
        ]
    )
    # Without an app token, Socket Mode is impossible: a signing secret means HTTP mode.
    http = args.http or (not settings.slack_app_token and bool(settings.slack_signing_secret))
    # Check each platform's settings before the (slower) index and model load.
    if "discord" in platforms:
        from bot.adapters import discord_bot

        discord_bot.require_token(settings)
    if "slack" in platforms:
        from bot.adapters import slack_bot

        slack_bot.check_settings(settings, http=http)
    if not platforms:
        with _live_service(settings, args) as service:
            print(
                "No chat platform configured (DISCORD_TOKEN or SLACK_BOT_TOKEN); "
                "starting the terminal chat.",
                file=sys.stderr,
            )
            from bot.adapters.terminal import chat

            chat(service)
        return 0
    from bot.app import build_ops, build_store
    from bot.http_server import ops_server

    # The store opens (and migrates) before the slow index load, so a wrong
    # QUOTEBOT_DATABASE_URL is reported at once; one that does not answer yet is
    # waited for unless QUOTEBOT_DATABASE_WAIT=0. Every adapter, /healthz and
    # /metrics get the reloading service, so they all follow each new index.
    with (
        build_store(settings, wait=settings.database_wait) as store,
        _live_service(settings, args) as service,
    ):
        metrics, health = build_ops(service, store)
        runners = []
        for name in platforms:
            if name == "discord":
                runners.append(lambda: discord_bot.run(settings, service, store, metrics=metrics))
            else:
                runners.append(
                    lambda: slack_bot.run(
                        settings,
                        service,
                        store,
                        http=http,
                        port=args.port,
                        metrics=metrics,
                        health=health,
                        redactor=args.redactor,
                    )
                )
        ops = ops_server(settings, metrics, health)
        try:
            if len(runners) == 1:
                runners[0]()
                return 0
            return _run_together(runners)
        finally:
            if ops is not None:
                ops.shutdown(grace=1.0)


def _run_together(runners: list[Any]) -> int:
    """Run several blocking adapters side by side; stop when any of them stops."""
    import threading

    errors: list[BaseException] = []
    done = threading.Event()

    def wrap(run: Any) -> None:
        try:
            run()
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)
        finally:
            done.set()

    for run in runners:
        threading.Thread(target=wrap, args=(run,), daemon=True).start()
    done.wait()
    if errors:
        raise errors[0]
    return 0


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_store

    # Opening the store applies the migrations it lacks; the version it had says what changed.
    with build_store(settings) as store:
        before, after = store.upgraded_from, store.schema_version()
        where = dict(backend=store.backend, where=store.where)
    if before == after:
        print(messages.DB_VERSION.format(version=after, **where))
    else:
        print(messages.DB_UPGRADED.format(before=before, after=after, **where))
    return 0


def _cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot import feedback
    from bot.app import build_store

    since = None
    if args.feedback_command == "export" and args.since:
        since = feedback.parse_since(args.since)
    with build_store(settings) as store:
        rated = store.rated(since)
    if args.feedback_command == "stats":
        print(feedback.stats_table(feedback.stats(rated)))
        return 0
    data = feedback.export_squad(rated)
    text = render.json_text(data, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise QuotebotError(f"Cannot write {args.output}: {exc.strerror}.") from None
    qas = [qa for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    _notice(
        messages.FEEDBACK_EXPORTED.format(
            questions=len(qas),
            collections=len(data["data"]),
            path=args.output,
            answered=sum(bool(qa["answers"]) for qa in qas),
            negatives=sum(bool(qa["negatives"]) for qa in qas),
        )
    )
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.file.suffix == ".jsonl":
        return _eval_documents(args, settings)
    from quality.evaluate import embedders, evaluate
    from quality.squad import article_range

    a, b = article_range(args.articles)
    with embedders(settings.model, settings.index_dir.parent / "eval-cache") as (builder, asker):
        progress = None if args.json else _notice
        metrics = evaluate(
            args.file,
            (a, b),
            v2_path=args.v2,
            build_embedder=builder,
            query_embedder=asker,
            small_corpora=not args.no_small,
            min_confidence=settings.min_confidence,
            progress=progress,
        )
    if args.json:
        print(json.dumps(metrics))
    else:
        _print_metrics(metrics)
    return 0


def _eval_documents(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluation on a corpus folder and a JSONL file of questions (quality.documents)."""
    from dataclasses import replace

    from quality.documents import evaluate_documents, format_table

    if args.eval_corpus is not None:
        settings = replace(settings, corpus=args.eval_corpus)
    result, _ = evaluate_documents(
        args.file,
        settings,
        index_dir=args.eval_index_dir,
        split=args.split,
        notice=None if args.json else _notice,
        warn=_warn,
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    return 0


def _print_metrics(metrics: dict[str, Any], indent: str = "") -> None:
    for key, value in metrics.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_metrics(value, indent + "  ")
        elif isinstance(value, list):
            print(f"{indent}{key}:")
            for row in value:
                print(f"{indent}  " + "  ".join(f"{k} {v}" for k, v in row.items()))
        elif isinstance(value, float):
            print(f"{indent}{key:>26}: {value:.3f}")
        else:
            print(f"{indent}{key:>26}: {value}")


def _cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    from quality.evaluate import embedders
    from quality.squad import article_range
    from quality.tune import tune

    a, b = article_range(args.articles)
    unseen = article_range(args.unseen, "--unseen") if args.unseen else None
    if unseen and not a <= unseen[0] < unseen[1] <= b:
        raise QuotebotError(f"--unseen {args.unseen} must lie within --articles {args.articles}.")
    from index.search import READ

    read = READ if args.read is None else args.read
    if read < 1:
        raise QuotebotError(f"--read takes a number of candidates >= 1, not {read}.")
    # Tuning is iterative: keep the split's embeddings so a rerun skips the model. The
    # questions are embedded as the bot embeds them, by its 8-bit export.
    cache = settings.index_dir.parent / "tune-cache"
    with embedders(settings.model, cache) as (builder, asker):
        result = tune(
            args.file,
            (a, b),
            builder,
            query_embedder=asker,
            v2_path=args.v2,
            answer_rate=args.answer_rate,
            unseen=unseen,
            read=read,
            progress=_notice,
        )
    print(json.dumps(result, indent=2))
    return 0


__all__ = ["main", "messages"]

if __name__ == "__main__":
    sys.exit(main())
