"""The set-up scripts the README's first commands run (scripts/setup.sh, scripts/dashboard.sh), in the states a
fresh or an old machine leaves them: a half-made .venv, python3 too old with a newer Python beside it, the port
taken, the project folder moved (found in a bug hunt; each failed before its fix).

Each test works on a copy of the scripts in a temporary folder whose name has a space; nothing is installed from
the network (empty requirements, ``PIP_NO_INDEX``), and the checkout's own .venv is only read."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Signal ``proc``'s process group (the script and what it started), if it is still there."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def run(args, cwd, env=None, timeout=120, **kw):
    """Run ``args`` in its own process group; on a timeout the whole group is killed (a stuck set-up leaves no
    Python behind) and the test fails."""
    proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        out, err = proc.communicate()
        pytest.fail(f"{args} still ran after {timeout} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.fixture()
def project(tmp_path) -> Path:
    """A project folder (with a space in its path) holding scripts/setup.sh (and the start it sources) and requirements
    that install nothing."""
    folder = tmp_path / "my project"
    (folder / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "start.sh"):
        shutil.copy2(ROOT / "scripts" / name, folder / "scripts" / name)
    (folder / "requirements.txt").write_text("# nothing to install\n")
    (folder / "requirements-dev.txt").write_text("-r requirements.txt\n")
    return folder


OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def venv_works(folder: Path) -> bool:
    python = folder / ".venv" / "bin" / "python"
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True, timeout=60).returncode == 0


@pytest.mark.parametrize("broken", ["no pip", "python gone"])
def test_setup_repairs_a_half_made_venv(project, broken, tmp_path):
    """'python3 -m venv' without Debian's python3-venv (or stopped with Ctrl+C) leaves .venv/bin/python without pip;
    every later run then failed with 'No module named pip', even after python3-venv was installed. A .venv whose
    Python was removed (a system upgrade, a pyenv version uninstalled) failed every time with 'No such file or
    directory': 'python3 -m venv' keeps a dangling link."""
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", project / ".venv"], check=True, timeout=120)
    if broken == "python gone":
        link = project / ".venv" / "bin" / "python3"
        link.unlink()
        link.symlink_to(tmp_path / "gone" / "python3.11")
    out = run(["bash", str(project / "scripts" / "setup.sh")], cwd=tmp_path, env={**OFFLINE, "PYTHON": BASE_PYTHON})
    assert out.returncode == 0, out.stderr
    assert "re-creating .venv" in out.stdout
    assert venv_works(project)
    again = run(["bash", str(project / "scripts" / "setup.sh")], cwd=project, env={**OFFLINE, "PYTHON": BASE_PYTHON})
    assert again.returncode == 0 and again.stdout == "", again  # a second run: nothing to do, nothing said


def test_a_plain_setup_after_the_dev_one_has_nothing_to_install(project, tmp_path):
    """requirements-dev.txt includes requirements.txt, but after scripts/test.sh (--dev) the dashboard's plain set-up
    installed again, pip upgrade first: on a machine without network it failed though every package was there."""
    env = {**OFFLINE, "PYTHON": BASE_PYTHON}
    dev = run(["bash", "scripts/setup.sh", "--dev"], cwd=project, env=env)
    assert dev.returncode == 0 and "installing Python packages from requirements-dev.txt" in dev.stdout, dev
    plain = run(["bash", "scripts/setup.sh"], cwd=project, env=env)
    assert plain.returncode == 0 and plain.stdout == "", plain


