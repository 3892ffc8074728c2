#!/usr/bin/env bash
# WebSocket benchmark, side by side with a small Node `ws` server doing the
# same work (bench/ws-anchor.mjs) as the anchor, in one run:
#
#  1. 10,000 idle authenticated sockets on one process: its RSS before and
#     after (target for iamd: < 100 MB for the sockets).
#  2. One organization-wide event fanned out to the 1,000 sockets of that
#     organization, 20 times: p50/p99 delay from publish to receipt (target
#     p99 < 50 ms).
#  3. Messages per second across two processes through Redis: events
#     published into the bus channel, all delivered to one socket held by the
#     second process (iamd: `iamd api` B; anchor: a second Node process).
#  4. Messages per second from POST /api/v2/messages on A to new_message on a
#     socket held by B, and the POST-to-delivery delay (the anchor publishes
#     without storing anything: iamd also writes the message and a
#     notification to its database).
#
#   bench/ws.sh [BUILD_DIR]    env: SOCKETS FANOUT ROUNDS MESSAGES (see
#                              bench/ws-bench.mjs), KEEP=1 (keep the temp dir),
#                              ONLY=idle (parts 1 and 2 only: memory and fan-out)
#
# Everything runs on 127.0.0.1: a private redis-server (scripts/redis-test-server),
# iamd serve (A) and iamd api (B) on one SQLite file, the anchors. The open-file
# limit is raised for the 10,000 sockets (and their client ends).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ -x "$BUILD/iamd" ] || { echo "bench: $BUILD/iamd is missing (make)" >&2; exit 2; }
for c in node redis-server curl; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/install-deps)" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open-file limit: $(ulimit -n)"

TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	scripts/redis-test-server stop "$TMP/redis" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_ready() {
	for _ in $(seq 200); do
		curl -fs "$1/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: $1 not ready" >&2
	exit 1
}

