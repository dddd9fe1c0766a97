"""Open the built book in a real headless Chromium (Debian's, ``make system-deps``).

The browser is driven through the DevTools protocol over a websocket
(``websocket-client``, already in the venv).  The book is served from
``_build/html`` by ``http.server`` on a random localhost port.  Screenshots are
saved as ``_build/screenshot.png`` (first screen) and
``_build/screenshot-figures.png`` (the per-layer statistics figure).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from book_fixtures import BUILD, HTML, built_book  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.fail("chromium is not installed: run `make system-deps` (apt-get install chromium)")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server(built_book):  # noqa: F811
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class DevTools:
    """A minimal synchronous Chrome DevTools protocol client (flattened sessions)."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, session: str | None = None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(f"no {method} after {timeout}s ({len(self.events) - seen} events)")

    def close(self):
        self.ws.close()


class Page:
    def __init__(self, devtools: DevTools, session: str):
        self.dt, self.session = devtools, session

    def call(self, method, **params):
        return self.dt.call(method, self.session, **params)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=60000)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str):
        self.dt.events.clear()
        self.call("Page.navigate", url=url)
        self.dt.wait_for("Page.loadEventFired", timeout=90)

    def screenshot(self, path: Path, **params):
        data = self.call("Page.captureScreenshot", format="png", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        errors = []
        for event in self.dt.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                  or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        return errors


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    # chromium's helper processes may still write to the profile while it is removed
    with tempfile.TemporaryDirectory(prefix="chromium-profile-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            ws_url, lines = None, []
            deadline = time.monotonic() + 60
            while ws_url is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line and proc.poll() is not None:
                    break
                lines.append(line)
                if "DevTools listening on " in line:
                    ws_url = line.split("DevTools listening on ", 1)[1].strip()
            assert ws_url, "chromium did not start:\n" + "".join(lines[-20:])
            # keep draining stderr so that chromium never blocks on a full pipe
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            devtools = DevTools(ws_url)
            target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
            session = devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            page = Page(devtools, session)
            for domain in ("Page", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                      deviceScaleFactor=1, mobile=False)
            yield page
            devtools.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the browser and all its helper processes
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


WAIT_FOR_MATHJAX = """
(async () => {
  for (let i = 0; i < 600; i++) {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      return true;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
})()
"""

LOAD_IMAGES = """
(async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  return imgs.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                           width: img.naturalWidth, height: img.naturalHeight}));
})()
"""

MATH_REPORT = """
(() => {
  const blocks = Array.from(document.querySelectorAll('div.math, span.math'));
  const raw = blocks.filter(el => !el.querySelector('mjx-container'))
                    .map(el => el.textContent.slice(0, 80));
  const main = document.querySelector('main') || document.body;
  return {
    containers: document.querySelectorAll('mjx-container').length,
    display: document.querySelectorAll('mjx-container[display="true"]').length,
    blocks: blocks.length,
    untypeset: raw,
    dollars: (main.innerText.match(/\\$\\$/g) || []).length,
    mathjaxErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
  };
})()
"""


@pytest.fixture(scope="module")
def chapter(browser, server):
    browser.goto(server + "/numerical-stability.html")
    if not browser.evaluate(WAIT_FOR_MATHJAX):
        src = browser.evaluate("Array.from(document.scripts).map(s => s.src)"
                               ".find(s => s.includes('tex-mml-chtml'))")
        hint = (" (it comes from a CDN: install django-static-mathjax into the venv so that"
                " the book ships its own copy)" if src and "/_static/" not in src else "")
        pytest.fail(f"MathJax never finished loading from {src}{hint}")
    images = browser.evaluate(LOAD_IMAGES)
    math = browser.evaluate(MATH_REPORT)
    errors = browser.console_errors()
    BUILD.mkdir(exist_ok=True)
    browser.screenshot(BUILD / "screenshot.png")
    clip = browser.evaluate("""(() => {
        const imgs = Array.from(document.images).filter(i => i.naturalWidth > 0);
        const img = imgs[imgs.length - 1];
        img.scrollIntoView();
        const r = img.getBoundingClientRect();
        return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height};
    })()""")
    browser.screenshot(BUILD / "screenshot-figures.png", captureBeyondViewport=True,
                       clip={**clip, "scale": 1})
    return {"images": images, "math": math, "errors": errors}


def test_mathjax_typeset_every_formula(chapter):
    math = chapter["math"]
    assert math["blocks"] >= 20
    assert math["containers"] >= math["blocks"], math
    assert math["display"] >= 10, math
    assert math["untypeset"] == [], math["untypeset"]
    assert math["dollars"] == 0, "raw $$ left in the rendered page"
    assert math["mathjaxErrors"] == 0


def test_every_image_loaded(chapter):
    images = chapter["images"]
    assert len(images) >= 3
    broken = [img for img in images if not img["complete"] or img["width"] == 0]
    assert broken == []


def test_no_console_errors(chapter):
    assert chapter["errors"] == []


def test_screenshots_saved(chapter):
    for name in ("screenshot.png", "screenshot-figures.png"):
        png = (BUILD / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_index_leads_to_the_chapter(browser, server):
    browser.goto(server + "/index.html")
    href = browser.evaluate(
        "Array.from(document.querySelectorAll('main a')).map(a => a.getAttribute('href'))"
        ".find(h => h && h.startsWith('numerical-stability.html'))")
    assert href, "index.html has no link to the chapter"
    assert browser.console_errors() == []


def test_chinese_search_finds_the_chapter(browser, server):
    browser.goto(server + "/search.html?q=" + urllib.parse.quote("梯度消失"))
    found = browser.evaluate("""
    (async () => {
      for (let i = 0; i < 300; i++) {
        const hits = document.querySelectorAll('#search-results li a');
        if (hits.length) return Array.from(hits).map(a => a.getAttribute('href'));
        await new Promise(r => setTimeout(r, 100));
      }
      return [];
    })()""")
    assert any(h.startswith("numerical-stability.html") for h in found), found
    assert browser.console_errors() == []
