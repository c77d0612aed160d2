"""Benchmarks: every figure a ratio of two things measured side by side, in one run.

    python -m bench [--quick] [--out bench/results/latest.json]

See bench/__main__.py for the sections and README.md for the latest table.
"""
