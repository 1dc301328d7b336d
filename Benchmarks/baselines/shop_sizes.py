"""Shared by the scale baselines: run a measurement on a fresh copy of a kept shop for
edits among its first 1,000 products and among all 100,000, and print both rates and
their ratio."""
import os
import shutil
import tempfile


def compare_sizes(source, measure, name):
    """`measure(path, among)` returns edits per second on the copy at `path`."""
    with tempfile.TemporaryDirectory() as directory:
        results = {}
        for label, among in [("1k", 1000), ("100k", 100_000)]:
            copy = os.path.join(directory, f"{label}.sqlite")
            for suffix in ["", "-wal"]:
                if os.path.exists(source + suffix):
                    shutil.copyfile(source + suffix, copy + suffix)
            results[label] = measure(copy, among)
        print(f"{name}_1k {results['1k']:.0f}")
        print(f"{name}_100k {results['100k']:.0f}")
        print(f"raw_100k_vs_1k {results['100k'] / results['1k']:.2f}")
