"""Serve the dashboard in a child process on a free local port (used by the browser test and benchmarks).

No Streamlit import here: this only starts ``streamlit run dashboard/app.py`` and waits until its
health endpoint answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at ``url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@contextmanager
def serve(models_dir: Path, demo_dir: Path, log_path: Path, startup_s: float = 60.0, *, address: str = "127.0.0.1",
          extra_args: tuple[str, ...] = (), env: dict | None = None) -> Iterator[str]:  # fmt: skip
    """Serve dashboard/app.py on 127.0.0.1 and a free port; yield its URL; always stop it.

    ``address`` is the one the server listens on (e.g. ``0.0.0.0`` to test network mode; the URL
    yielded still goes through 127.0.0.1); ``extra_args`` go to ``streamlit run`` (e.g.
    ``("--server.maxUploadSize", "1")``); ``env`` adds environment variables.

    The server's output goes to ``log_path``. Raises ``RuntimeError`` with the end of that log
    when the server exits or is not healthy within ``startup_s`` seconds.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "IOMT_MODELS_DIR": str(models_dir), "IOMT_DEMO_DATA_DIR": str(demo_dir),
           "PYTHONUNBUFFERED": "1", **(env or {})}  # fmt: skip
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
               "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               *extra_args]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_s
            while not healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    state = (
                        f"exited with {proc.returncode}"
                        if proc.poll() is not None
                        else f"not healthy after {startup_s} s"
                    )
                    output = log_path.read_text(errors="replace")
                    raise RuntimeError(f"the dashboard did not start: {state} (log {log_path})\n{output[-3000:]}")
                time.sleep(0.25)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
