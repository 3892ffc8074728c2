#!/usr/bin/env bash
# HTTP benchmark: wrk at 64 connections against GET /healthz (the ceiling
# of the HTTP layer) and GET /api/v1/users/me with a valid token (JWT check,
# session lookup and a user read on SQLite), in the same run so the two
# figures compare. Also: time from start to ready, idle RSS, RSS after load.
#
#   bench/http.sh [BUILD_DIR]      env: DURATION (s, default 10), CONNS (64)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/install-deps)" >&2; exit 2; }

TMP=$(mktemp -d)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE="http://127.0.0.1:$PORT"

t0=$(date +%s%N)
IAM_LISTEN=127.0.0.1:$PORT IAM_DATA_DIR="$TMP/data" IAM_LOG_LEVEL=warn "$BUILD/iamd" serve 2>"$TMP/iamd.log" &
PID=$!
until curl -sf "$BASE/readyz" >/dev/null; do
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/iamd.log"; exit 1; }
	sleep 0.005
done
t1=$(date +%s%N)
ready_ms=$(( (t1 - t0) / 1000000 ))
sleep 2
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")

TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
	-d '{"email":"bench@example.com","password":"bench-password-1"}' |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || { echo "bench: could not register" >&2; exit 1; }

run() { # NAME URL [HEADER]
	local out
	if [ $# -ge 3 ]; then
		out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "$3" "$2")
	else
		out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$2")
	fi
	local rps p50 p99 errs
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1=="50%" {print $2}')
	p99=$(echo "$out" | awk '$1=="99%" {print $2}')
	errs=$(echo "$out" | awk '/Non-2xx/ {print $4}')
	printf '%-22s %12s %10s %10s %8s\n' "$1" "$rps" "$p50" "$p99" "${errs:-0}"
	echo "$rps" >"$TMP/$1.rps"
}

echo "iamd $("$BUILD/iamd" version | cut -d' ' -f2), SQLite, $(nproc) cores, wrk -t2 -c$CONNS -d${DURATION}s"
printf '%-22s %12s %10s %10s %8s\n' endpoint req/s p50 p99 non-2xx
run healthz "$BASE/healthz"
run users_me "$BASE/api/v1/users/me" "Authorization: Bearer $TOKEN"
rss_load=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
awk -v a="$(cat "$TMP/users_me.rps")" -v b="$(cat "$TMP/healthz.rps")" \
	'BEGIN {printf "users/me vs healthz ceiling: %.0f%%\n", 100*a/b}'
echo "start to ready: ${ready_ms} ms (process start to first 200 from /readyz)"
echo "RSS of iamd serve idle: $((rss_idle / 1024)) MiB (${rss_idle} kB; includes the PocketSphinx model); after load: $((rss_load / 1024)) MiB"

# The API alone (iamd api: no workers, no speech model), as it runs when scaled out.
PORT2=$((PORT + 1))
IAM_LISTEN=127.0.0.1:$PORT2 IAM_DATA_DIR="$TMP/data" IAM_LOG_LEVEL=warn "$BUILD/iamd" api 2>>"$TMP/iamd.log" &
API_PID=$!
until curl -sf "http://127.0.0.1:$PORT2/readyz" >/dev/null; do
	kill -0 "$API_PID" 2>/dev/null || break
	sleep 0.005
done
sleep 1
rss_api=$(awk '/VmRSS/ {print $2}' "/proc/$API_PID/status" 2>/dev/null || echo 0)
kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
echo "RSS of iamd api idle: $((rss_api / 1024)) MiB (${rss_api} kB)"