REDIS_URL=$(scripts/redis-test-server start "$TMP/redis")
REDIS_PORT=${REDIS_URL##*:}
SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n' | tr '+/' '-_')
PA=$(free_port)
PB=$(free_port)
mkdir -p "$TMP/data"
COMMON=(IAM_DATA_DIR="$TMP/data" IAM_JWT_SECRET="$SECRET" IAM_REDIS_URL="$REDIS_URL"
	IAM_LOG_LEVEL=warn IAM_REGISTER_PER_HOUR=0 IAM_MAX_CONNECTIONS=20000 IAM_MAX_CONN_PER_IP=0
	IAM_WS_MAX=20000 IAM_WS_PER_USER=2000 IAM_HTTP_THREADS=2 IAM_HEADER_TIMEOUT_S=120)
env "${COMMON[@]}" IAM_LISTEN="127.0.0.1:$PA" IAM_WORKERS=0 "$BUILD/iamd" serve 2>"$TMP/a.log" &
PIDS+=($!)
PID_A=$!
wait_ready "http://127.0.0.1:$PA"
env "${COMMON[@]}" IAM_LISTEN="127.0.0.1:$PB" "$BUILD/iamd" api 2>"$TMP/b.log" &
PIDS+=($!)
wait_ready "http://127.0.0.1:$PB"

# Users (registered through the API): 10 holding the sockets, one sink.
node -e '
const base = process.argv[1];
(async () => {
	const out = [];
	for (let i = 0; i < 12; i++) {
		const r = await fetch(base + "/api/v1/auth/register", { method: "POST", headers: { "content-type": "application/json" },
			body: JSON.stringify({ email: `bench${i}-${Date.now()}@example.com`, password: "Correct-horse-battery-9" }) });
		const b = await r.json();
		if (r.status !== 201) { console.error(JSON.stringify(b)); process.exit(1); }
		out.push({ token: b.access_token, user: b.user.id, org: b.organization.id });
	}
	console.log(JSON.stringify(out));
})();
' "http://127.0.0.1:$PA" >"$TMP/users.json"
node -e '
const u = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const m = {}; for (const x of u) m[x.token] = { user: x.user, orgs: [x.org] };
require("fs").writeFileSync(process.argv[2], JSON.stringify(m));
' "$TMP/users.json" "$TMP/anchor-users.json"

# The sender (first user) and the recipient (last) share an organization, as
# the inbox requires (no API to join one yet: the membership row).
node -e '
const u = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (\x27${u[0].org}\x27, \x27${u[u.length - 1].user}\x27, \x27member\x27, 0);`);
' "$TMP/users.json" | sqlite3 -cmd '.timeout 10000' "$TMP/data/iam.db"

echo "== iamd (A: serve, B: api, Redis between) =="
node bench/ws-bench.mjs iamd "ws://127.0.0.1:$PA/api/v2/messages/ws" "ws://127.0.0.1:$PB/api/v2/messages/ws" \
	"$PID_A" "$REDIS_PORT" "$TMP/users.json" "http://127.0.0.1:$PA/api/v2/messages" | tee "$TMP/iamd.json"

QA=$(free_port)
QB=$(free_port)
node bench/ws-anchor.mjs "$QA" "$REDIS_PORT" "$TMP/anchor-users.json" >/dev/null &
PIDS+=($!)
PID_QA=$!
node bench/ws-anchor.mjs "$QB" "$REDIS_PORT" "$TMP/anchor-users.json" >/dev/null &
PIDS+=($!)
sleep 1
echo "== Node ws anchor (two processes, Redis between) =="
node bench/ws-bench.mjs node-ws "ws://127.0.0.1:$QA/ws" "ws://127.0.0.1:$QB/ws" \
	"$PID_QA" "$REDIS_PORT" "$TMP/users.json" "http://127.0.0.1:$QA/messages" | tee "$TMP/anchor.json"

node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync(process.argv[1])), b = JSON.parse(fs.readFileSync(process.argv[2]));
const rows = [
	["idle sockets held", a.sockets, b.sockets],
	["RSS before (MB)", a.rss_before_mb, b.rss_before_mb],
	["RSS with the sockets (MB)", a.rss_with_sockets_mb, b.rss_with_sockets_mb],
	["RSS for the sockets (MB)", +(a.rss_with_sockets_mb - a.rss_before_mb).toFixed(1), +(b.rss_with_sockets_mb - b.rss_before_mb).toFixed(1)],
	["RSS per socket (kB)", a.rss_per_socket_kb, b.rss_per_socket_kb],
	["fan-out deliveries / expected", `${a.fanout_deliveries}/${a.fanout_expected}`, `${b.fanout_deliveries}/${b.fanout_expected}`],
	["fan-out p50 (ms)", a.fanout_p50_ms, b.fanout_p50_ms],
	["fan-out p99 (ms)", a.fanout_p99_ms, b.fanout_p99_ms],
	["messages/s across processes", a.messages_per_s, b.messages_per_s],
	["messages delivered / sent", `${a.messages_delivered}/${a.messages}`, `${b.messages_delivered}/${b.messages}`],
	["receiving socket closed (1013: it could not keep up)", a.messages && (a.sink_close_code ?? "no"), b.messages && (b.sink_close_code ?? "no")],
	["POST -> delivery on B: messages/s", a.posts_per_s, b.posts_per_s],
	["POST -> delivery p50 (ms)", a.post_to_delivery_p50_ms, b.post_to_delivery_p50_ms],
	["POST -> delivery p99 (ms)", a.post_to_delivery_p99_ms, b.post_to_delivery_p99_ms],
	["POSTs delivered / sent (failed)", `${a.posts_delivered}/${a.posts} (${a.posts_failed})`, `${b.posts_delivered}/${b.posts} (${b.posts_failed})`],
];
console.log("\n| figure | iamd | Node ws anchor |\n|---|---|---|");
for (const [k, x, y] of rows) if (x !== undefined && !String(x).startsWith("undefined")) console.log(`| ${k} | ${x} | ${y} |`);
' "$TMP/iamd.json" "$TMP/anchor.json"
