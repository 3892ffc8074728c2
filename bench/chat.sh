#!/usr/bin/env bash
# Chat benchmark (issue 13, "Measure"): time to the first streamed chat
# token offline (target < 300 ms) and through a local OpenAI-compatible
# stand-in, p50/p95 over RUNS questions. Details in bench/chat-bench.mjs.
#
#   bench/chat.sh [BUILD_DIR]   env: RUNS=N (default 20), CORPUS=N meetings
#                               of CORPUS_WORDS=N words added for a chat over
#                               all meetings (default 2000 x 500; 0 = none)
#
# Builds nothing. Needs node, espeak-ng and sox (the speech of the meeting),
# sqlite3 (loading the corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
command -v node >/dev/null || { echo "bench: node is missing" >&2; exit 2; }
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }
IAM_BIN="$BUILD/iamd" exec node bench/chat-bench.mjs "${RUNS:-20}" "${CORPUS:-2000}" "${CORPUS_WORDS:-500}"
