#!/usr/bin/env bash
# Set up what the tests need (.venv with dev packages, Debian's chromium for the browser test),
# then run the whole test suite. Extra arguments go to pytest.
# Started with sh (Debian's dash) or zsh, the script failed at once ("set: Illegal option -o pipefail", and bash's
# [[ ]] further down): it runs itself again with bash (this part is plain POSIX sh).
if [ -z "${BASH_VERSION:-}" ]; then
  if command -v bash >/dev/null 2>&1 && [ -f "$0" ]; then
    echo "note: $0 is a bash script; it was started with another shell (sh?), so it runs itself with bash" >&2
    exec bash "$0" "$@"
  fi
  echo "error: $0 needs bash (not found on this machine): install bash, then run  bash $0" >&2
  exit 2
fi
set -euo pipefail
# The project folder is the one above this script's: found from the script's real place, so that a symbolic link to
# it (ln -s /path/to/project/scripts/test.sh ~/bin/iomt) runs it on the project, not on the folder above ~/bin.
script=$(readlink -f -- "$0" 2>/dev/null || realpath -- "$0" 2>/dev/null || printf '%s\n' "$0")
cd "$(dirname -- "$script")/.."
# Two test processes (pytest-xdist), each taking whole test files: most tests drive one Streamlit script or one
# Python loop at a time, so a second process uses the second core (CI's 2 cores: about 15 minutes instead of 26).
# IOMT_TEST_WORKERS=N sets how many (1: in this process, no workers; auto: one per core); extra arguments come after
# and win. Checked before the set-up's minutes: a word there was "integer expression expected" after them, and the
# tests then ran in one process.
workers=${IOMT_TEST_WORKERS:-$(( $(nproc) < 2 ? 1 : 2 ))}
if [ "$workers" != auto ]; then
  if ! [[ "$workers" =~ ^[0-9]+$ ]] || [ $((10#$workers)) -lt 1 ]; then
    echo "error: IOMT_TEST_WORKERS='$workers' is not a number of test processes: give a whole number from 1 up" \
      "(1: no worker processes) or 'auto' (one per core), e.g.  IOMT_TEST_WORKERS=1 $0" >&2
    exit 2
  fi
  workers=$((10#$workers))  # 02 is 2 (and not an octal number)
fi
scripts/setup.sh --dev
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    echo "warning: chromium is not installed (sudo apt-get install chromium); the browser test will skip" >&2
  fi
fi
if ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's poppler-utils (pdftoppm) for the PDF report test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils) >/dev/null
  else
    echo "warning: pdftoppm is not installed (sudo apt-get install poppler-utils); the PDF report test will fail" >&2
  fi
fi
if [ "$workers" = auto ] || [ "$workers" -gt 1 ]; then
  exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest "$@"
