#!/usr/bin/env bash
# Insights benchmark (issue 13, "Measure"): how long the offline insights of
# a 1-hour transcript take (target < 10 s), and a small quality check on four
# scripted meetings whose action items, decisions and key sentences are known
# (precision / recall, key sentences in the summary against the "first
# sentences" baseline). Details in bench/insights-bench.mjs.
#
#   bench/insights.sh [BUILD_DIR]   env: RUNS=N (timing runs, default 3)
#
# Builds nothing. Needs node; the VADER lexicon from IAM_MODELS_DIR (default
# models/, scripts/fetch-models) for sentiment.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
command -v node >/dev/null || { echo "bench: node is missing" >&2; exit 2; }
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }
[ -n "${IAM_MODELS_DIR:-}" ] || [ ! -e models ] || export IAM_MODELS_DIR=models
[ -f "${IAM_MODELS_DIR:-models}/vader_lexicon.txt" ] ||
	echo "bench: no vader_lexicon.txt under ${IAM_MODELS_DIR:-models} (scripts/fetch-models): sentiment is left out" >&2
exec node bench/insights-bench.mjs "$BUILD" "${RUNS:-3}"
