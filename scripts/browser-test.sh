#!/usr/bin/env bash
# The operator console in a real browser: Chromium headless (Debian's `chromium`, installed
# when missing) driven through the DevTools protocol by Tests/Browser/console_test.py
# (websocket-client, pinned, installed into .build/browser-venv on first use), against a
# throwaway `mall serve`. Signs in, breaks a subscriber to make a dead letter, finds and
# replays it, sees the overview recover, opens the order's timeline. A screenshot of every
# page visited is kept under .build/browser-artifacts/. Traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

WEBSOCKET_CLIENT_VERSION=1.9.2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$CHROMIUM" ]]; then
    echo "== installing chromium"
    apt-get install -y chromium > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y chromium > /dev/null; }
    CHROMIUM=$(command -v chromium)
fi
VENV=.build/browser-venv
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import websocket, sys; sys.exit(websocket.__version__ != '$WEBSOCKET_CLIENT_VERSION')" 2>/dev/null; then
    echo "== installing websocket-client $WEBSOCKET_CLIENT_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "websocket-client==$WEBSOCKET_CLIENT_VERSION"
fi

ADMIN_TOKEN="browser-admin-token-$$-$RANDOM"
source scripts/lib/mall-server.sh
MALL_PASSWORD_COST=4 start_mall_server --admin-token "$ADMIN_TOKEN"
echo "== mall serve at $URL; $("$CHROMIUM" --version 2>/dev/null | head -1)"
ARTIFACTS=.build/browser-artifacts
rm -rf "$ARTIFACTS" && mkdir -p "$ARTIFACTS"
"$VENV/bin/python" Tests/Browser/console_test.py --chromium "$CHROMIUM" --url "$URL" --admin-token "$ADMIN_TOKEN" \
    --database "$WORK/mall.sqlite" --artifacts "$ARTIFACTS"
echo "== browser test passed; screenshots in $ARTIFACTS"
