#!/usr/bin/env bash
# Create .venv and install the project's Python dependencies (again only when requirements change).
# Usage: scripts/setup.sh [--dev]    (PYTHON=/path/to/python3.X to choose the Python that makes .venv)
# Its own real path (through a symbolic link too), then the start every script shares (scripts/start.sh): bash,
# strict mode, the project folder as the current folder.
self=$(readlink -f -- "$0" 2>/dev/null || realpath -- "$0" 2>/dev/null || printf '%s\n' "$0")
. "$(dirname -- "$self")/start.sh"
req=requirements.txt
case "${1:-}" in
  --dev) req=requirements-dev.txt ;;
  "") ;;
  *)
    echo "error: unknown option '$1' (usage: scripts/setup.sh [--dev])" >&2
    exit 2
    ;;
esac
# One set-up at a time in this folder: two at once (scripts/dashboard.sh in two terminals, or it and scripts/test.sh)
# both made .venv and ran pip in it together. A second one waits for the first (a lock on this script's file; none
# where flock is missing), then finds nothing left to do.
exec 8<scripts/setup.sh
locked=0
if command -v flock >/dev/null 2>&1; then flock -n -E 75 8 || locked=$?; fi
if [ "$locked" = 75 ]; then  # held by another set-up (any other failure, a disk without locks say: go on unlocked)
  echo "waiting for the set-up (scripts/setup.sh) already running in this folder to finish"
  flock 8 || true
fi
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && ! new_enough "$PY"; then
  # python3 too old or absent (Ubuntu 22.04: 3.10), but a newer one installed beside it (apt install python3.11)
  for cand in python3.14 python3.13 python3.12 python3.11; do
    if new_enough "$cand"; then
      PY=$cand
      break
    fi
  done
fi
if ! new_enough "$PY"; then
  if command -v "$PY" >/dev/null 2>&1; then
    found=$("$PY" --version 2>&1 | head -n 1 || true)
  else
    found="no $PY on this machine"
  fi
  echo "error: Python 3.11 or newer is needed (found: $found)" >&2
  echo "install one (Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv), or name it:" >&2
  echo "  PYTHON=/path/to/python3.11 $0 $*" >&2
  exit 1
fi
# A usable .venv: its Python runs, is new enough and has pip. An interrupted set-up, a 'python3 -m venv' without
# Debian's python3-venv (no pip), or the Python it was made from removed or upgraded leave one that is not: without
# this check every later run failed the same way ('No module named pip', 'No such file or directory').
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' \
    >/dev/null 2>&1; then
  :
elif [ -e .venv ] || [ -L .venv ]; then
  echo "re-creating .venv: the one there is incomplete or its Python is gone (an interrupted set-up?)"
  "$PY" -m venv --clear .venv
else
  echo "creating .venv"
  "$PY" -m venv .venv
fi
# the stamp names what was installed; Python hashes it, as sha256sum is not on every system (macOS has shasum)
hash_of() { cat "$@" | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])'; }
stamp=.venv/.installed-$(hash_of requirements.txt "$req")
if [ ! -f "$stamp" ]; then
  echo "installing Python packages from $req (first time: a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  touch "$stamp"
  # requirements-dev.txt includes requirements.txt: a later plain set-up has nothing to install (and needs no network)
  if [ "$req" != requirements.txt ] && grep -qx -- '-r requirements.txt' "$req"; then
    touch ".venv/.installed-$(hash_of requirements.txt requirements.txt)"
  fi
fi
