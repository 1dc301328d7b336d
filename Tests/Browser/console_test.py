"""The operator console in Chromium headless, driven through the DevTools protocol.

Run by scripts/browser-test.sh against a throwaway `mall serve`. Each step fails loudly:
a page that does not load, answers an error, or shows no heading fails the test. Every
page visited is saved as a PNG under --artifacts.
"""

import argparse
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Browser:
    """One Chromium headless process and one page, spoken to over its DevTools socket."""

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="mall-browser-")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            check(time.time() < deadline, "chromium did not open its DevTools port within 60 s")
            check(self.process.poll() is None, "chromium exited at start")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(p for p in pages if p["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        self.events = []
        self.command("Page.enable")
        self.command("Network.enable")

    def command(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                check("error" not in message, f"{method}: {message.get('error')}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, timeout=60):
        deadline = time.time() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            check(time.time() < deadline, f"no {method} within {timeout} s")
            self.socket.settimeout(max(0.1, deadline - time.time()))
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression):
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        check("exceptionDetails" not in result, f"{expression}: {result.get('exceptionDetails')}")
        return result["result"].get("value")

    def settle(self, action):
        """Runs `action` (which navigates) and waits for the new page to load; returns the
        HTTP status of its document."""
        self.events.clear()
        action()
        self.wait_for("Page.loadEventFired")
        statuses = [event["params"]["response"]["status"] for event in self.events
                    if event.get("method") == "Network.responseReceived" and event["params"].get("type") == "Document"]
        check(statuses, "no document was loaded")
        return statuses[-1]

    def open(self, url):
        return self.settle(lambda: self.command("Page.navigate", url=url))

    def screenshot(self, path):
        data = self.command("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def api(url, method, path, body=None, token=None):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main():
    parser = argparse.ArgumentParser()
    for option in ["chromium", "url", "admin-token", "database", "artifacts"]:
        parser.add_argument(f"--{option}", required=True)
    arguments = parser.parse_args()
    url, artifacts = arguments.url, arguments.artifacts
    shots = []

    browser = Browser(arguments.chromium)
    try:
        def visit(name, path=None, action=None, expected_status=200):
            status = browser.open(url + path) if path else browser.settle(action)
            check(status == expected_status, f"{name}: HTTP {status}, expected {expected_status}")
            heading = browser.evaluate("document.querySelector('main h1')?.innerText ?? ''")
            check(heading.strip() != "", f"{name}: a blank page (no heading)")
            check(browser.evaluate("document.title").endswith("Mall console"), f"{name}: not a console page")
            shot = os.path.join(artifacts, f"{len(shots) + 1:02d}-{name}.png")
            browser.screenshot(shot)
            shots.append(shot)
            return browser.evaluate("document.body.innerText")

        def definition(term):
            return browser.evaluate(
                f"[...document.querySelectorAll('dt')].find(d => d.innerText.trim() == {json.dumps(term)})?.nextElementSibling?.innerText?.trim()")

        # Signed out, the console sends the browser to its sign-in page.
        visit("sign-in", "/console")
        check(browser.evaluate("location.pathname") == "/console/login", "not sent to the sign-in page")
        browser.evaluate(f"document.getElementById('token').value = {json.dumps('not the token')}")
        text = visit("sign-in-refused", action=lambda: browser.evaluate("document.querySelector('form').submit()"), expected_status=401)
        check("not the admin token" in text, "a wrong token is refused with a message")
        browser.evaluate(f"document.getElementById('token').value = {json.dumps(arguments.admin_token)}")
        text = visit("overview", action=lambda: browser.evaluate("document.querySelector('form').submit()"))
        check("Lag per subscription" in text and "inventory.reservations" in text, "the overview lists the subscriptions")

        # Break a subscriber: the teapot's stock document is damaged on disk, so reserving
        # stock for an order of a teapot fails and the event becomes a dead letter.
        database = sqlite3.connect(arguments.database, timeout=30)
        (intact,) = database.execute("SELECT state FROM herald_aggregates WHERE stream_type = 'Stock' AND stream_id = 'teapot'").fetchone()
        with database:
            database.execute("UPDATE herald_aggregates SET state = ? WHERE stream_type = 'Stock' AND stream_id = 'teapot'", (b'{"id":"teapot","onHand":',))
        api(url, "POST", "/members", {"email": "ada@example.com", "password": "correct horse", "name": "Ada"})
        member = api(url, "POST", "/sessions", {"email": "ada@example.com", "password": "correct horse"})["token"]
        order = api(url, "POST", "/orders", {
            "lines": [{"sku": "teapot", "quantity": 1}], "paymentMethod": "card", "delivery": "standard",
            "address": {"name": "Ada Lovelace", "phone": "+44 20 7946 0000", "line1": "12 St James's Square", "city": "London", "postcode": "SW1Y 4JH"},
        }, token=member)["id"]

        deadline = time.time() + 60
        while True:
            text = visit("dead-letters", "/console/dead-letters")
            if "inventory.reservations" in text and "Stock/teapot" in text:
                break
            check(time.time() < deadline, "the dead letter never showed on its page")
            time.sleep(0.5)
        text = visit("overview-with-dead-letter", "/console")
        check(definition("Dead letters") == "1", f"the overview counts the dead letter: {text[:300]}")

        # Mend the document and replay the dead letter from its page.
        with database:
            database.execute("UPDATE herald_aggregates SET state = ? WHERE stream_type = 'Stock' AND stream_id = 'teapot'", (intact,))
        database.close()
        visit("dead-letters-before-replay", "/console/dead-letters")
        text = visit("replayed", action=lambda: browser.evaluate("document.querySelector('button[value=replay]').click()"))
        check("replayed 1" in text, "the replay is confirmed")

        deadline = time.time() + 60
        while True:
            text = visit("overview-recovered", "/console")
            if definition("Dead letters") == "0":
                break
            check(time.time() < deadline, f"the overview never recovered: {text[:300]}")
            time.sleep(0.5)

        # The order's timeline, found by its id through the search form.
        visit("orders", "/console/orders")
        browser.evaluate(f"document.getElementById('order-id').value = {json.dumps(order)}")
        deadline = time.time() + 60
        while True:
            text = visit("timeline", action=lambda: browser.evaluate("document.querySelector('form[role=search]').submit()"))
            if "StockReserved" in text:
                break
            check(time.time() < deadline, f"the timeline never showed the reservation: {text[:500]}")
            time.sleep(0.5)
            visit("orders", f"/console/orders")
            browser.evaluate(f"document.getElementById('order-id').value = {json.dumps(order)}")
        check("OrderSubmitted" in text and "failing since" in text, "the timeline shows the order and its recovery")
        print(f"browser test: {len(shots)} pages checked; order {order} recovered from its dead letter")
    except Failure as failure:
        print(f"browser test FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
