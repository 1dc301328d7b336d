#!/usr/bin/env bash
# Runs the Python eventsourcing peer benchmark in its own virtualenv, with a pinned version.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=9.4.6
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet "eventsourcing==${VERSION}"
exec .venv/bin/python eventsourcing_bench.py "$@"
