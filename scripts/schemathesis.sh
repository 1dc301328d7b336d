#!/usr/bin/env bash
# Fuzzes a real `mall serve` against its own /openapi.yaml with schemathesis (pinned,
# installed from PyPI into .build/schemathesis-venv on first use). Fails on any 5xx and on
# any response whose status, content type or body the document does not allow.
#
# Member routes run with a member's token, /admin routes with the admin token. Bounded:
# a fixed number of examples per operation, traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.build/schemathesis-venv
if [[ ! -x "$VENV/bin/schemathesis" ]] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

MALL=${MALL_BINARY:-.build/debug/mall}
WORK=$(mktemp -d)
ADMIN_TOKEN="schemathesis-admin-token-$$-$RANDOM"
"$MALL" serve --database "$WORK/mall.sqlite" --host 127.0.0.1 --port 0 --admin-token "$ADMIN_TOKEN" \
    > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

URL=""
for _ in $(seq 1 600); do
    URL=$(sed -n 's/^mall listening on //p' "$WORK/server.log" | head -1)
    [[ -n "$URL" ]] && break
    kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log"; echo "mall serve exited" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$WORK/server.log"; echo "mall serve did not start" >&2; exit 1; }
echo "== mall serve at $URL"

MEMBER_TOKEN=$(python3 - "$URL" <<'PY'
import json, sys, urllib.request
url = sys.argv[1]
def post(path, body):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    return json.load(urllib.request.urlopen(request))
post("/members", {"email": "fuzz@example.com", "password": "fuzzing-password", "name": "Fuzz"})
print(post("/sessions", {"email": "fuzz@example.com", "password": "fuzzing-password"})["token"])
PY
)

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
COMMON=(--checks "$CHECKS" --phases examples,coverage,fuzzing --max-examples "${SCHEMATHESIS_EXAMPLES:-25}"
        --seed 20261123 --workers 2 --request-timeout 30 --no-color --suppress-health-check all)

echo "== schemathesis: public and member routes"
"$VENV/bin/schemathesis" run "$URL/openapi.yaml" "${COMMON[@]}" \
    --exclude-path-regex '^/admin' -H "Authorization: Bearer $MEMBER_TOKEN"
echo "== schemathesis: admin routes"
"$VENV/bin/schemathesis" run "$URL/openapi.yaml" "${COMMON[@]}" \
    --include-path-regex '^/admin' -H "Authorization: Bearer $ADMIN_TOKEN"
if grep -q "request failed" "$WORK/server.log"; then
    grep "request failed" "$WORK/server.log" | head -20
    echo "the server logged failures (500s) during fuzzing" >&2
    exit 1
fi
echo "== schemathesis: no server errors, every response matches /openapi.yaml"
