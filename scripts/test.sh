#!/usr/bin/env bash
# The one test command: builds everything (the crash tests need the worker executable),
# then runs every Swift Testing suite: conformance against the in-memory and SQLite
# stores, SQLite fault tests, and the SIGKILL crash test.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build (debug, with tests)"
swift build --build-tests

echo "== tests"
# Only Swift Testing is used: --disable-xctest keeps the closing summary line unambiguous.
swift test --skip-build --disable-xctest "$@"
