#!/usr/bin/env bash
# Fuzzes a real `mall serve` against its own /openapi.yaml with schemathesis (pinned,
# installed from PyPI into .build/schemathesis-venv on first use), every check on
# (`--checks all`: no 5xx; status, content type, headers and body as documented; invalid
# input refused and valid input taken; 405 with Allow for undeclared methods; ...) and every
# phase, the stateful one following the document's links. Settings: scripts/schemathesis.toml.
#
# Member routes run with a member's token, /admin routes with the admin token. Bounded:
# a fixed number of examples per operation, traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
# CPython 3.11 (python3 on these machines) aborts some runs with "SystemError: AST constructor
# recursion depth mismatch" inside hypothesis while it describes a deeply nested strategy: a
# CPython bug, not a finding. A newer interpreter is used where one is installed (pyenv's).
PYTHON=python3
for candidate in $(command -v pyenv >/dev/null && ls -d "$(pyenv root)"/versions/3.1[23]*/bin/python3 2>/dev/null | sort -rV) python3.13 python3.12; do
    # (pyenv's shims exist for versions it would refuse to run: try each one.)
    if "$candidate" -c 'import sys' >/dev/null 2>&1; then PYTHON=$candidate; break; fi
done
PYTHON_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ "$PYTHON_VERSION" == "3.11" ]] && echo "!! schemathesis on Python 3.11: runs may abort with CPython's AST recursion SystemError" >&2
VENV=.build/schemathesis-venv-$PYTHON_VERSION
if [[ ! -x "$VENV/bin/schemathesis" ]] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV (Python $PYTHON_VERSION)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

ADMIN_TOKEN="schemathesis-admin-token-$$-$RANDOM"
source scripts/lib/mall-server.sh
# One fuzzing member places hundreds of orders: past the per-member limit, POST /orders
# would answer 429 and the logic behind it go untested (the limits have tests of their own).
MALL_ORDERS_PER_MINUTE=1000000 MALL_ORDERS_BURST=1000000 start_mall_server --admin-token "$ADMIN_TOKEN" --max-unpaid-orders 10000
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

# Every check. `all` includes max_response_time, 10 s by default: a wall-clock limit that
# failed on a busy machine, not on a broken contract (bcrypt at idle priority behind a
# build). Here it only guards against a hang, like the request timeout; speed is measured by
# the benchmarks, never asserted.
COMMON=(--checks all --max-response-time 30 --phases examples,coverage,fuzzing,stateful --max-examples "${SCHEMATHESIS_EXAMPLES:-25}"
        --seed "${SCHEMATHESIS_SEED:-20261130}" --workers 2 --request-timeout 30 --no-color --suppress-health-check all)

echo "== schemathesis: public and member routes"
# Logging out would end the fuzzing member's session midway, and every later member route
# would only see 401: the two log-out operations have tests of their own (MemberSessionTests).
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$URL/openapi.yaml" "${COMMON[@]}" \
    --exclude-path-regex '^/admin' --exclude-operation-id logOut --exclude-operation-id logOutEverywhere \
    -H "Authorization: Bearer $MEMBER_TOKEN"
echo "== schemathesis: admin routes"
# Replacing the governance rules with generated ones that validate (one request in flight,
# say) changes the server under the fuzzer: its 503s would be the rules' doing, not a broken
# contract. Whether a generated `version` happens to match the stored one decides whether a
# run meets it. The rules route has tests of its own (GovernanceRulesTests).
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$URL/openapi.yaml" "${COMMON[@]}" \
    --include-path-regex '^/admin' --exclude-name 'PUT /admin/rules' -H "Authorization: Bearer $ADMIN_TOKEN"
if grep -q "request failed" "$WORK/server.log"; then
    grep "request failed" "$WORK/server.log" | head -20
    echo "the server logged failures (500s) during fuzzing" >&2
    exit 1
fi
echo "== schemathesis: no server errors, every response matches /openapi.yaml"
