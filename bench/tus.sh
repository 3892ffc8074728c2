#!/usr/bin/env bash
# tus upload throughput against dd to the same disk: a SIZE_MB WAV file
# (random samples) written once with `dd bs=1M conv=fsync`, then uploaded
# to iamd (workers off, so only the upload is measured) with curl: one tus
# creation and PATCHes of PATCH_MB each (default: the whole file in one
# PATCH, as tus-js-client with chunkSize Infinity does). The PATCH time
# includes making the file the meeting's audio (probe, hash, move into the
# blob store). Prints both rates, the ratio and iamd's peak resident memory.
#
#   bench/tus.sh [BUILD_DIR]     env: SIZE_MB (1024), PATCH_MB (0 = one PATCH),
#                                     RUNS (3; the best of each is kept),
#                                     BENCH_DIR (a directory on the disk to measure)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-1024}
PATCH_MB=${PATCH_MB:-0}
RUNS=${RUNS:-3}
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }

TMP=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/iam-bench-tus.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# The file: a 44-byte WAV header (16 kHz mono 16-bit) and random samples.
FILE="$TMP/in.wav"
DATA=$((SIZE_MB * 1024 * 1024 - 44))
node -e '
const n = Number(process.argv[1]);
const h = Buffer.alloc(44);
h.write("RIFF", 0); h.writeUInt32LE(36 + n, 4); h.write("WAVE", 8);
h.write("fmt ", 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
h.writeUInt32LE(16000, 24); h.writeUInt32LE(32000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
h.write("data", 36); h.writeUInt32LE(n, 40);
process.stdout.write(h);' "$DATA" >"$FILE"
head -c "$DATA" /dev/urandom >>"$FILE"
SIZE=$(stat -c %s "$FILE")

now_ns() { date +%s%N; }
rate() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }'; }

best_dd=0
for _ in $(seq "$RUNS"); do
	sync
	t0=$(now_ns)
	dd if="$FILE" of="$TMP/dd.out" bs=1M conv=fsync status=none
	t1=$(now_ns)
	rm -f "$TMP/dd.out"
	r=$(rate "$SIZE" $((t1 - t0)))
	best_dd=$(awk -v a="$best_dd" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
done

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE="http://127.0.0.1:$PORT"
IAM_LISTEN=127.0.0.1:$PORT IAM_DATA_DIR="$TMP/data" IAM_LOG_LEVEL=warn IAM_WORKERS=0 \
	IAM_MAX_UPLOAD_MB=$((SIZE_MB + 1)) IAM_DISK_MIN_FREE_MB=64 "$BUILD/iamd" serve 2>"$TMP/iamd.log" &
PID=$!
until curl -sf "$BASE/readyz" >/dev/null; do
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/iamd.log"; exit 1; }
	sleep 0.05
done
TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
	-d '{"email":"bench-tus@example.com","password":"bench-password-1"}' |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || { echo "bench: could not register" >&2; exit 1; }
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")

patch() { # URL OFFSET LENGTH SRC -> prints the HTTP status
	curl -s -o /dev/null -w '%{http_code}' -X PATCH -T "$4" "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Tus-Resumable: 1.0.0' -H 'Content-Type: application/offset+octet-stream' \
		-H "Upload-Offset: $2" -H 'Expect:'
}

best_tus=0
for run in $(seq "$RUNS"); do
	loc=$(curl -sf -D - -o /dev/null -X POST "$BASE/api/v1/uploads" -H "Authorization: Bearer $TOKEN" \
		-H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $SIZE" \
		-H "Upload-Metadata: filename $(printf 'bench%d.wav' "$run" | base64)" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	[ -n "$loc" ] || { echo "bench: tus creation failed" >&2; exit 1; }
	step=$SIZE
	[ "$PATCH_MB" -gt 0 ] && step=$((PATCH_MB * 1024 * 1024))
	sync
	total=0
	off=0
	while [ "$off" -lt "$SIZE" ]; do
		len=$((SIZE - off < step ? SIZE - off : step))
		src=$FILE
		if [ "$len" -ne "$SIZE" ]; then
			# curl -T streams a whole file: cut the piece first (not timed).
			src="$TMP/piece"
			dd if="$FILE" of="$src" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none
		fi
		t0=$(now_ns)
		code=$(patch "$BASE$loc" "$off" "$len" "$src")
		t1=$(now_ns)
		total=$((total + t1 - t0))
		[ "$code" = 204 ] || { echo "bench: PATCH at $off answered $code" >&2; tail -5 "$TMP/iamd.log" >&2; exit 1; }
		off=$((off + len))
	done
	rm -f "$TMP/piece"
	r=$(rate "$SIZE" "$total")
	best_tus=$(awk -v a="$best_tus" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	# Free the disk for the next run: delete the meeting (and its audio).
	mid=$(curl -sf "$BASE/api/v1/meetings?limit=1" -H "Authorization: Bearer $TOKEN" |
		sed -n 's/^{"data":\[{"id":"\([^"]*\)".*/\1/p')
	[ -n "$mid" ] && curl -sf -o /dev/null -X DELETE "$BASE/api/v1/meetings/$mid" -H "Authorization: Bearer $TOKEN"
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")

patches=$([ "$PATCH_MB" -gt 0 ] && echo "$PATCH_MB MiB PATCHes" || echo "one PATCH")
echo "tus upload of $SIZE_MB MiB ($patches, curl, best of $RUNS) vs dd bs=1M conv=fsync, same disk ($(df -P "$TMP" | awk 'NR==2 {print $1}'))"
printf '%-34s %10s MiB/s\n' "dd conv=fsync" "$best_dd" "tus (creation + PATCH + attach)" "$best_tus"
printf '%-34s %10s\n' "ratio tus / dd" "$(awk -v a="$best_tus" -v b="$best_dd" 'BEGIN { printf "%.2fx", a / b }')"
printf '%-34s %10s MiB\n' "iamd resident memory, idle" "$((rss_idle / 1024))" "iamd peak resident memory" "$((hwm / 1024))"
