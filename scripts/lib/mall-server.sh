# Sourced by scripts that need a throwaway `mall serve`: start_mall_server ARGS... starts
# .build/debug/mall (or $MALL_BINARY) on a fresh SQLite file in a new temporary directory
# ($WORK, removed on exit with the server), on a free port of 127.0.0.1, and sets $URL
# once it listens. Its output is in $WORK/server.log.

start_mall_server() {
    local mall=${MALL_BINARY:-.build/debug/mall}
    [[ -x "$mall" ]] || { echo "$(basename "$0"): build first (swift build): no $mall" >&2; exit 1; }
    WORK=$(mktemp -d)
    # Created here, not by the background job's redirection: the loop below may read it
    # before the job has opened it (seen on a loaded machine: sed failed, set -e ended the script).
    : > "$WORK/server.log"
    "$mall" serve --database "$WORK/mall.sqlite" --host 127.0.0.1 --port 0 "$@" > "$WORK/server.log" 2>&1 &
    SERVER=$!
    trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
    URL=""
    for _ in $(seq 1 600); do
        URL=$(sed -n 's/^mall listening on //p' "$WORK/server.log" | head -1)
        [[ -n "$URL" ]] && return 0
        kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log"; echo "mall serve exited" >&2; exit 1; }
        sleep 0.1
    done
    cat "$WORK/server.log"
    echo "mall serve did not start" >&2
    exit 1
}
