#!/usr/bin/env bash
# Search benchmark (issue 13): a generated corpus of MEETINGS meetings of
# WORDS words each (default 10,000 x 500 = 5 million words; fixed seed, see
# bench/search-corpus.mjs) loaded in bulk into SQLite and into a private
# PostgreSQL (scripts/pg-test-cluster), then p50/p95 latency of GET
# /api/v1/search over loopback HTTP for one-word, two-word and phrase
# queries (target p95 < 50 ms), and the size of the search index.
#
#   bench/search.sh [BUILD_DIR]   env: MEETINGS (10000), WORDS (500),
#                                 REQUESTS per query kind (300), ENGINES ("sqlite pg"),
#                                 KEEP (a directory: see below)
#
# KEEP=DIR keeps each engine's loaded corpus in DIR/<engine> (the SQLite file;
# a PostgreSQL cluster left running, stop it with `scripts/pg-test-cluster
# stop DIR/pg`) and reuses it on the next run with the same MEETINGS and
# WORDS, so changes to the query code can be measured again in seconds
# rather than after a reload (iamd applies new migrations to it on start).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MEETINGS=${MEETINGS:-10000}
WORDS=${WORDS:-500}
REQUESTS=${REQUESTS:-300}
ENGINES=${ENGINES:-sqlite pg}
KEEP=${KEEP:-}

TMP=$(mktemp -d)
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	KEEP=$(cd "$KEEP" && pwd)
fi
PID=
PGDIR=
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; fi
	if [ -n "$PGDIR" ] && [ -z "$KEEP" ]; then scripts/pg-test-cluster stop "$PGDIR" >/dev/null 2>&1 || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_iamd() { # DB_URL
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	IAM_LISTEN=127.0.0.1:$PORT IAM_DATA_DIR="$DATA" IAM_DATABASE_URL="$1" IAM_LOG_LEVEL=warn \
		IAM_HTTP_THREADS=2 "$BUILD/iamd" api 2>>"$TMP/iamd.log" &
	PID=$!
	until curl -sf "$BASE/readyz" >/dev/null; do
		kill -0 "$PID" 2>/dev/null || { cat "$TMP/iamd.log"; exit 1; }
		sleep 0.05
	done
}

stop_iamd() {
	kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	PID=
}

register() { # prints "TOKEN ORG USER"
	local body
	body=$(curl -sf -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
		-d "{\"email\":\"bench-$1@example.com\",\"password\":\"bench-password-1\"}")
	node -e 'const b=JSON.parse(process.argv[1]);console.log(b.access_token,b.organization.id,b.user.id)' "$body"
}

login() { # prints a fresh access token of the user register made
	local body
	body=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"email\":\"bench-$1@example.com\",\"password\":\"bench-password-1\"}")
	node -e 'console.log(JSON.parse(process.argv[1]).access_token)' "$body"
}

echo "iamd $("$BUILD/iamd" version | cut -d' ' -f2), $(nproc) cores; corpus: $MEETINGS meetings x $WORDS words = $((MEETINGS * WORDS)) words"
for engine in $ENGINES; do
	DATA="$TMP/data"
	if [ -n "$KEEP" ]; then
		DATA="$KEEP/$engine"
		STAMP="$KEEP/$engine.loaded"
		# A PostgreSQL cluster stopped since (pg-test-cluster stop removes it) is loaded again.
		if [ "$engine" = pg ] && [ ! -d "$KEEP/pg.cluster" ]; then rm -f "$STAMP"; fi
		if [ -f "$STAMP" ] && [ "$(cut -d' ' -f1-2 "$STAMP")" != "$MEETINGS $WORDS" ]; then
			echo "$KEEP holds a corpus of another size ($(cut -d' ' -f1-2 "$STAMP")); remove it first" >&2
			exit 1
		fi
	fi
	if [ -z "$KEEP" ] || [ ! -f "$STAMP" ]; then
		rm -rf "$DATA"
		[ "$engine" = pg ] && [ -n "$KEEP" ] && scripts/pg-test-cluster stop "$KEEP/pg.cluster" >/dev/null 2>&1
	fi
	mkdir -p "$DATA"
	if [ "$engine" = sqlite ]; then
		URL="sqlite:$DATA/iam.db"
	else
		PGDIR="$TMP/pg"
		[ -n "$KEEP" ] && PGDIR="$KEEP/pg.cluster"
		scripts/pg-test-cluster start "$PGDIR" >/dev/null
		URL=$(scripts/pg-test-cluster createdb "$PGDIR" bench)
	fi
	start_iamd "$URL"
	if [ -n "$KEEP" ] && [ -f "$STAMP" ]; then
		read -r _ _ ORG USER <"$STAMP"
		TOKEN=$(login "$engine")
		echo
		echo "== $engine: the corpus kept in $KEEP (loaded before)"
	else
		read -r TOKEN ORG USER < <(register "$engine")
		t0=$(date +%s)
		if [ "$engine" = sqlite ]; then
			node bench/search-corpus.mjs sql sqlite "$ORG" "$USER" "$MEETINGS" "$WORDS" | sqlite3 -bail "$DATA/iam.db" >/dev/null
			size=$(sqlite3 "$DATA/iam.db" "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_%'")
			what="search_docs + FTS5 tables and their indexes"
		else
			node bench/search-corpus.mjs sql pg "$ORG" "$USER" "$MEETINGS" "$WORDS" |
				PGOPTIONS="-c iam.scope=system" psql -q -v ON_ERROR_STOP=1 "$URL" >/dev/null
			size=$(psql -At "$URL" -c "SELECT pg_total_relation_size('search_docs')")
			gin=$(psql -At "$URL" -c "SELECT pg_relation_size('search_docs_tsv_span')")
			what="search_docs with its TOAST, tsvector column and indexes; GIN alone $((gin / 1048576)) MiB"
		fi
		t1=$(date +%s)
		echo
		echo "== $engine: loaded in $((t1 - t0)) s; index size $((size / 1048576)) MiB ($what)"
		if [ -n "$KEEP" ]; then echo "$MEETINGS $WORDS $ORG $USER" >"$STAMP"; fi
	fi
	PIDS=$PID
	if [ -n "$PGDIR" ]; then
		PGHOME=$(cat "$PGDIR/home" 2>/dev/null || echo "$PGDIR")
		PIDS="$PID,$(head -1 "$PGHOME/data/postmaster.pid")"
	fi
	node bench/search-load.mjs "$BASE" "$TOKEN" "$MEETINGS" "$WORDS" "$REQUESTS" "$PIDS"
	stop_iamd
	if [ -n "$PGDIR" ] && [ -z "$KEEP" ]; then
		scripts/pg-test-cluster stop "$PGDIR" >/dev/null
	fi
	PGDIR=
done
