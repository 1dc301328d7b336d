"""What an edit's commit costs SQLite itself at 1,000 and at 100,000 products.

The baseline for `mall-bench --catalog`'s `product_edit_commits_per_s_1k` / `_100k`: on a
copy of a shop that benchmark kept (`--keep PATH`), one transaction per edit does what a
product edit's commit does to Herald's tables, through Python's sqlite3 (SQLite's C code,
statements prepared once): update the product's document (`herald_aggregates`, version
checked) and append its two events, details and price (`herald_events`, with its unique
indexes), WAL mode,
synchronous NORMAL. The edited products are drawn at random among the first 1,000 or among
all, as the benchmark draws them.

    python3 Benchmarks/baselines/sqlite_edit_scale.py /tmp/shop.sqlite [edits]
"""
import random
import sqlite3
import sys
import time
import uuid

from shop_sizes import compare_sizes


def run(path, among, edits, rng):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    (position,) = db.execute("SELECT max(position) FROM herald_events").fetchone()
    template = db.execute("SELECT * FROM herald_events WHERE event_type = 'ProductPriceChanged' LIMIT 1").fetchone()
    columns = [d[0] for d in db.execute("SELECT * FROM herald_events LIMIT 0").description]
    insert = f"INSERT INTO herald_events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    start = time.perf_counter()
    for edit in range(edits):
        sku = f"gen-{rng.randrange(among)}"
        db.execute("BEGIN IMMEDIATE")
        (version, state) = db.execute(
            "SELECT version, state FROM herald_aggregates WHERE stream_type = 'Product' AND stream_id = ?", (sku,)).fetchone()
        db.execute(
            "UPDATE herald_aggregates SET version = version + 1, state = ?, updated_at = ? "
            "WHERE stream_type = 'Product' AND stream_id = ? AND version = ?",
            (state, int(time.time() * 1e6), sku, version))
        (last,) = db.execute(
            "SELECT max(stream_version) FROM herald_events WHERE stream_type = 'Product' AND stream_id = ?", (sku,)).fetchone()
        for event_type in ["ProductDetailsChanged", "ProductPriceChanged"]:
            position += 1
            last += 1
            row = dict(zip(columns, template))
            row.update(position=position, event_id=uuid.uuid4().bytes, stream_id=sku, stream_version=last, event_type=event_type)
            db.execute(insert, [row[c] for c in columns])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return edits / elapsed


def main():
    source = sys.argv[1]
    edits = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    compare_sizes(source, lambda path, among: run(path, among, edits, random.Random(among)), "raw_edit_commits_per_s")


if __name__ == "__main__":
    main()
