#!/usr/bin/env bash
# Runs the README's "Mall in five minutes" shell block as it stands against a fresh
# `mall serve` (its own SQLite file, a free port on 127.0.0.1) and checks what each step
# printed, so the walkthrough cannot rot. Needs curl and jq (installed with apt when
# missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in curl jq; do
    if ! command -v "$tool" >/dev/null; then
        [[ "$(id -u)" -eq 0 ]] || { echo "readme-walkthrough.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done

export MALL_PASSWORD_COST=4
source scripts/lib/mall-server.sh
start_mall_server
export MALL_DATABASE_URL="$WORK/mall.sqlite" M="$URL"  # what `mall` commands typed after the walkthrough open

grep -q '^admin token (printed once, keep it): ' "$WORK/server.log" || { echo "FAIL: no admin token printed on first start" >&2; exit 1; }
grep -q '^payment gateway secret (printed once, give it to the gateway): [0-9a-f]\{64\}$' "$WORK/server.log" \
    || { echo "FAIL: no gateway secret printed on first start" >&2; exit 1; }

# The first ```sh block after the heading, exactly as written.
awk '/^## Mall in five minutes/ { section = 1 } section && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' \
    README.md > "$WORK/walkthrough.sh"
[[ -s "$WORK/walkthrough.sh" ]] || { echo "FAIL: no shell block under 'Mall in five minutes' in README.md" >&2; exit 1; }
echo "== README walkthrough against $M"
timeout 120 bash -euo pipefail "$WORK/walkthrough.sh" > "$WORK/output" 2>&1 || {
    cat "$WORK/output"; echo "FAIL: the README walkthrough failed (or hung)" >&2; exit 1; }
cat "$WORK/output"

# What each step must have printed, in order.
expect() {
    local line=$1 pattern=$2 what=$3
    sed -n "${line}p" "$WORK/output" | grep -Eq -- "$pattern" || {
        echo "FAIL: step $line ($what) printed: $(sed -n "${line}p" "$WORK/output")" >&2; exit 1; }
}
expect 1 '"sku":"teapot","price":3500' "browse the kitchen"
expect 2 '^\{"id":"m-' "register"
expect 3 '^\{"minorUnits":[0-9]+,"currency":"USD"\}$' "the cart's quote"
expect 4 '^\{"paymentId":"pay-[0-9a-z]+","amount":[0-9]+\}$' "the payment started"
expect 5 '^\{"status":"paid","total":[0-9]+,"timeline":\["OrderSubmitted","OrderAwaitingPayment","OrderPaid"\]\}$' "the paid order"
[[ $(wc -l < "$WORK/output") -eq 5 ]] || { echo "FAIL: expected 5 lines of output" >&2; exit 1; }
if grep -q "request failed" "$WORK/server.log"; then cat "$WORK/server.log"; echo "FAIL: the server logged failures" >&2; exit 1; fi
echo "== README walkthrough: every step as documented"
