#!/usr/bin/env bash
# POST /orders alone, from outside: one `mall serve` (SQLite, fake gateway in process,
# ingress limits off), 64 members, then `wrk -t1 -c8 -d10s` posting orders round-robin over
# their tokens. Prints requests/s and the server's CPU per request over the same 10 s (from
# /proc/PID/stat; it includes the saga's work done meanwhile).
#
#   Benchmarks/http/post_orders_wrk.sh .build/release [port]
#
# Compare two builds by running it against each directory in turn, alternating.
set -euo pipefail
bin=${1:?a directory holding a release build of mall}; port=${2:-18100}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk > /dev/null || { echo "needs wrk (apt-get install -y wrk)"; exit 1; }
command -v jq > /dev/null || { echo "needs jq"; exit 1; }
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
export MALL_INGRESS_LIMITS=off MALL_MAX_UNPAID_ORDERS=10000 MALL_PASSWORD_COST=4
"$bin/mall" serve --database "$work/mall.sqlite" --port "$port" --fake-gateway > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q "mall listening" "$work/log" && break; sleep 0.5; done
M=http://127.0.0.1:$port
admin=$(grep -o "admin token (printed once, keep it): .*" "$work/log" | sed 's/.*: //')
curl -sf -XPOST "$M/admin/stock/cocoa/receipts" -H "Authorization: Bearer $admin" -d '{"quantity":100000}' > /dev/null
tokens=""
for i in $(seq 1 64); do
    curl -sf -XPOST "$M/members" -d '{"email":"m'"$i"'@example.com","password":"correct horse","name":"M"}' > /dev/null
    tokens="$tokens,$(curl -sf -XPOST "$M/sessions" -d '{"email":"m'"$i"'@example.com","password":"correct horse"}' | jq -r .token)"
done
export TOKENS=${tokens#,}
sleep 1
before=$(awk '{print $14+$15}' "/proc/$pid/stat")
wrk -t1 -c8 -d10s -s "$here/post_orders.lua" "$M/orders" > "$work/wrk"
after=$(awk '{print $14+$15}' "/proc/$pid/stat")
requests=$(grep "requests in" "$work/wrk" | awk '{print $1}')
echo "requests_per_s=$(grep Requests/sec "$work/wrk" | awk '{print $2}') requests=$requests" \
    "non_2xx=$(grep Non-2xx "$work/wrk" | awk '{print $NF}' | grep . || echo 0)" \
    "server_cpu_ms_per_request=$(python3 -c "print(round(($after - $before) * 1000 / $(getconf CLK_TCK) / $requests, 3))")"
