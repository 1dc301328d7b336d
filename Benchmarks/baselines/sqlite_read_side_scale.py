"""What the read side's writes for a product edit cost SQLite itself at 1,000 and at 100,000 products.

The baseline for the projection half of `mall-bench --catalog`'s `product_edits_per_s_*`:
on a copy of a shop that benchmark kept (`--keep PATH`), through Python's sqlite3
(SQLite's C code), batches of 256 edits per transaction as a projection worker commits
them. Per edit, what the catalog and pricing projections write for a new title word and
a new price: read the product's listing row, update its changed columns (title, price,
words: three of its four sort indexes move), add the new word's `terms` row; read and
update the price book's row. Each batch also moves a checkpoint. WAL mode, synchronous
NORMAL; `--replace` writes whole rows with INSERT OR REPLACE instead (what Herald did
before projection rows were updated by changed columns).

    python3 Benchmarks/baselines/sqlite_read_side_scale.py /tmp/shop.sqlite [edits] [--replace]
"""
import random
import sqlite3
import sys
import time

from shop_sizes import compare_sizes


def run(path, among, edits, replace, batch=256):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    listing = db.execute("SELECT json_extract(serving_tables, '$.products'), json_extract(serving_tables, '$.terms') "
                         "FROM herald_projections WHERE name = 'catalog'").fetchone()
    (prices,) = db.execute("SELECT json_extract(serving_tables, '$.products') FROM herald_projections WHERE name = 'pricing'").fetchone()
    products, terms = listing
    columns = [c[1] for c in db.execute(f'PRAGMA table_info("{products}")')]
    replace_sql = f'INSERT OR REPLACE INTO "{products}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
    rng = random.Random(among)
    start = time.perf_counter()
    for first in range(0, edits, batch):
        db.execute("BEGIN IMMEDIATE")
        for edit in range(first, min(first + batch, edits)):
            sku = f"gen-{rng.randrange(among)}"
            row = dict(zip(columns, db.execute(f'SELECT * FROM "{products}" WHERE sku = ?', (sku,)).fetchone()))
            word = f"edit{edit}"
            title = f"{row['title'].split(' ')[0]} {word}"
            if replace:
                row.update(title=title, price=100 + edit, words=row["words"] + word + " ")
                db.execute(replace_sql, [row[c] for c in columns])
            else:
                db.execute(f'UPDATE "{products}" SET title = ?, price = ?, words = ? WHERE sku = ?',
                           (title, 100 + edit, row["words"] + word + " ", sku))
            db.execute(f'INSERT OR REPLACE INTO "{terms}" (term, sku) VALUES (?, ?)', (word, sku))
            db.execute(f'SELECT * FROM "{prices}" WHERE sku = ?', (sku,)).fetchone()
            db.execute(f'UPDATE "{prices}" SET title = ?, price = ? WHERE sku = ?', (title, 100 + edit, sku))
        db.execute("UPDATE herald_subscriptions SET position = position + 1, updated_at = ? WHERE name = 'catalog@g1'", (int(time.time()),))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return edits / elapsed


def main():
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    replace = "--replace" in sys.argv
    edits = int(arguments[1]) if len(arguments) > 1 else 4000
    compare_sizes(arguments[0], lambda path, among: run(path, among, edits, replace), "raw_read_side_edits_per_s")


if __name__ == "__main__":
    main()
