#!/usr/bin/env bash
# ASR benchmark: what a transcription costs and how good it is, each figure
# with a baseline measured in the same run.
#
#  1. Real-time factor (seconds of the transcribe step / seconds of audio) on
#     ~5 minutes of espeak-ng speech (mp3), for the sphinx engine and for the
#     openai engine pointed at a second iamd (openai client + wire + that
#     iamd's sphinx). Baseline: the sphinx engine in-process.
#  2. Word error rate of sphinx on the known text of (1), and on one short
#     sentence.
#  3. tus upload throughput of 1 GiB (tus-js-client, 64 MiB chunks) vs dd to
#     the same disk.
#  4. Peak RSS while transcribing a 1-hour file vs the idle RSS of the same
#     process and its peak on the 5-minute file.
#
#   bench/asr.sh [BUILD_DIR]   env: QUICK=1 (only 1 and 2), RSS_MINUTES (4: how
#                              long to sample the 1-hour job before deleting it;
#                              0 = to the end), KEEP=1 (keep the temp dir)
#
# Builds nothing. Needs espeak-ng, sox, ffmpeg/ffprobe, node (+ node_modules).
# The HTTP parts are in bench/asr-tool.mjs; every figure prints the command
# that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
QUICK=${QUICK:-0}
RSS_MINUTES=${RSS_MINUTES:-4}
TOOL="node bench/asr-tool.mjs"
VOICE=(-v en-us+edward -s 140) # the voice tests/api/audio.mjs uses (PocketSphinx hears it best)
for c in espeak-ng sox ffmpeg ffprobe node curl; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/install-deps)" >&2; exit 2; }
done
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }
[ -d node_modules/tus-js-client ] || { echo "bench: node_modules/tus-js-client is missing (npm ci)" >&2; exit 2; }

T_START=$(date +%s)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
		node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_iamd NAME [VAR=value ...]: a fresh iamd on a free port with its own
