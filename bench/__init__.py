"""Benchmarks: quotebot against the retrieval pipelines users would otherwise pick.

``python -m bench.run --squad PATH [--quick]`` (``make bench``) runs every section
and writes ``bench/RESULTS.md`` and ``bench/results.png``. The modules can also be
run on their own: ``python -m bench.scale``, ``python -m bench.quality``.
Their dependencies are the ``bench`` extra of pyproject.toml; runtime code never
imports this package.
"""
