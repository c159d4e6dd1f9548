"""End-to-end helpers: a real ``jupyter lab`` subprocess and a way to open it in Playwright."""

from __future__ import annotations

import contextlib
import json as _json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

# JupyterLab's own checks would reach the internet (and ask with a toast): off in the test settings.
_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


CHROMIUM = "/usr/bin/chromium"  # Debian's (Playwright cannot download its own browsers offline)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@contextlib.contextmanager
def chromium_page(timeout_ms: int, viewport: dict | None = None):
    """A page of a fresh headless Chromium (for benchmarks; tests use the ``page`` fixture), its
    Playwright calls waiting ``timeout_ms`` at most."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport or {"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A running ``jupyter lab`` on 127.0.0.1 with its own root, token, settings and workspaces."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.settings_dir = base / "settings"
        self.log_path = base / "jupyter-lab.log"
        self.root.mkdir()
        for name, value in _USER_SETTINGS.items():
            path = self.settings_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_json.dumps(value))
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(self.settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "IPYTHONDIR": str(base / "ipython"),
        }
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.log()}")
            try:
                self.api("GET", "api/status")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise TimeoutError(f"jupyter lab did not answer in {timeout} s:\n{self.log()}")

    def api(self, method: str, path: str, json=None):
        """Authenticated REST call on ``{url}{path}``; parsed JSON (None if empty), HTTPError on 4xx/5xx."""
        data = None if json is None else _json.dumps(json).encode()
        req = urllib.request.Request(
            self.url + path.lstrip("/"), data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        return _json.loads(body) if body else None

    def stop(self) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL the whole session if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost")


def open_lab(page, lab: LabServer, path: str = "") -> str:
    """Open ``path`` (a notebook or file; the launcher when empty) in a new, empty JupyterLab
    workspace and wait until the shell is restored and a main-area document is shown. Returns the
    workspace's id (``lab.api("GET", f"lab/api/workspaces/{id}")``; a reload stays in it)."""
    workspace = f"e2e-{secrets.token_hex(4)}"
    target = f"lab/workspaces/{workspace}" + (f"/tree/{path}" if path else "")
    page.goto(f"{lab.url}{target}?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    page.locator("#jp-main-dock-panel").wait_for(state="visible")
    main = ".jp-Notebook .jp-Cell" if path.endswith(".ipynb") else ".jp-Launcher, .jp-Document"
    page.locator(f"#jp-main-dock-panel :is({main})").first.wait_for(state="visible", timeout=60_000)
    return workspace