# data dir; sets PORT, PID, BASE.
start_iamd() {
	local name=$1
	shift
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	env IAM_LISTEN="127.0.0.1:$PORT" IAM_DATA_DIR="$TMP/$name" IAM_LOG_LEVEL=warn "$@" \
		"$BUILD/iamd" serve 2>"$TMP/$name.log" &
	PID=$!
	PIDS+=("$PID")
	until curl -sf "$BASE/readyz" >/dev/null; do
		kill -0 "$PID" 2>/dev/null || { echo "bench: iamd $name did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1; }
		sleep 0.02
	done
}

stop_iamd() { # PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# val FILE KEY: a value from the key=value output of asr-tool.mjs
val() { sed -n "s/^$2=//p" "$1" | head -n1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k/1024}'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {if (b+0 == 0) print "-"; else printf f, a/b}'; }
duration_of() { ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$1"; }
mp3() { ffmpeg -v error -nostdin -y -i "$1" -map_metadata -1 -c:a libmp3lame -b:a 64k "${@:3}" "$2"; }

echo "iamd $("$BUILD/iamd" version | cut -d' ' -f2), SQLite, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), temp dir $TMP"

# ------------------------------------------------------------ audio
# ~5 minutes: a known English text (16 sentences, 6 a paragraph, a different
# order each paragraph, ~870 words) spoken by espeak-ng, encoded as mp3.
$TOOL text "$TMP/reference.txt" 870 >"$TMP/text.out"
espeak-ng "${VOICE[@]}" -f "$TMP/reference.txt" -w "$TMP/speech.wav"
mp3 "$TMP/speech.wav" "$TMP/speech.mp3"
SHORT_TEXT="the quick brown fox jumps over the lazy dog"
echo "$SHORT_TEXT" >"$TMP/short.txt"
espeak-ng "${VOICE[@]}" -w "$TMP/short.wav" "$SHORT_TEXT"
mp3 "$TMP/short.wav" "$TMP/short.mp3"
SPEECH_S=$(duration_of "$TMP/speech.mp3")
echo "audio: $TMP/speech.mp3, $(printf '%.1f' "$SPEECH_S") s, $(stat -c %s "$TMP/speech.mp3") bytes, $(val "$TMP/text.out" words) words" \
	"(espeak-ng ${VOICE[*]} -f reference.txt | ffmpeg libmp3lame 64k)"

# ------------------------------------------------------------ 1. RTF
echo
echo "== 1. real-time factor, decode + recognition of $(printf '%.0f' "$SPEECH_S") s of speech (IAM_WORKERS=1) =="
# S: the sphinx server; it also serves steps 2 and 4 (same process for RSS).
start_iamd S IAM_ASR=sphinx IAM_WORKERS=1 IAM_MAX_UPLOAD_MB=2048
S_PID=$PID S_BASE=$BASE
sleep 2
RSS_IDLE=$(rss_kb "$S_PID") HWM_IDLE=$(hwm_kb "$S_PID")
$TOOL job "$S_BASE" "$TMP/speech.mp3" --pid "$S_PID" --transcript "$TMP/hyp-sphinx.txt" >"$TMP/job-sphinx.out"
[ "$(val "$TMP/job-sphinx.out" status)" = completed ] || { echo "bench: sphinx job did not complete:" >&2; cat "$TMP/job-sphinx.out" >&2; exit 1; }

# B: a sphinx iamd used as the speech server; A: an iamd with the openai engine pointed at B.
start_iamd B IAM_ASR=sphinx IAM_WORKERS=1
B_PID=$PID B_BASE=$BASE
$TOOL apikey "$B_BASE" >"$TMP/key.out"
start_iamd A IAM_ASR=openai IAM_WORKERS=1 IAM_OPENAI_BASE_URL="$B_BASE/v1" IAM_OPENAI_API_KEY="$(val "$TMP/key.out" key)" \
	IAM_OPENAI_MODEL=whisper-1 IAM_OPENAI_TIMEOUT_S=1800
A_PID=$PID A_BASE=$BASE
$TOOL job "$A_BASE" "$TMP/speech.mp3" --transcript "$TMP/hyp-openai.txt" >"$TMP/job-openai.out"
[ "$(val "$TMP/job-openai.out" status)" = completed ] || { echo "bench: openai job did not complete:" >&2; cat "$TMP/job-openai.out" >&2; exit 1; }
stop_iamd "$A_PID"
stop_iamd "$B_PID"

printf '%-22s %9s %12s %10s %12s %10s\n' engine "audio s" "transcribe s" RTF "start-done s" RTF
for e in sphinx openai; do
	f=$TMP/job-$e.out
	d=$(val "$f" duration_s) ts=$(val "$f" transcribe_s) w=$(val "$f" wall_s)
	label=$e
	[ "$e" = openai ] && label="openai -> iamd sphinx"
	printf '%-22s %9.1f %12.1f %10s %12.1f %10s\n' "$label" "$d" "$ts" "$(div "$ts" "$d")" "$w" "$(div "$w" "$d")"
done
echo "  transcribe s: processing_steps[step=transcribe].seconds; start-done s: processing_completed_at - processing_started_at;"
echo "  both / duration_seconds. Baseline: the sphinx row (the openai row adds the openai client, the wire and B's own"
echo "  decode to sphinx). Client's view (upload start to completed seen): sphinx $(val "$TMP/job-sphinx.out" client_s) s," \
	"openai $(val "$TMP/job-openai.out" client_s) s; steps sphinx [$(val "$TMP/job-sphinx.out" steps)]," \
	"openai [$(val "$TMP/job-openai.out" steps)]; provider/model $(val "$TMP/job-openai.out" provider)/$(val "$TMP/job-openai.out" model)"
echo "  method: start iamd (IAM_ASR=sphinx IAM_WORKERS=1), then: $TOOL job \$BASE speech.mp3  (register, POST meeting,"
echo "  POST /meetings/{id}/upload?filename=speech.mp3 raw body, poll GET /meetings/{id} every 0.25 s)"

# ------------------------------------------------------------ 2. WER
echo
echo "== 2. word error rate of sphinx (lower-cased words, punctuation removed, Levenshtein) =="
$TOOL job "$S_BASE" "$TMP/short.mp3" --transcript "$TMP/hyp-short.txt" >"$TMP/job-short.out"
[ "$(val "$TMP/job-short.out" status)" = completed ] || { echo "bench: short job did not complete:" >&2; cat "$TMP/job-short.out" >&2; exit 1; }
printf '%-30s %7s %9s %9s %6s %6s %6s\n' text WER "ref wds" "hyp wds" sub del ins
wer_row() { # LABEL REF HYP
	$TOOL wer "$2" "$3" >"$TMP/wer.out"
	printf '%-30s %6.1f%% %9s %9s %6s %6s %6s\n' "$1" "$(awk -v w="$(val "$TMP/wer.out" wer)" 'BEGIN {print 100*w}')" \
		"$(val "$TMP/wer.out" ref)" "$(val "$TMP/wer.out" hyp)" "$(val "$TMP/wer.out" sub)" "$(val "$TMP/wer.out" del)" "$(val "$TMP/wer.out" ins)"
}
wer_row "5-min text, sphinx" "$TMP/reference.txt" "$TMP/hyp-sphinx.txt"
wer_row "5-min text, openai->sphinx" "$TMP/reference.txt" "$TMP/hyp-openai.txt"
wer_row "one sentence, sphinx" "$TMP/short.txt" "$TMP/hyp-short.txt"
echo "  short: \"$SHORT_TEXT\" → \"$(tr -d '\n' <"$TMP/hyp-short.txt")\""
echo "  method: $TOOL wer reference.txt hypothesis.txt (hypothesis = GET /meetings/{id}/transcript .text);"
echo "  baseline: the same engine on a single sentence (no time to adapt), and the openai route (same engine, its own run)"

if [ "$QUICK" = 1 ]; then
	echo
	echo "QUICK=1: steps 3 (tus vs dd) and 4 (peak RSS on 1 hour) skipped"
	echo "RSS of the sphinx iamd: idle $(mib "$RSS_IDLE") MiB, peak on the 5-min file $(mib "$(val "$TMP/job-sphinx.out" rss_peak_kb)") MiB" \
		"(VmHWM: $(mib "$HWM_IDLE") MiB when idle, $(mib "$(val "$TMP/job-sphinx.out" hwm_kb)") MiB after the 5-min file)"
	echo "took $(($(date +%s) - T_START)) s"
	exit 0
fi

# ------------------------------------------------------------ 3. tus vs dd
echo
echo "== 3. upload throughput, 1 GiB: tus-js-client (64 MiB chunks) vs dd to the same disk ($(df --output=source "$TMP" | tail -1)) =="
dd if=/dev/zero of="$TMP/dd.bin" bs=1M count=1024 conv=fsync 2>"$TMP/dd.err"
# "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.23 s, 873 MB/s": bytes and seconds, our own MB/s
DD_MBS=$(awk '/copied/ {for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i-1); gsub(",", ".", s); printf "%.1f", $1/1e6/s}' "$TMP/dd.err")
rm -f "$TMP/dd.bin"
# A WAV of exactly 1 GiB (16 kHz mono s16, silence): 44-byte header + 2^30 - 44 bytes of zeros, as a
# sparse file so reading it costs no disk (sox -n ... trim 0 536870890s would do, but sox 14.4 stops at
# 357913970 bytes).
$TOOL wav "$TMP/big.wav" 1073741824 >"$TMP/wav.out"
start_iamd U IAM_ASR=sphinx IAM_WORKERS=1 IAM_MAX_UPLOAD_MB=2048
U_PID=$PID U_BASE=$BASE
$TOOL tus "$U_BASE" "$TMP/big.wav" 64 >"$TMP/tus.out"
stop_iamd "$U_PID"
rm -rf "$TMP/big.wav" "$TMP/U"
TUS_MBS=$(val "$TMP/tus.out" mb_s)
printf '%-34s %10s %10s\n' method MB/s "vs dd"
printf '%-34s %10s %10s\n' "dd bs=1M count=1024 conv=fsync" "$DD_MBS" "1.00"
printf '%-34s %10s %10s\n' "tus 1 GiB WAV, 64 MiB PATCHes" "$TUS_MBS" "$(div "$TUS_MBS" "$DD_MBS" %.2f)"
echo "  tus: $(val "$TMP/tus.out" bytes) bytes in $(val "$TMP/tus.out" seconds) s from start to onSuccess (creation, 16 PATCHes, completion"
echo "  into a meeting: status $(val "$TMP/tus.out" meeting_status), file_size $(val "$TMP/tus.out" meeting_file_size)); the meeting was DELETEd"
echo "  right after (HTTP $(val "$TMP/tus.out" delete_status)). MB = 10^6 bytes; client and server share the 2 cores."
echo "  method: dd if=/dev/zero of=\$TMP/dd.bin bs=1M count=1024 conv=fsync; $TOOL wav big.wav 1073741824;"
echo "  $TOOL tus \$BASE big.wav 64   (iamd IAM_MAX_UPLOAD_MB=2048)"

# ------------------------------------------------------------ 4. peak RSS on 1 hour
echo
echo "== 4. peak RSS of the sphinx iamd (IAM_WORKERS=1) on a 1-hour file =="
# 1 hour cheaply: the first two paragraphs (~30 s) spoken once, as mp3, concatenated (stream copy).
head -n2 "$TMP/reference.txt" >"$TMP/clip.txt"
espeak-ng "${VOICE[@]}" -f "$TMP/clip.txt" -w "$TMP/clip.wav"
mp3 "$TMP/clip.wav" "$TMP/clip.mp3" -write_xing 0
CLIP_S=$(duration_of "$TMP/clip.mp3")
N=$(awk -v d="$CLIP_S" 'BEGIN {n = int(3600/d); if (n*d < 3600) n++; print n}')
for _ in $(seq "$N"); do echo "file '$TMP/clip.mp3'"; done >"$TMP/concat.txt"
ffmpeg -v error -nostdin -y -f concat -safe 0 -i "$TMP/concat.txt" -c copy "$TMP/hour.mp3"
HOUR_S=$(duration_of "$TMP/hour.mp3")
echo "audio: $N × $(printf '%.1f' "$CLIP_S") s clip = $(printf '%.0f' "$HOUR_S") s, $(stat -c %s "$TMP/hour.mp3") bytes (ffmpeg -f concat -c copy)"
RSS_BEFORE=$(rss_kb "$S_PID") HWM_BEFORE=$(hwm_kb "$S_PID")
MAX_ARGS=()
[ "$RSS_MINUTES" != 0 ] && MAX_ARGS=(--max-s $((RSS_MINUTES * 60)))
$TOOL job "$S_BASE" "$TMP/hour.mp3" --pid "$S_PID" "${MAX_ARGS[@]}" --timeout 7200 --samples "$TMP/rss-hour.txt" >"$TMP/job-hour.out"
H=$TMP/job-hour.out
row() { printf '%-44s %8s %10s %10s\n' "$1" "$(mib "$2")" "$2" "$(mib "$3")"; }
printf '%-44s %8s %10s %10s\n' "sphinx iamd (one process)" "RSS MiB" "RSS kB" "VmHWM MiB"
row "idle (2 s after ready, before any upload)" "$RSS_IDLE" "$HWM_IDLE"
row "peak, 5-min file (step 1)" "$(val "$TMP/job-sphinx.out" rss_peak_kb)" "$(val "$TMP/job-sphinx.out" hwm_kb)"
row "before the 1-hour upload (after step 2)" "$RSS_BEFORE" "$HWM_BEFORE"
row "peak, 1-hour file" "$(val "$H" rss_peak_kb)" "$(val "$H" hwm_kb)"
echo "  RSS = max of the 0.5 s samples; VmHWM = the kernel's high-water mark of the process so far, read at the end of"
echo "  each phase (it also catches spikes shorter than 0.5 s, e.g. at start-up, upload or job start)."
echo "  1-hour trend (peak in each quarter of the sampled time, MiB): $(val "$H" rss_trend_mib)"
if [ "$(val "$H" status)" = stopped ]; then
	PROG=$(val "$H" progress)
	echo "  NOTE: sampled over the first $RSS_MINUTES min of processing only ($(val "$H" rss_samples) samples), then the meeting"
	echo "  was DELETEd; the job had reached progress ${PROG}% of $(printf '%.0f' "$(val "$H" duration_s)") s of audio. RSS_MINUTES=0 runs it to the end."
else
	d=$(val "$H" duration_s) ts=$(val "$H" transcribe_s)
	echo "  completed: $(val "$H" rss_samples) samples; transcribe $ts s for $(printf '%.0f' "$d") s, RTF $(div "$ts" "$d")"
fi
echo "  method: VmRSS from /proc/<pid>/status every 0.5 s from upload start to completed (or stop):"
echo "  $TOOL job \$BASE hour.mp3 --pid <pid> --max-s $((RSS_MINUTES * 60))"
stop_iamd "$S_PID"

echo
echo "took $(($(date +%s) - T_START)) s"
