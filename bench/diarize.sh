#!/usr/bin/env bash
# Diarization benchmark (issue 9, "Measure"): DER with a 250 ms collar,
# speaker-count accuracy, RTF and peak RSS of `iamd diarize`, each figure
# beside a baseline from the same run.
#
#  1. Conversations of 2, 3 and 4 speakers built from distinct espeak-ng voices
#     and sox pitch/tempo-shifted variants, turns of 1–20 s without overlap
#     (gaps 0.15–0.8 s), ~90 s each, PER conversations per count (seeds
#     1000*k + i: the same audio every run), each also with white noise at
#     15–20 dB SNR. Each is diarized with the count unknown and with the exact
#     count. Baseline: the same speech regions all given to one speaker.
#  2. (HOUR=1) one ~1-hour 4-speaker conversation: RTF, peak RSS (/usr/bin/time -v),
#     DER and count — against the 90 s runs' peak RSS as the baseline.
#
#   bench/diarize.sh [BUILD_DIR]   env: QUICK=1 (2 conversations per count instead
#                                  of 5), PER=N, HOUR=1 (also the 1-hour file),
#                                  ENERGY=1 (energy VAD instead of Silero),
#                                  KEEP=DIR (keep / reuse the audio there)
#
# Builds nothing. Needs espeak-ng, sox, node, /usr/bin/time; Silero VAD from
# IAM_MODELS_DIR (default models/, scripts/fetch-models) or the energy detector.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
QUICK=${QUICK:-0}
PER=${PER:-$([ "$QUICK" = 1 ] && echo 2 || echo 5)}
for c in espeak-ng sox node /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/install-deps)" >&2; exit 2; }
done
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }
[ -n "${IAM_MODELS_DIR:-}" ] || [ ! -d models ] || export IAM_MODELS_DIR=models

EXTRA=()
[ "${ENERGY:-0}" = 1 ] && EXTRA+=(--energy)
TMP=${KEEP:-$(mktemp -d)}
mkdir -p "$TMP"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
T0=$(date +%s)

echo "== 1. DER, speaker count, RTF ($PER conversations per count)"
echo "   node bench/diarize-bench.mjs --iamd $BUILD/iamd --per $PER ${EXTRA[*]}"
node bench/diarize-bench.mjs --iamd "$BUILD/iamd" --per "$PER" --keep "$TMP" "${EXTRA[@]}" 2> >(grep -v 'sox WARN' >&2)

if [ "${HOUR:-0}" = 1 ]; then
	echo
	echo "== 2. one ~1-hour conversation (4 speakers)"
	node bench/diarize-bench.mjs --gen-hour "$TMP/hour.wav" --seconds 3600 2> >(grep -v 'sox WARN' >&2)
	/usr/bin/time -v "$BUILD/iamd" diarize "$TMP/hour.wav" "${EXTRA[@]}" >"$TMP/hour.json" 2>"$TMP/hour.time"
	node -e '
		const fs = require("fs");
		const out = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(fs.readFileSync(process.argv[2], "utf8"))[1];
		import(process.cwd() + "/bench/diarize-bench.mjs").then(({ score }) => {
			const ref = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
			const s = score(ref, out.turns);
			console.log(`audio ${out.duration.toFixed(0)} s  diarize ${out.seconds.toFixed(1)} s  RTF ${(out.seconds / out.duration).toFixed(4)}  ` +
				`peak RSS ${(rss / 1024).toFixed(1)} MB  speakers ${out.speakers}/4  DER ${(100 * s.der).toFixed(1)}%  (VAD ${out.vad})`);
		});
	' "$TMP/hour.json" "$TMP/hour.time" "$TMP/hour.wav.ref.json"
	echo "   /usr/bin/time -v $BUILD/iamd diarize hour.wav   (hour.wav: node bench/diarize-bench.mjs --gen-hour hour.wav)"
fi
echo
echo "bench time: $(($(date +%s) - T0)) s"
