#!/usr/bin/env bash
# Set up (first run only) and serve the app on http://127.0.0.1:8501. Extra arguments go to
# `streamlit run`, e.g. `bash scripts/app.sh --server.port 8600`.
. "$(dirname "$0")/venv.sh"
exec streamlit run streamlit_app.py "$@"
