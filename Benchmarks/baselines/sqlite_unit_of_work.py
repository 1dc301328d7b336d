"""What herald-bench's sequential unit of work costs SQLite itself, beside the one-row insert
`raw_c_commits_per_s` measures.

`uow_commits_per_s` commits, one after another, one new aggregate document and its one
event. This runs the statements Herald's SQLite store runs for that commit, on the same
two tables (`herald_aggregates`, `herald_events` with its two unique indexes, their
CREATE TABLE read from Herald's migration, `Sources/HeraldSQLite/SQLiteSchema.swift`), through
Python's sqlite3 (SQLite's C code; Python adds a microsecond or two per statement):

    BEGIN IMMEDIATE; SAVEPOINT; INSERT aggregate ... ON CONFLICT DO NOTHING;
    SELECT MAX(stream_version) ...; INSERT event; RELEASE; COMMIT

and, in alternating rounds in the same run, the one-row INSERT transaction of
`raw_c_commits_per_s`. It prints both rates, their ratio (the most `uow_vs_raw` could be
if Herald added nothing to SQLite's own work), and the pages (WAL frames) each unit of work appends.

    python3 Benchmarks/baselines/sqlite_unit_of_work.py [commits] [normal|full]
"""
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time

SCHEMA_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Sources/HeraldSQLite/SQLiteSchema.swift")


def herald_tables(names=("herald_events", "herald_aggregates")):
    """The CREATE TABLE statements of `names`, read from Herald's own migration."""
    source = open(SCHEMA_SOURCE).read()
    statements = []
    for name in names:
        match = re.search(r"CREATE TABLE %s \(.*?\n\s*\)( WITHOUT ROWID)?;" % name, source, re.S)
        if not match:
            sys.exit(f"no CREATE TABLE {name} in {SCHEMA_SOURCE}")
        statements.append(match.group(0))
    return "\n".join(statements)


SCHEMA = herald_tables()


def time_ordered_id():
    """A 16-byte id led by the time in milliseconds, as Herald's event ids (UUID version 7) are."""
    return (time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10)


def connect(path, synchronous):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


def raw_inserts(directory, count, synchronous):
    db = connect(os.path.join(directory, f"raw-{time.monotonic_ns()}.sqlite"), synchronous)
    db.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    payload = bytes(64)
    start = time.perf_counter()
    for _ in range(count):
        db.execute("INSERT INTO raw (payload) VALUES (?)", (payload,))
    elapsed = time.perf_counter() - start
    db.close()
    return count / elapsed


def units_of_work(directory, count, synchronous, autocheckpoint=True):
    db = connect(os.path.join(directory, f"uow-{time.monotonic_ns()}.sqlite"), synchronous)
    db.executescript(SCHEMA)
    if not autocheckpoint:
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    start = time.perf_counter()
    for index in range(count):
        now = time.time_ns() // 1000
        stream = f"a{index}"
        db.execute("BEGIN IMMEDIATE")
        db.execute("SAVEPOINT herald_write")
        db.execute(
            "INSERT INTO herald_aggregates (stream_type, stream_id, version, state, updated_at) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (stream_type, stream_id) DO NOTHING",
            ("Account", stream, b'{"id":"%s","balance":100}' % stream.encode(), now))
        (version,) = db.execute(
            "SELECT MAX(stream_version) FROM herald_events WHERE stream_type = ? AND stream_id = ?", ("Account", stream)).fetchone()
        db.execute(
            "INSERT INTO herald_events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, "
            "payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time_ordered_id(), "Account", stream, (version or 0) + 1, "bench.Deposited", 1, b'{"amount":100}', now, now,
             None, None, None, None))
        db.execute("RELEASE herald_write")
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    frames = None if autocheckpoint else db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] / count
    db.close()
    return count / elapsed, frames


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    synchronous = (sys.argv[2] if len(sys.argv) > 2 else "normal").upper()
    raw, uow, ratios = [], [], []
    with tempfile.TemporaryDirectory(prefix="sqlite-uow-") as directory:
        for _ in range(5):
            raw.append(raw_inserts(directory, count, synchronous))
            rate, _ = units_of_work(directory, count, synchronous)
            uow.append(rate)
            ratios.append(rate / raw[-1])
        frames = units_of_work(directory, 500, synchronous, autocheckpoint=False)[1]
    print(f"synchronous={synchronous}, {count} commits per round, 5 rounds (medians; the spread in brackets)")
    print(f"one-row insert transactions:   {statistics.median(raw):9.0f}/s  [{min(raw):.0f}–{max(raw):.0f}]")
    print(f"unit-of-work transactions:     {statistics.median(uow):9.0f}/s  [{min(uow):.0f}–{max(uow):.0f}]")
    print(f"unit of work vs one-row insert: {statistics.median(ratios):.3f}  [{min(ratios):.3f}–{max(ratios):.3f}]")
    print(f"WAL frames per unit of work:    {frames:.2f} (500 commits, automatic checkpoints off)")


if __name__ == "__main__":
    main()
