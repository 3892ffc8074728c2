#!/usr/bin/env bash
# Offline speech engines side by side, each figure against its baseline in
# the same run:
#
#  1. WER per engine (moonshine vs sphinx) on a set built here with known
#     text: 3 espeak-ng voices, each clean and with reverberation plus noise
#     (sox, ~15 dB SNR). Target: moonshine <= 1/3 of sphinx.
#  2. Real-time factor per job on one worker (transcribe step / audio
#     seconds), both engines, on ~5 minutes of speech.
#  3. A 1-hour file with the default workers: wall time (target <= 5 min),
#     and peak RSS of `iamd serve` while two workers transcribe at once
#     (target <= 400 MB), against its idle RSS.
#  4. Word timing: phrases placed at known offsets (words spoken one by one,
#     so each word's true start is known): median and 95th percentile of
#     the error of word starts (targets 150 / 400 ms).
#
#   bench/engines.sh [BUILD_DIR]     env: QUICK=1 (1, 2 and 4 only), KEEP=1
#
# Needs espeak-ng, sox, ffmpeg, node (+ node_modules) and the models
# (scripts/fetch-models). Talks to iamd over HTTP only, as a client would.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
QUICK=${QUICK:-0}
TOOL="node bench/asr-tool.mjs"
for c in espeak-ng sox ffmpeg ffprobe node curl; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/install-deps)" >&2; exit 2; }
done
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
start_iamd() { # NAME VAR=value...: sets PORT PID BASE
	local name=$1
	shift
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	env IAM_LISTEN="127.0.0.1:$PORT" IAM_DATA_DIR="$TMP/$name" IAM_LOG_LEVEL=warn IAM_MAX_UPLOAD_MB=2048 "$@" \
		"$BUILD/iamd" serve 2>"$TMP/$name.log" &
	PID=$!
	PIDS+=("$PID")
	until curl -sf "$BASE/readyz" >/dev/null; do
		kill -0 "$PID" 2>/dev/null || { echo "bench: iamd $name did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1; }
		sleep 0.05
	done
}
stop_iamd() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
val() { sed -n "s/^$2=//p" "$1" | head -n1; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {if (b+0 == 0) print "-"; else printf f, a/b}'; }
duration_of() { ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$1"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "iamd $("$BUILD/iamd" version | cut -d' ' -f2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------ 1. WER
$TOOL text "$TMP/ref.txt" 160 >/dev/null
VOICES=("en-us+edward -s 140" "en-gb -s 160" "en-us+f3 -s 170")
n=0
for v in "${VOICES[@]}"; do
	# shellcheck disable=SC2086
	espeak-ng -v $v -f "$TMP/ref.txt" -w "$TMP/v$n.raw.wav"
	sox "$TMP/v$n.raw.wav" -r 16000 -c 1 "$TMP/v$n-clean.wav"
	d=$(soxi -D "$TMP/v$n-clean.wav")
	# Room reverberation, then white noise ~15 dB below the speech.
	sox "$TMP/v$n-clean.wav" "$TMP/v$n-rev.wav" reverb 50 50 70
	sox -n -r 16000 -c 1 "$TMP/noise$n.wav" synth "$d" whitenoise vol 0.04
	sox -m "$TMP/v$n-rev.wav" "$TMP/noise$n.wav" "$TMP/v$n-noisy.wav" norm -1
	n=$((n + 1))
done
start_iamd W IAM_WORKERS=1 IAM_ASR=moonshine,sphinx
W_PID=$PID
W_BASE=$BASE
echo
echo "== 1. WER per engine: $(wc -w <"$TMP/ref.txt") known words x ${#VOICES[@]} voices x (clean, reverb + noise) =="
printf '%-34s %10s %10s\n' "set" "moonshine" "sphinx"
declare -A SUM=([moonshine]=0 [sphinx]=0)
for ((i = 0; i < n; i++)); do
	for kind in clean noisy; do
		row=""
		for eng in moonshine sphinx; do
			$TOOL job "$W_BASE" "$TMP/v$i-$kind.wav" --provider $eng --transcript "$TMP/h-$i-$kind-$eng.txt" >"$TMP/j.out"
			$TOOL wer "$TMP/ref.txt" "$TMP/h-$i-$kind-$eng.txt" >"$TMP/w.out"
			w=$(val "$TMP/w.out" wer)
			SUM[$eng]=$(awk -v a="${SUM[$eng]}" -v b="$w" 'BEGIN {print a + b}')
			row+=$(printf ' %9.1f%%' "$(awk -v w="$w" 'BEGIN {print 100 * w}')")
		done
		printf '%-34s%s\n' "${VOICES[$i]} $kind" "$row"
	done
done
M=$(awk -v s="${SUM[moonshine]}" -v k=$((n * 2)) 'BEGIN {printf "%.1f", 100 * s / k}')
S=$(awk -v s="${SUM[sphinx]}" -v k=$((n * 2)) 'BEGIN {printf "%.1f", 100 * s / k}')
echo "mean WER: moonshine $M%, sphinx $S% (ratio $(div "$M" "$S" %.2f); target <= 0.33)"
echo "  method: iamd IAM_ASR=moonshine,sphinx; per file and engine: $TOOL job BASE FILE --provider ENGINE --transcript OUT; $TOOL wer ref.txt OUT"

# ------------------------------------------------------------ 2. RTF
$TOOL text "$TMP/long.txt" 870 >/dev/null
espeak-ng -v en-us+edward -s 140 -f "$TMP/long.txt" -w "$TMP/long.wav"
ffmpeg -v error -nostdin -y -i "$TMP/long.wav" -c:a libmp3lame -b:a 64k "$TMP/long.mp3"
LONG_S=$(duration_of "$TMP/long.mp3")
echo
echo "== 2. real-time factor per job, one worker, $(printf '%.0f' "$LONG_S") s of mp3 speech =="
for eng in moonshine sphinx; do
	$TOOL job "$W_BASE" "$TMP/long.mp3" --provider $eng --transcript "$TMP/long-$eng.txt" >"$TMP/r.out"
	t=$(val "$TMP/r.out" transcribe_s)
	$TOOL wer "$TMP/long.txt" "$TMP/long-$eng.txt" >"$TMP/w.out"
	printf '%-10s transcribe %6.1f s  RTF %.3f  WER %.1f%%\n' "$eng" "$t" "$(div "$t" "$LONG_S")" \
		"$(awk -v w="$(val "$TMP/w.out" wer)" 'BEGIN {print 100 * w}')"
done
echo "  target: moonshine RTF <= 0.1 (one job per core, one ONNX Runtime thread per job)"

# ------------------------------------------------------------ 4. word timing
echo
echo "== 4. word timing: words at known offsets =="
node bench/timing-set.mjs "$TMP/timing" >"$TMP/timing.out"
$TOOL job "$W_BASE" "$TMP/timing/timing.wav" --provider moonshine --transcript "$TMP/t.txt" --json "$TMP/t.json" >/dev/null
node bench/timing-set.mjs score "$TMP/timing/truth.json" "$TMP/t.json"
stop_iamd "$W_PID"

[ "$QUICK" = 1 ] && exit 0

# ------------------------------------------------------------ 3. one hour, two workers
HOUR="$TMP/hour.mp3"
reps=$(awk -v d="$LONG_S" 'BEGIN {printf "%d", 3600 / d + 1}')
for ((i = 0; i < reps; i++)); do echo "file '$TMP/long.wav'"; done >"$TMP/list.txt"
ffmpeg -v error -nostdin -y -f concat -safe 0 -i "$TMP/list.txt" -t 3600 -c:a libmp3lame -b:a 32k "$HOUR"
start_iamd H IAM_ASR=moonshine,sphinx
IDLE=$(rss_kb "$PID")
echo
echo "== 3. a 1-hour file with the default workers ($(nproc)); RSS of iamd serve =="
$TOOL job "$BASE" "$HOUR" --pid "$PID" --timeout 3600 >"$TMP/h1.out" &
J1=$!
sleep 5
$TOOL job "$BASE" "$HOUR" --pid "$PID" --timeout 3600 >"$TMP/h2.out" &
J2=$!
wait "$J1" "$J2"
for f in h1 h2; do
	echo "job $f: status $(val "$TMP/$f.out" status), wall $(val "$TMP/$f.out" wall_s) s (target <= 300), transcribe $(val "$TMP/$f.out" transcribe_s) s, steps $(val "$TMP/$f.out" steps)"
done
PEAK=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
echo "RSS: idle $((IDLE / 1024)) MiB, peak while two workers transcribe $((PEAK / 1024)) MiB (VmHWM; target <= 400), sampled peaks $(val "$TMP/h1.out" rss_peak_kb) / $(val "$TMP/h2.out" rss_peak_kb) kB"
stop_iamd "$PID"