def test_setup_takes_a_newer_python_beside_an_old_python3(project, tmp_path):
    """Ubuntu 22.04's python3 is 3.10; with python3.11 (or newer) installed beside it the set-up refused to start,
    and did not say how to name the newer one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    old = bin_dir / "python3"
    old.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.10.12" && exit 0\nexit 1\n')
    old.chmod(0o755)
    (bin_dir / "python3.12").symlink_to(BASE_PYTHON)
    env = {**OFFLINE, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHON", None)
    out = run(["bash", "scripts/setup.sh"], cwd=project, env=env)
    assert out.returncode == 0, out.stderr
    version = subprocess.run([project / ".venv" / "bin" / "python", "-c", "import sys; print(sys.version_info >= "
                              "(3, 11))"], capture_output=True, text=True, timeout=60).stdout  # fmt: skip
    assert version.strip() == "True"


def test_setup_without_a_usable_python_says_how_to_name_one(project):
    out = run(["bash", "scripts/setup.sh"], cwd=project, env={"PYTHON": "/nowhere/python3"})
    assert out.returncode == 1
    assert "Python 3.11 or newer is needed (found: no /nowhere/python3 on this machine)" in out.stderr
    assert "PYTHON=/path/to/python3.11" in out.stderr
    assert not (project / ".venv").exists()


# ---------------------------------------------------------------------------------- dashboard.sh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_refuses_a_busy_port_at_once_and_says_what_to_do(tmp_path):
    """A second scripts/dashboard.sh (or another program on 8501) ran the set-up and the demo training first, then
    said only 'Port 8501 is not available', under a line telling to open that address."""
    env = {"IOMT_MODELS_DIR": str(tmp_path / "models"), "IOMT_DEMO_DATA_DIR": str(tmp_path / "demo")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        out = run(["bash", str(ROOT / "scripts" / "dashboard.sh")], cwd=tmp_path, env={**env, "IOMT_PORT": str(port)},
                  timeout=90)  # fmt: skip
        assert time.monotonic() - started < 30
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert f"port {port} is already in use" in out.stderr and "IOMT_PORT=" in out.stderr
    assert "starting the dashboard" not in out.stdout
    assert not (tmp_path / "models").exists() and not (tmp_path / "demo").exists()  # no demo set-up was run
    bad = run(["bash", str(ROOT / "scripts" / "dashboard.sh")], cwd=tmp_path, env={**env, "IOMT_PORT": "web"})
    assert bad.returncode == 2 and "'web' is not a port number" in bad.stderr


def _stamp(folder: Path, *files: str) -> str:
    return ".installed-" + hashlib.sha256(b"".join((folder / f).read_bytes() for f in files)).hexdigest()[:16]


def project_with_venv(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A copy of the project in ``tmp_path / name`` with a .venv as a move leaves one (pyvenv.cfg, this one's packages,
    bin/python a link to the base Python; set up, so nothing is installed), and the demo as setup-demo leaves it
    (data in train/, a folder per demo model, so nothing is trained): ``(project, demo folder, models folder)``."""
    real = Path(sys.prefix)
    if not (real / "pyvenv.cfg").is_file():
        pytest.skip("the tests do not run in a virtual environment")
    folder = tmp_path / name
    skip = shutil.ignore_patterns("__pycache__")
    for part in ("core", "dashboard", "scripts", ".streamlit"):
        shutil.copytree(ROOT / part, folder / part, ignore=skip)
    for part in ("requirements.txt", "requirements-dev.txt"):
        shutil.copy2(ROOT / part, folder / part)
    venv = folder / ".venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy2(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "lib").symlink_to(real / "lib")
    (venv / "bin" / "python3").symlink_to(os.path.realpath(real / "bin" / "python"))
    (venv / "bin" / "python").symlink_to("python3")
    (venv / _stamp(folder, "requirements.txt", "requirements.txt")).touch()
    demo, models = tmp_path / "demo", tmp_path / "models"
    (demo / "train").mkdir(parents=True)
    (demo / "train" / "Benign_train.pcap.csv").touch()
    for task in (2, 6, 19):
        for family in ("cnn", "paper-cnn", "rf", "lr"):
            (models / f"demo-{family}-{task}class").mkdir(parents=True)
            (models / f"demo-{family}-{task}class" / "metadata.json").write_text("{}")
    return folder, demo, models


def test_dashboard_starts_after_the_project_folder_was_moved(tmp_path):
    """pip writes the Python of the folder .venv was made in into .venv/bin/streamlit; after the project folder was
    moved or renamed, the set-up and demo passed, then 'exec .venv/bin/streamlit' failed: 'cannot execute:
    required file not found'. The project here is a copy, with a .venv as a move leaves one: pyvenv.cfg, the same
    packages, bin/python a link to the base Python, bin/streamlit naming the old place."""
    folder, demo, models = project_with_venv(tmp_path, "moved project")
    real = Path(sys.prefix)
    script = (real / "bin" / "streamlit").read_text().splitlines()
    (folder / ".venv" / "bin" / "streamlit").write_text(
        "\n".join(["#!/old/place/.venv/bin/python", *script[1:]]) + "\n"
    )
    (folder / ".venv" / "bin" / "streamlit").chmod(0o755)
    port = free_port()
    env = {**os.environ, **OFFLINE, "IOMT_MODELS_DIR": str(models), "IOMT_DEMO_DATA_DIR": str(demo),
           "IOMT_PORT": str(port)}  # fmt: skip
    proc = subprocess.Popen(["bash", "scripts/dashboard.sh"], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    served = False
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not served:
            with socket.socket() as s:
                served = s.connect_ex(("127.0.0.1", port)) == 0
            time.sleep(0.5)
    finally:
        kill(proc, signal.SIGTERM)
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            kill(proc)
            output = proc.communicate()[0]
    assert served, output
