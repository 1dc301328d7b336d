#!/usr/bin/env bash
# Instructions per order and per Herald commit, counted by callgrind: figures that do not
# move with the machine's speed or load (the same binaries on the same input count the
# same within a fraction of a percent), so a regression shows as a number on any machine.
#
#   Benchmarks/instructions.sh .build/release [orders]
#
# needs release builds of `mall` and `herald-bench` in the directory given, and valgrind.
#
# - Herald: `herald-bench --only-commits N` (one new aggregate and one event per unit of
#   work, one after another, the store's default durability) at N = 200 and N = 1,200; the
#   difference over 1,000 is one commit, start-up and warm-up cancelled out. The same for
#   SQLite's C API running the same statements (`--raw-c`), the limit.
# - Mall: `mall serve` (SQLite, fake gateway in process, ingress limits off) under
#   callgrind; 20 orders to warm up, counters zeroed, then `orders` (200) placed one after
#   another by one client, 8 members round-robin, and counted until every subscription has
#   caught up (each order awaits payment). Everything the server did in that window counts:
#   HTTP, the saga's reactions, projections, the polls that watch for the end.
#
# Two workarounds for valgrind 3.19 on Swift binaries, both local to this script: the
# binaries are copied and stripped of debug info (its DWARF reader gives up on Swift's),
# and a preloaded `sigsuspend` hands the kernel a writable copy of its mask (valgrind writes
# into the mask, which libdispatch keeps in read-only memory; an async `main` then crashes
# valgrind when the main thread parks).
set -euo pipefail
bin=${1:?a directory holding release builds of mall and herald-bench}; orders=${2:-200}; port=${PORT:-18190}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 1; }
command -v jq > /dev/null || { echo "needs jq (apt-get install -y jq)"; exit 1; }
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

cat > "$work/sigsuspend.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
EOF
gcc -shared -fPIC -O2 "$work/sigsuspend.c" -o "$work/sigsuspend.so"
for program in mall herald-bench; do cp "$bin/$program" "$work/$program"; strip -g "$work/$program"; done
callgrind() { LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind "$@"; }
refs() { grep -o "refs: *[0-9,]*" | tr -d ', ' | cut -d: -f2; }

# Herald: one commit, by difference.
per_commit() {
    local small large
    small=$(callgrind --callgrind-out-file=/dev/null "$work/herald-bench" --only-commits 200 "$@" 2>&1 | refs)
    large=$(callgrind --callgrind-out-file=/dev/null "$work/herald-bench" --only-commits 1200 "$@" 2>&1 | refs)
    echo $(( (large - small) / 1000 ))
}
herald=$(per_commit)
raw=$(per_commit --raw-c)

# Mall: one order, counted in a window.
export MALL_INGRESS_LIMITS=off MALL_MAX_UNPAID_ORDERS=10000 MALL_PASSWORD_COST=4
LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind --callgrind-out-file="$work/mall.out" \
    "$work/mall" serve --database "$work/mall.sqlite" --port "$port" --fake-gateway > "$work/log" 2>&1 &
pid=$!  # valgrind's, which becomes the program's
for _ in $(seq 1 600); do grep -q "mall listening" "$work/log" && break; kill -0 $pid 2> /dev/null || break; sleep 1; done
grep -q "mall listening" "$work/log" || { echo "mall serve did not start under valgrind:"; tail -20 "$work/log"; exit 1; }
M=http://127.0.0.1:$port
admin=$(grep -o "admin token (printed once, keep it): .*" "$work/log" | sed 's/.*: //')
curl -sf -XPOST "$M/admin/stock/cocoa/receipts" -H "Authorization: Bearer $admin" -d '{"quantity":100000}' > /dev/null
tokens=()
for i in $(seq 1 8); do
    curl -sf -XPOST "$M/members" -d '{"email":"m'"$i"'@example.com","password":"correct horse","name":"M"}' > /dev/null
    tokens+=("$(curl -sf -XPOST "$M/sessions" -d '{"email":"m'"$i"'@example.com","password":"correct horse"}' | jq -r .token)")
done
body='{"lines":[{"sku":"cocoa","quantity":1}],"address":{"name":"Ada","phone":"+44 20 7946 0000","line1":"1 Loop","city":"London","postcode":"SW1"},"paymentMethod":"card","delivery":"standard"}'
place() {
    for i in $(seq 1 "$1"); do
        curl -sf -XPOST "$M/orders" -H "Authorization: Bearer ${tokens[$((i % 8))]}" -H "Content-Type: application/json" -d "$body" > /dev/null
    done
}
caught_up() {
    for _ in $(seq 1 600); do
        curl -sf "$M/admin/subscriptions" -H "Authorization: Bearer $admin" | jq -e 'length > 0 and all(.lag == 0)' > /dev/null && return
        sleep 1
    done
    echo "the subscriptions did not catch up"; exit 1
}
place 20; caught_up
sleep 2  # the skipped checkpoint moves of the warm-up
callgrind_control --zero "$pid" > /dev/null 2>&1
place "$orders"; caught_up
callgrind_control --dump "$pid" > /dev/null 2>&1
for _ in $(seq 1 60); do ls "$work"/mall.out.* > /dev/null 2>&1 && break; sleep 1; done
dump=$(ls "$work"/mall.out.* | head -1)
window=$(grep -h "^totals:\|^summary:" "$dump" | awk '{print $2}' | sort -n | tail -1)
[ -n "${PROFILE:-}" ] && cp "$dump" "$PROFILE"  # the window's profile, for callgrind_annotate
echo "herald_instructions_per_commit=$herald raw_c_instructions_per_commit=$raw" \
    "herald_vs_raw_c=$(python3 -c "print(round($raw / $herald, 3))")" \
    "mall_instructions_per_order=$(( window / orders ))" "orders=$orders"
