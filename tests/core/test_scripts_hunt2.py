"""The set-up scripts (scripts/setup.sh, scripts/dashboard.sh, scripts/test.sh) started the ways users start them:
through a symbolic link, with ``sh``, two at once, with a mistyped setting (found in a bug hunt; each failed before
its fix).

Each test works on a copy of the scripts in a temporary folder whose name has a space; nothing is installed from
the network (empty requirements, ``PIP_NO_INDEX``), and a Python that does not exist (``PYTHON=/nowhere``) stops a
set-up at once where a test only needs to see that it was reached."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_scripts_hunt import OFFLINE, _stamp, kill, project_with_venv, run, venv_works

ROOT = Path(__file__).resolve().parent.parent.parent
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
NO_PYTHON = {"PYTHON": "/nowhere/python3"}
NO_PYTHON_SAID = "Python 3.11 or newer is needed (found: no /nowhere/python3 on this machine)"


@pytest.fixture()
def project(tmp_path) -> Path:
    """A project folder (with a space in its path) holding the three scripts and requirements that install nothing."""
    folder = tmp_path / "my project"
    (folder / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "dashboard.sh", "test.sh", "start.sh"):
        shutil.copy2(ROOT / "scripts" / name, folder / "scripts" / name)
    (folder / "requirements.txt").write_text("# nothing to install\n")
    (folder / "requirements-dev.txt").write_text("-r requirements.txt\n")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link(tmp_path: Path, target: Path, name: str, *, relative: bool = False) -> Path:
    """A symbolic link ``tmp_path/bin/name`` to ``target`` (as ``ln -s`` makes one, relative or absolute)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.symlink_to(os.path.relpath(target, bin_dir) if relative else target)
    return path


# ---------------------------------------------------------------------------------- started through a link


@pytest.mark.parametrize("relative", [False, True])
def test_setup_started_through_a_symbolic_link_sets_up_the_project(project, tmp_path, relative):
    """``ln -s .../scripts/setup.sh ~/bin/iomt-setup``: the script went to the folder above the link's (``~``), made
    a .venv there and failed ("cat: requirements.txt: No such file or directory")."""
    setup = link(tmp_path, project / "scripts" / "setup.sh", "iomt-setup", relative=relative)
    out = run([str(setup)], cwd=tmp_path, env={**OFFLINE, "PYTHON": BASE_PYTHON})
    assert out.returncode == 0, out.stderr
    assert venv_works(project)
    assert not (tmp_path / ".venv").exists()


@pytest.mark.parametrize("script", ["dashboard.sh", "test.sh"])
def test_dashboard_and_tests_started_through_a_symbolic_link_find_the_set_up(project, tmp_path, script):
    """``ln -s .../scripts/dashboard.sh ~/bin/iomt; iomt``: "scripts/setup.sh: No such file or directory" (the
    set-up reached here stops at once, for want of a Python)."""
    command = link(tmp_path, project / "scripts" / script, "iomt")
    out = run([str(command)], cwd=tmp_path, env={**NO_PYTHON, "IOMT_PORT": str(free_port())})
    assert out.returncode == 1 and NO_PYTHON_SAID in out.stderr, (out.stdout, out.stderr)
    assert "No such file" not in out.stderr


# ---------------------------------------------------------------------------------- started with sh


def test_scripts_started_with_sh_run_with_bash(project, tmp_path):
    """``sh scripts/setup.sh`` (Debian's sh is dash): "set: Illegal option -o pipefail", and dashboard.sh's arrays
    are a syntax error there. Each script now runs itself with bash, and says so."""
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh on this machine")
    sh_is_bash = subprocess.run([sh, "-c", 'echo "${BASH_VERSION:-}"'], capture_output=True, text=True).stdout.strip()
    out = run([sh, "scripts/setup.sh"], cwd=project, env={**OFFLINE, "PYTHON": BASE_PYTHON})
    assert out.returncode == 0, out.stderr
    assert venv_works(project)
    if not sh_is_bash:
        assert "is a bash script" in out.stderr and "runs itself with bash" in out.stderr, out.stderr
    # dashboard.sh parsed whole (its arrays, [[ ]]) and run up to its port check; test.sh up to its settings check.
    bad = run([sh, "scripts/dashboard.sh"], cwd=project, env={"IOMT_PORT": "web"})
    assert bad.returncode == 2 and "'web' is not a port number" in bad.stderr, bad.stderr
    bad = run([sh, str(project / "scripts" / "test.sh")], cwd=tmp_path, env={"IOMT_TEST_WORKERS": "two"})
    assert bad.returncode == 2 and "IOMT_TEST_WORKERS='two'" in bad.stderr, bad.stderr


