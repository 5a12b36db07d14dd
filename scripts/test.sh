#!/usr/bin/env bash
# Set up what the tests need (.venv with dev packages, Debian's chromium for the browser test),
# then run the whole test suite. Extra arguments go to pytest.
# Its own real path (through a symbolic link too), then the start every script shares (scripts/start.sh): bash,
# strict mode, the project folder as the current folder.
self=$(readlink -f -- "$0" 2>/dev/null || realpath -- "$0" 2>/dev/null || printf '%s\n' "$0")
. "$(dirname -- "$self")/start.sh"
# Two test processes (pytest-xdist), each taking whole test files: most tests drive one Streamlit script or one
# Python loop at a time, so a second process uses the second core (on CI's 2 cores, 1.7 times as fast as one when
# last compared).
# IOMT_TEST_WORKERS=N sets how many (1: in this process, no workers; auto: one per core); extra arguments come after
# and win. Checked before the set-up's minutes: a word there was "integer expression expected" after them, and the
# tests then ran in one process.
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)  # nproc is GNU's; macOS has getconf
workers=${IOMT_TEST_WORKERS:-$(( cores < 2 ? 1 : 2 ))}
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
  # Each test process would start an OpenMP pool of one thread per core (scikit-learn's gradient boosting, BLAS):
  # two processes on two cores then ran four threads on them. The cores are shared out instead (unless set).
  per=1
  if [ "$workers" != auto ] && [ $((cores / workers)) -gt 1 ]; then per=$((cores / workers)); fi
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$per}
  # TensorFlow sizes its own two thread pools by the cores and ignores OMP_NUM_THREADS: its threads, spinning while
  # the other process held the core, made each network's training take 1.6 times as long (a real-sample cnn test run
  # twice at once: 88 s each with TensorFlow's defaults, 56 s with one thread in each pool).
  export TF_NUM_INTRAOP_THREADS=${TF_NUM_INTRAOP_THREADS:-$OMP_NUM_THREADS}
  export TF_NUM_INTEROP_THREADS=${TF_NUM_INTEROP_THREADS:-$OMP_NUM_THREADS}
  exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest "$@"
