"""Benchmarks, run as ``nblabel bench NAME ...`` (dispatches to ``nblabel/bench/NAME.py:main``)."""
