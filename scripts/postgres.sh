#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks.
#
#   scripts/postgres.sh                 start, print the URL, wait; Ctrl-C stops and deletes it
#   scripts/postgres.sh -- CMD ARGS...  start, run CMD with HERALD_POSTGRES_URL set, stop
#
# The server listens on 127.0.0.1 only, on a free port, with its data in a new temporary
# directory that is removed when the script exits. When no PostgreSQL binaries are found
# and we are root, Debian's `postgresql` package is installed first. initdb refuses to run
# as root, so as root the server runs as the `postgres` user.
set -euo pipefail

find_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then echo "$dir"; fi
    done | sort -V | tail -n 1
}

bindir="$(find_bindir)"
if [[ -z "$bindir" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "postgres.sh: PostgreSQL is not installed and only root may install it (apt-get install postgresql)" >&2
        exit 1
    fi
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)"
    [[ -n "$bindir" ]] || { echo "postgres.sh: postgresql installed but no pg_ctl found" >&2; exit 1; }
fi

datadir="$(mktemp -d "${TMPDIR:-/tmp}/herald-pg.XXXXXX")"
if [[ "$(id -u)" -eq 0 ]]; then
    chown postgres:postgres "$datadir"
    as_owner() { runuser -u postgres -- "$@"; }
    user=postgres
else
    as_owner() { "$@"; }
    user="$(id -un)"
fi
chmod 700 "$datadir"

stop() {
    as_owner "$bindir/pg_ctl" -D "$datadir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$datadir"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_owner "$bindir/initdb" -D "$datadir/data" -A trust -U "$user" -E UTF8 --no-locale >"$datadir/initdb.log" 2>&1 || {
    cat "$datadir/initdb.log" >&2
    echo "postgres.sh: initdb failed" >&2
    exit 1
}

# The whole suite runs at once: a dozen `mall serve` processes (each pooling up to 20
# connections, plus its LISTEN) beside the test processes' own pools reached 200 at its peak.
server_options() { echo "-p $port -k $datadir -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=on"; }

# A random port; on a collision pg_ctl fails to start and we try another.
started=""
for _ in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + RANDOM % 40000 ))
    if as_owner "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 30 \
        -o "$(server_options)" start >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [[ -z "$started" ]]; then
    cat "$datadir/server.log" >&2 || true
    echo "postgres.sh: the server did not start" >&2
    exit 1
fi

export HERALD_POSTGRES_URL="postgres://$user@127.0.0.1:$port/postgres"
# Tests that restart the server need these.
export HERALD_POSTGRES_CTL="$bindir/pg_ctl"
export HERALD_POSTGRES_DATA="$datadir/data"
export HERALD_POSTGRES_OWNER="$user"
export HERALD_POSTGRES_OPTIONS="$(server_options)"

if [[ "${1:-}" == "--" ]]; then
    shift
    set +e
    "$@"
    status=$?
    set -e
    exit "$status"
fi

echo "$HERALD_POSTGRES_URL"
echo "postgres.sh: running; Ctrl-C stops it and deletes its data" >&2
while true; do sleep 3600 & wait $!; done