# ---------------------------------------------------------------------------------- two at once


def wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> str:
    """The contents of ``path`` once they hold ``text`` (the test fails when ``proc`` ends first, or on a timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = path.read_text()
        if text in seen:
            return seen
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"{text!r} not said; said: {path.read_text()!r} (exit status {proc.poll()})")


def start(args, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as fh:
        return subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)  # fmt: skip


@pytest.mark.parametrize("script", ["setup.sh", "dashboard.sh"])
def test_a_second_set_up_waits_for_the_first(project, tmp_path, script):
    """Two first starts at once (two terminals; the dashboard and the tests): both made .venv and ran pip in it, and
    both generated the demo data and trained the same demo models into the same folders. The second now waits for
    the first one's set-up (here: the test holds the script's lock, as a running set-up does), and goes on when it
    ends."""
    env = {**OFFLINE, "PYTHON": BASE_PYTHON, "IOMT_PORT": str(free_port())}
    if script == "dashboard.sh":
        env.update(NO_PYTHON)  # the set-up it goes on to stops at once: it was reached
    log = tmp_path / "out.log"
    with open(project / "scripts" / script) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a first set-up, running
        proc = start(["bash", f"scripts/{script}"], project, env, log)
        try:
            said = wait_for(log, "waiting for the set-up", proc)
            assert proc.poll() is None, said  # still waiting
            assert not (project / ".venv").exists() and "Python 3.11" not in said, said
        except BaseException:
            kill(proc)
            raise
        fcntl.flock(held, fcntl.LOCK_UN)  # the first one ends
    try:
        proc.wait(timeout=120)
    finally:
        kill(proc)
    said = log.read_text()
    if script == "setup.sh":
        assert proc.returncode == 0 and venv_works(project), said
    else:
        assert proc.returncode == 1 and NO_PYTHON_SAID in said, said


def test_the_dashboard_lets_go_of_the_set_up_lock_before_it_serves(tmp_path):
    """The lock of the demo set-up is let go before streamlit starts: held on, a second dashboard (on another port) or
    a set-up would wait for the first dashboard to stop. A copy of the project, with a .venv of the same packages
    and the demo in place (nothing is installed or trained), served by the real streamlit; no bug of the old
    scripts, which had no lock."""
    folder, demo, models = project_with_venv(tmp_path, "my project")
    port = free_port()
    env = {**OFFLINE, "IOMT_MODELS_DIR": str(models), "IOMT_DEMO_DATA_DIR": str(demo), "IOMT_PORT": str(port)}
    proc = start(["bash", "scripts/dashboard.sh"], folder, env, tmp_path / "out.log")
    try:
        served = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not served:
            with socket.socket() as s:
                served = s.connect_ex(("127.0.0.1", port)) == 0
            time.sleep(0.5)
        assert served, (tmp_path / "out.log").read_text()
        with open(folder / "scripts" / "dashboard.sh") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError while the dashboard holds it
    finally:
        kill(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill(proc)


# ---------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("workers", ["two", "0", "1.5", "-1"])
def test_a_test_worker_count_that_is_no_number_is_said_before_the_set_up(project, workers):
    """``IOMT_TEST_WORKERS=two scripts/test.sh``: the set-up ran, then "[: two: integer expression expected", then the
    tests ran in one process as if nothing was wrong."""
    out = run(["bash", "scripts/test.sh"], cwd=project, env={**NO_PYTHON, "IOMT_TEST_WORKERS": workers})
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert f"IOMT_TEST_WORKERS='{workers}' is not a number of test processes" in out.stderr, out.stderr
    assert "IOMT_TEST_WORKERS=1" in out.stderr and "Python 3.11" not in out.stderr  # said before the set-up


def test_network_mode_asked_for_after_another_argument_or_as_yes_is_not_lost(project, tmp_path):
    """``scripts/dashboard.sh --server.port 8600 --network`` passed --network on to the app, unread, and
    ``IOMT_NETWORK=yes`` was taken for "no": both served on this machine only without a word. Asked for either way,
    network mode is now on (and refuses to start without an accounts file); an unknown IOMT_NETWORK is said."""
    env = {**NO_PYTHON, "IOMT_ACCOUNTS_FILE": str(tmp_path / "none.yaml")}
    port = str(free_port())
    for args, extra in ((["--server.port", port, "--network"], {}), ([], {"IOMT_NETWORK": "yes", "IOMT_PORT": port})):
        out = run(["bash", "scripts/dashboard.sh", *args], cwd=project, env={**env, **extra})
        assert out.returncode == 2 and "network mode needs sign-in" in out.stderr, (args, extra, out.stderr)
    out = run(["bash", "scripts/dashboard.sh"], cwd=project, env={**env, "IOMT_NETWORK": "maybe", "IOMT_PORT": port})
    assert out.returncode == 2 and "IOMT_NETWORK='maybe' is neither 1" in out.stderr, out.stderr


def test_setup_refuses_an_unknown_option(project):
    """``scripts/setup.sh --deV`` set up without the dev packages, without a word."""
    out = run(["bash", "scripts/setup.sh", "--deV"], cwd=project, env=NO_PYTHON)
    assert out.returncode == 2 and "unknown option '--deV'" in out.stderr, out.stderr


@pytest.mark.parametrize("given", [None, "3"])
def test_test_processes_share_the_cores_with_tensorflow_too(tmp_path, given):
    """Two test processes on two cores each ran TensorFlow's thread pools at one thread per core (TensorFlow reads
    TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS, not OMP_NUM_THREADS): their threads spun while the other process
    held the core, and a network's training took 1.6 times as long. Each process now gets its share, as for OpenMP;
    a pool size the user sets is kept."""
    project, _, _ = project_with_venv(tmp_path, "copy")
    (project / "tests").mkdir()
    (project / "tests" / "test_env.py").write_text(
        "import json, os\n\n\ndef test_env():\n"
        "    names = ('OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'PYTEST_XDIST_WORKER')\n"
        "    with open(os.environ['ENV_OUT'], 'w') as f:\n"
        "        json.dump({n: os.environ.get(n) for n in names}, f)\n"
    )
    (project / ".venv" / _stamp(project, "requirements.txt", "requirements-dev.txt")).touch()
    tools = tmp_path / "tools"  # the browser and PDF tools "installed", so the script installs nothing
    tools.mkdir()
    for tool in ("chromium", "pdftoppm"):
        (tools / tool).write_text("#!/bin/sh\n")
        (tools / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "TF_NUM_", "PYTEST_"))}
    env.update(OFFLINE, ENV_OUT=str(tmp_path / "env.json"), IOMT_TEST_WORKERS="2",
               PATH=f"{tools}{os.pathsep}{env['PATH']}")  # fmt: skip
    if given:
        env["TF_NUM_INTRAOP_THREADS"] = given
    out = subprocess.run(["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider", "tests/test_env.py"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert out.returncode == 0, (out.stdout, out.stderr)
    seen = json.loads((tmp_path / "env.json").read_text())
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert seen["PYTEST_XDIST_WORKER"], seen  # in a worker process
    assert seen["OMP_NUM_THREADS"] == seen["TF_NUM_INTEROP_THREADS"] == share, seen
    assert seen["TF_NUM_INTRAOP_THREADS"] == (given or share), seen
