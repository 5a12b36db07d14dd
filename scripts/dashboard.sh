#!/usr/bin/env bash
# Set everything up when absent (.venv, packages, demo data, demo models), then serve the dashboard
# on this machine only (http://127.0.0.1:8501). Extra arguments go to `streamlit run`.
#
#   scripts/dashboard.sh --network   (or IOMT_NETWORK=1) serves on every interface (IOMT_ADDRESS to choose
#   one) and then requires sign-in: it refuses to start without an accounts file, made with
#   .venv/bin/python -m dashboard.accounts add USER
set -euo pipefail
cd "$(dirname "$0")/.."
NETWORK="${IOMT_NETWORK:-0}"
if [ "${1:-}" = "--network" ]; then
    NETWORK=1
    shift
fi
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
scripts/setup.sh
.venv/bin/python -m core setup-demo
if [ "$NETWORK" = "1" ]; then
    .venv/bin/python -m dashboard.accounts check || exit 2
    echo "starting the dashboard on the network ($ADDRESS, port $PORT); users sign in (Ctrl+C to stop)"
else
    echo "starting the dashboard: open http://127.0.0.1:$PORT in your browser (Ctrl+C to stop)"
fi
# python -m streamlit, not .venv/bin/streamlit: that script names the Python of the folder .venv was made in, and
# failed ("cannot execute: required file not found") once the project folder was moved or renamed.
exec .venv/bin/python -m streamlit run dashboard/app.py --server.address "$ADDRESS" --server.port "$PORT" \
    "${EXTRA[@]}" "$@"
