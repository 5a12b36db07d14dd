#!/usr/bin/env bash
# Set everything up when absent (.venv, packages, demo data, demo models), then serve the dashboard
# on this machine only (http://127.0.0.1:8501). Extra arguments go to `streamlit run`.
#
#   scripts/dashboard.sh --network   (or IOMT_NETWORK=1) serves on every interface (IOMT_ADDRESS to choose
#   one) and then requires sign-in: it refuses to start without an accounts file, made with
#   .venv/bin/python -m dashboard.accounts add USER
# Its own real path (through a symbolic link too), then the start every script shares (scripts/start.sh): bash,
# strict mode, the project folder as the current folder.
self=$(readlink -f -- "$0" 2>/dev/null || realpath -- "$0" 2>/dev/null || printf '%s\n' "$0")
. "$(dirname -- "$self")/start.sh"
case "${IOMT_NETWORK:-0}" in
    1 | [Tt]rue | [Yy]es | [Oo]n) NETWORK=1 ;;
    0 | [Ff]alse | [Nn]o | [Oo]ff | "") NETWORK=0 ;;
    *)  # 'yes' served on this machine only, without a word
        echo "error: IOMT_NETWORK='$IOMT_NETWORK' is neither 1 (serve on the network) nor 0 (this machine only)" >&2
        exit 2
        ;;
esac
# --network anywhere among the arguments: after another one (--server.port 8600 --network) it went to streamlit,
# which passed it on to the app unread and served on this machine only.
ARGS=()
for arg in "$@"; do
    if [ "$arg" = "--network" ]; then NETWORK=1; else ARGS+=("$arg"); fi
done
set -- ${ARGS[@]+"${ARGS[@]}"}
ADDRESS=127.0.0.1
EXTRA=()
if [ "$NETWORK" = "1" ]; then
    ACCOUNTS="${IOMT_ACCOUNTS_FILE:-$HOME/.config/iomt/accounts.yaml}"
    if [ ! -f "$ACCOUNTS" ]; then
        echo "error: network mode needs sign-in, but there is no accounts file at $ACCOUNTS" >&2
        echo "create the first account with:  .venv/bin/python -m dashboard.accounts add USER" >&2
        echo "(after scripts/setup.sh has made .venv; set IOMT_ACCOUNTS_FILE to keep the file elsewhere)" >&2
        exit 2
    fi
    ADDRESS="${IOMT_ADDRESS:-0.0.0.0}"
    EXTRA=(--client.toolbarMode viewer)  # no developer menu (e.g. "Clear cache") for signed-in users
fi
# The port streamlit will serve on (IOMT_PORT, or --server.port among the extra arguments), checked before the
# set-up's minutes: taken (the dashboard already running, or another program), streamlit only said "Port 8501 is not
# available" after them, below a line telling to open that address.
PORT="${IOMT_PORT:-8501}"
prev=""
for arg in "$@"; do
    case "$arg" in --server.port=*) PORT="${arg#*=}" ;; esac
    if [ "$prev" = "--server.port" ]; then PORT="$arg"; fi
    prev="$arg"
done
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    echo "error: port '$PORT' is not a port number (1 to 65535); set IOMT_PORT to one, e.g. IOMT_PORT=8502" >&2
    exit 2
fi
PORT=$((10#$PORT))  # 08501 is 8501
HOST="$ADDRESS"
if [ "$HOST" = "0.0.0.0" ]; then HOST=127.0.0.1; fi
if timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$PORT" 2>/dev/null; then
    echo "error: port $PORT is already in use on $HOST: is the dashboard already running? Then open" \
        "http://$HOST:$PORT (or stop it with Ctrl+C where it runs)." >&2
    echo "Else serve on another port:  IOMT_PORT=$((PORT == 65535 ? 8502 : PORT + 1)) $0" >&2
    exit 1
fi
# One first start at a time: two at once (two terminals, a double-click) both generated the demo data and trained the
# same demo models into the same folders. A second start waits for the first one's set-up (a lock on this script's
# file, none where flock is missing), then finds it done; the lock is let go before the dashboard starts.
exec 9<scripts/dashboard.sh
locked=0
if command -v flock >/dev/null 2>&1; then flock -n -E 75 9 || locked=$?; fi
if [ "$locked" = 75 ]; then  # held by another start (any other failure, a disk without locks say: go on unlocked)
    echo "waiting for the set-up of another scripts/dashboard.sh in this folder to finish (a first start takes minutes)"
    flock 9 || true
fi
scripts/setup.sh
.venv/bin/python -m core setup-demo
exec 9<&-
if [ "$NETWORK" = "1" ]; then
    .venv/bin/python -m dashboard.accounts check || exit 2
    echo "starting the dashboard on the network ($ADDRESS, port $PORT); users sign in (Ctrl+C to stop)"
else
    echo "starting the dashboard: open http://127.0.0.1:$PORT in your browser (Ctrl+C to stop)"
fi
# python -m streamlit, not .venv/bin/streamlit: that script names the Python of the folder .venv was made in, and
# failed ("cannot execute: required file not found") once the project folder was moved or renamed.
exec .venv/bin/python -m streamlit run dashboard/app.py --server.address "$ADDRESS" --server.port "$PORT" \
    ${EXTRA[@]+"${EXTRA[@]}"} "$@"  # an empty array is "unbound" under set -u in bash before 4.4 (macOS's 3.2)
