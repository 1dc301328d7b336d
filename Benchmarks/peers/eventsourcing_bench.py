"""Peer benchmark: the Python `eventsourcing` library on SQLite, measured like herald-bench.

- aggregate_saves_per_s: one new aggregate with one event saved per transaction.
- process_events_per_s: a ProcessApplication draining a backlog of events from its leader,
  writing one new aggregate per event (its "one row per event"), like drain_events_per_s.

Prints one JSON object. Run through run_eventsourcing.sh, which pins the version.
"""
import json
import os
import sys
import tempfile
import time
from functools import singledispatchmethod

from eventsourcing import sqlite as eventsourcing_sqlite
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.system import ProcessApplication


class Account(Aggregate):
    @event("Opened")
    def __init__(self, owner: str):
        self.owner = owner


class Projection(Aggregate):
    @event("Projected")
    def __init__(self, source: str):
        self.source = source


class Bank(Application):
    def open_account(self, owner: str):
        account = Account(owner)
        self.save(account)


class Projector(ProcessApplication):
    @singledispatchmethod
    def policy(self, domain_event, processing_event):
        pass

    @policy.register(Account.Opened)
    def _(self, domain_event, processing_event):
        processing_event.collect_events(Projection(str(domain_event.originator_id)))


# SQLite's synchronous mode on every connection: FULL (SQLite's own default) unless the
# first command-line argument after the counts says NORMAL, to match herald-bench's two settings.
SYNCHRONOUS = sys.argv[3].upper() if len(sys.argv) > 3 else "FULL"
_create_connection = eventsourcing_sqlite.SQLiteConnectionPool._create_connection


def _create_connection_with_synchronous(self):
    connection = _create_connection(self)
    connection.cursor().execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    return connection


eventsourcing_sqlite.SQLiteConnectionPool._create_connection = _create_connection_with_synchronous


def env(directory: str, name: str) -> dict:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": os.path.join(directory, f"{name}.sqlite"),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def main() -> None:
    saves = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with tempfile.TemporaryDirectory() as directory:
        bank = Bank(env=env(directory, "saves"))
        start = time.perf_counter()
        for index in range(saves):
            bank.open_account(f"owner-{index}")
        saves_per_s = saves / (time.perf_counter() - start)

        leader = Bank(env=env(directory, "leader"))
        for index in range(backlog):
            leader.open_account(f"owner-{index}")
        projector = Projector(env=env(directory, "projector"))
        projector.follow(leader.name, leader.notification_log)
        start = time.perf_counter()
        projector.pull_and_process(leader.name)
        process_per_s = backlog / (time.perf_counter() - start)

    print(json.dumps({
        "peer": "eventsourcing (Python)",
        "synchronous": SYNCHRONOUS,
        "aggregate_saves_per_s": round(saves_per_s, 1),
        "process_events_per_s": round(process_per_s, 1),
        "backlog": backlog,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
