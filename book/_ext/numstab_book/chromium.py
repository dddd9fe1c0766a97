"""Headless Chromium driven over the DevTools protocol: what the PDF builder prints with.

Debian's ``chromium`` (``make system-deps``); ``websocket-client`` (in the venv) carries the
protocol.  :func:`served` serves a folder on a random localhost port for the page to load from.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1"]


def find_chromium() -> str | None:
    """``$CHROMIUM`` when set (None if it does not exist), else Debian's chromium or the one on PATH."""
    if "CHROMIUM" in os.environ:
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).is_file() else None
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


def missing() -> str:
    """One line naming what printing the book lacks; empty when chromium is there.  (No system font
    is needed: the pages bring their own, ``font.py``.)"""
    if find_chromium():
        return ""
    return "make pdf needs chromium: run `make system-deps` (apt-get install chromium)"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(folder: Path):
    """``http://127.0.0.1:<port>`` serving ``folder`` while the block runs."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Browser:
    """One headless Chromium with one page attached (flattened session)."""

    def __init__(self, exe: str | None = None, width: int = 1280, height: int = 900):
        self.exe = exe or find_chromium()
        if not self.exe:
            raise FileNotFoundError("chromium is not installed: run `make system-deps`")
        self.size = (width, height)
        self.events: list[dict] = []
        self._id = 0

    # -- life cycle -------------------------------------------------------------
    def __enter__(self):
        import websocket  # websocket-client

        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-",
                                                    ignore_cleanup_errors=True)
        self.proc = subprocess.Popen([self.exe, *FLAGS, f"--user-data-dir={self._profile.name}",
                                      "about:blank"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            ws_url, lines = None, []
            deadline = time.monotonic() + 60
            while ws_url is None and time.monotonic() < deadline:
                line = self.proc.stderr.readline()
                if not line and self.proc.poll() is not None:
                    break
                lines.append(line)
                if "DevTools listening on " in line:
                    ws_url = line.split("DevTools listening on ", 1)[1].strip()
            if not ws_url:
                raise RuntimeError("chromium did not start:\n" + "".join(lines[-20:]))
            # keep draining stderr so that chromium never blocks on a full pipe
            threading.Thread(target=self.proc.stderr.read, daemon=True).start()
            self.ws = websocket.create_connection(ws_url, timeout=120, suppress_origin=True)
            target = self._call("Target.createTarget", None, url="about:blank")["targetId"]
            self.session = self._call("Target.attachToTarget", None, targetId=target,
                                      flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            width, height = self.size
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(Exception):
            self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the browser and all its helper processes
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._profile.cleanup()

    # -- protocol ---------------------------------------------------------------
    def _call(self, method: str, session: str | None, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def call(self, method: str, **params):
        return self._call(method, self.session, **params)

    def wait_for(self, method: str, timeout: float = 90):
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(f"no {method} after {timeout}s")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=120000)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")


if __name__ == "__main__":  # `make pdf` asks first, so that a missing piece costs one line
    sys.exit(missing() or None)
