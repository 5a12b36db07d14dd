#!/usr/bin/env bash
# Set everything up when absent (.venv, packages, demo data, demo models), then serve the dashboard
# on this machine only (http://127.0.0.1:8501). Extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python -m core setup-demo
echo "starting the dashboard: open http://127.0.0.1:${IOMT_PORT:-8501} in your browser (Ctrl+C to stop)"
exec .venv/bin/streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port "${IOMT_PORT:-8501}" "$@"
