"""SQLite's own cost for the catalog's full-text searches: the limit `search_varied_*` runs into.

Runs, through Python's sqlite3 (SQLite's C API, no Swift, no HTTP), the two statements Mall's
`GET /products?q=…` issues in relevance order — the page and its count — for a mix of
searches drawn as `mall-bench --catalog` draws its varied ones (one to three of the
generator's 2,000 words, one in four ending in a three-letter prefix), on the catalog file
`mall-bench --catalog --keep FILE` leaves. Prints each kind's mean and percentiles and the
requests a second two cores could serve if SQLite were all a request cost.

    python3 Benchmarks/sqlite_fts_search_limit.py FILE [SEARCHES]
"""
import random
import sqlite3
import statistics
import sys
import time

path = sys.argv[1]
searches = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
physical = db.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p_catalog_products_g%' AND name NOT LIKE '%fts%'"
).fetchone()[0]
index = physical + "_fts"
columns = ", ".join(f'"{physical}"."{c}"' for c in ["sku", "title", "category", "description", "price", "currency", "weight_grams", "on_sale"])
source = f'"{index}" CROSS JOIN "{physical}" ON "{physical}".rowid = "{index}".rowid WHERE "on_sale" = 1 AND "{index}" MATCH ?'
page = f'SELECT {columns} FROM {source} ORDER BY bm25("{index}", 10.0, 4.0), "{physical}"."title", "{physical}"."sku" LIMIT 20'
count = f"SELECT COUNT(*) FROM {source}"

syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "da", "fi", "go", "hu", "ja", "be", "co", "ly", "mo", "ta"]
words = [a + b for a in syllables for b in syllables]
words += [a + b + c for a in syllables for b in syllables for c in syllables][: 2000 - len(words)]
generator = random.Random(7)

timings = {"words": [], "prefix": []}
for _ in range(searches):
    picked = [generator.choice(words) for _ in range(generator.randint(1, 3))]
    terms = [f'"{word}"' for word in picked]
    prefix = generator.random() < 0.25
    if prefix:
        terms[-1] = f'"{picked[-1][:3]}" *'
    query = " ".join(terms)
    start = time.perf_counter()
    db.execute(page, [query]).fetchall()
    db.execute(count, [query]).fetchall()
    timings["prefix" if prefix else "words"].append((time.perf_counter() - start) * 1000)


def summary(values):
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(len(ordered) * q))]
    return f"n={len(ordered)} mean={statistics.mean(ordered):.2f} p50={pick(0.5):.2f} p99={pick(0.99):.2f} ms"


everything = timings["words"] + timings["prefix"]
print("words only  ", summary(timings["words"]))
print("with prefix ", summary(timings["prefix"]))
print("all         ", summary(everything))
print(f"requests/s two cores could serve on SQLite alone: all {2000 / statistics.mean(everything):.0f}, words only {2000 / statistics.mean(timings['words']):.0f}")
