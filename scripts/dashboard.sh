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
scripts/setup.sh
.venv/bin/python -m core setup-demo
if [ "$NETWORK" = "1" ]; then
    .venv/bin/python -m dashboard.accounts check || exit 2
    echo "starting the dashboard on the network ($ADDRESS, port ${IOMT_PORT:-8501}); users sign in (Ctrl+C to stop)"
else
    echo "starting the dashboard: open http://127.0.0.1:${IOMT_PORT:-8501} in your browser (Ctrl+C to stop)"
fi
exec .venv/bin/streamlit run dashboard/app.py --server.address "$ADDRESS" --server.port "${IOMT_PORT:-8501}" \
    "${EXTRA[@]}" "$@"
