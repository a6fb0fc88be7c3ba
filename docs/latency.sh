#!/usr/bin/env bash
# Vote arrival-to-commit latency at a fixed produce rate, through a real Kafka-protocol broker
# (tansu, memory storage) into PostgreSQL, read from the job's /metrics histogram.
#
#   docs/latency.sh RATE [VOTERS]          e.g. docs/latency.sh 20000
#   EXTRA=--no-ledger docs/latency.sh 20000
#
# Needs tansu on PATH, PostgreSQL on 127.0.0.1:5432 (user postgres) and a release build of
# the example. The registries are published and loaded first; the votes then go out at RATE
# (following the turnout curve). Steady state is the histogram between a scrape 3 s after the
# votes start and one 8 s after the last vote is produced.
set -euo pipefail
RATE=$1; VOTERS=${2:-300000}
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/examples/election}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" generate --voters "$VOTERS" --seed 9 --out "$WORK/all" 2>/dev/null
mkdir -p "$WORK/registries" "$WORK/votes"
for f in candidates polling_stations voters; do mv "$WORK/all/$f.jsonl" "$WORK/registries/"; : > "$WORK/votes/$f.jsonl"; done
mv "$WORK/all/votes.jsonl" "$WORK/votes/"; : > "$WORK/registries/votes.jsonl"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=127.0.0.1:$PORT
tansu broker --listener-url "tcp://$B" --advertised-listener-url "tcp://$B" --storage-engine memory://tansu/ >/dev/null 2>&1 &
sleep 2
SCHEMA=latency_$RATE
PG=postgresql://postgres@127.0.0.1/postgres
psql "$PG" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE"
"$BIN" produce --brokers "$B" --input "$WORK/registries" >/dev/null 2>&1
"$BIN" --brokers "$B" -w 2 --postgres "$PG" --pg-schema "$SCHEMA" ${EXTRA:-} --dashboard 127.0.0.1:0 >"$WORK/job.out" 2>"$WORK/job.err" &
JOB=$!
for _ in $(seq 600); do grep -q "registries loaded" "$WORK/job.err" && break; sleep 0.2; done
URL=$(grep -ao "http://127.0.0.1:[0-9]*" "$WORK/job.err" | head -1)
"$BIN" produce --brokers "$B" --input "$WORK/votes" --rate "$RATE" >/dev/null 2>&1 &
PRODUCE=$!
sleep 3
curl -s "$URL/metrics" >"$WORK/a.metrics"
wait $PRODUCE
sleep 8
curl -s "$URL/metrics" >"$WORK/b.metrics"
python3 - "$RATE" "$WORK/a.metrics" "$WORK/b.metrics" <<'PY'
import sys
def buckets(path):
    b = {}
    for line in open(path):
        if line.startswith("ballotflow_sink_commit_latency_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            b[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return b
a, b = buckets(sys.argv[2]), buckets(sys.argv[3])
les = sorted(b)
cum = [b[le] - a.get(le, 0) for le in les]
total = cum[-1]
def q(p):
    rank, prev_le, prev = max(1, p * total), 0.0, 0.0
    for le, c in zip(les, cum):
        if c >= rank:
            return prev_le + (le - prev_le) * (rank - prev) / (c - prev)
        prev_le, prev = le, c
print(f"rate {sys.argv[1]} votes/s: {total:.0f} votes measured, p50 {q(0.5):.2f} s, p99 {q(0.99):.2f} s")
PY
kill -INT $JOB; wait $JOB || true
grep -a "^postgres:\|^votes=" "$WORK/job.out"
psql "$PG" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE"
