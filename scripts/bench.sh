#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: the fixed benchmark matrix of rocketgo on this machine, with
# NATS JetStream measured in the same run by ../shared/bench/peers/nats_jetstream.sh, written
# as a Markdown table to bench/results.md (raw results in bench/raw/, not committed).
#
# Cases (1 KiB bodies; each REPS times, reported as median [min..max]):
#   sync_1        sync send, 1 producer                    vs NATS pub_sync_1 (+ natslat p50/p99)
#   sync_4        sync send, 4 producers                   vs NATS pub_sync_4
#   async_1       async pipelined send, window 100         vs NATS pub_async_1
#   batch_32      sync send of batches of 32               vs NATS pub_async_1 (nearest)
#   syncflush_64  storage.mmap.flush=sync, 64 producers    vs NATS pub_sync_4 with sync_interval always
#   consume_1/_4  1 and 4 push consumers of a fresh group read PREFILL pre-filled messages
#                                                          vs NATS sub_pull_1 / sub_pull_4
# The broker (rocketgo standalone, data in a temp dir under the repo) and the clients share
# this machine's cores; the broker's CPU time comes from /proc/<pid>/stat.
#
# Usage:  make bench            (about 6-8 minutes)
#         make bench-profile    (scripts/bench.sh profile: CPU and allocation profiles of the
#                                broker under the async_1 case, or PROFILE_CASE=sync_1|sync_4|
#                                batch_32; top costs printed, files in bench/raw/profile-CASE)
# Env:    SECS=10 REPS=3 PREFILL=300000 PEERS=../shared/bench/peers SKIP_NATS=0 NATS_ALWAYS_REPS=1
#         OUT=bench/results.md BIN=bin/rocketgo PROFILE_SECS=20
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin/rocketgo}
SECS=${SECS:-10}
REPS=${REPS:-3}
PREFILL=${PREFILL:-300000}
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
SKIP_NATS=${SKIP_NATS:-0}
OUT=${OUT:-$ROOT/bench/results.md}
RAW=$ROOT/bench/raw
PROFILE_SECS=${PROFILE_SECS:-20}
MODE=${1:-matrix}

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
mkdir -p "$RAW"
WORK=$(mktemp -d)
# The store lives on the filesystem under test (the repo's), as NATS's does (BENCH_DIR below).
DATA=$(mktemp -d -p "$ROOT" .bench-data.XXXXXX)
BROKER_PID=""

stop_broker() {
  [ -n "$BROKER_PID" ] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}
trap 'stop_broker; rm -rf "$WORK" "$DATA"' EXIT

# start_broker NAME [server flags...]: a fresh standalone broker on free ports.
start_broker() {
  local name=$1; shift
  stop_broker
  rm -rf "${DATA:?}"/* "$WORK/ready.json"
  "$BIN" standalone --data-dir "$DATA/data" --namesrv-listen 127.0.0.1:0 --broker-listen 127.0.0.1:0 \
    --ready-file "$WORK/ready.json" --log-level warn "$@" > "$RAW/broker-$name.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 1 300); do
    [ -f "$WORK/ready.json" ] && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$RAW/broker-$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "broker $name not ready after 30 s" >&2
  exit 1
}

RESULTS=$RAW/results.jsonl
# run LABEL REP produce|consume [flags...]: one measured run, its JSON summary appended to RESULTS.
run() {
  local label=$1 rep=$2 kind=$3; shift 3
  local log=$RAW/$label.$rep.log
  "$BIN" bench "$kind" --ready-file "$WORK/ready.json" --json --label "$label" "$@" >> "$RESULTS" 2> "$log" \
    || { cat "$log" >&2; exit 1; }
  printf '%-13s rep %s  %s\n' "$label" "$rep" "$(grep -E '^\[Complete\]' "$log" | sed 's/^\[Complete\] //')"
  grep -E '^(Latency|Broker CPU)' "$log" | sed 's/^/                     /'
}

if [ "$MODE" = profile ]; then
  PROF=$RAW/profile-${PROFILE_CASE:-async_1}
  mkdir -p "$PROF"
  start_broker profile --cpuprofile "$PROF/cpu.prof" --memprofile "$PROF/allocs.prof"
  : > "$RESULTS.profile"
  RESULTS=$RESULTS.profile
  case ${PROFILE_CASE:-async_1} in
    async_1) CASE_FLAGS=(--producers 1 --window 100) ;;
    sync_1) CASE_FLAGS=(--producers 1) ;;
    sync_4) CASE_FLAGS=(--producers 4) ;;
    batch_32) CASE_FLAGS=(--producers 1 --batch 32) ;;
    *) echo "PROFILE_CASE: async_1 | sync_1 | sync_4 | batch_32" >&2; exit 2 ;;
  esac
  run "${PROFILE_CASE:-async_1}" profile produce --topic bench_send --duration "${PROFILE_SECS}s" --report 5s "${CASE_FLAGS[@]}"
  stop_broker
  go tool pprof -top -nodecount=30 "$BIN" "$PROF/cpu.prof" > "$PROF/cpu-top.txt" 2>/dev/null
  go tool pprof -top -cum -nodecount=40 "$BIN" "$PROF/cpu.prof" > "$PROF/cpu-top-cum.txt" 2>/dev/null
  go tool pprof -top -sample_index=alloc_space -nodecount=25 "$BIN" "$PROF/allocs.prof" > "$PROF/allocs-top.txt" 2>/dev/null
  go tool pprof -top -sample_index=alloc_objects -nodecount=25 "$BIN" "$PROF/allocs.prof" > "$PROF/allocs-objects-top.txt" 2>/dev/null
  echo "== CPU, flat (also $PROF/cpu-top-cum.txt)"; cat "$PROF/cpu-top.txt"
  echo "== allocated objects"; cat "$PROF/allocs-objects-top.txt"
  echo "profiles: $PROF/cpu.prof $PROF/allocs.prof (go tool pprof -http=: $BIN $PROF/cpu.prof)"
  exit 0
fi

: > "$RESULTS"
FACTS=$RAW/facts.md
{
  echo "- Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\`, $("$BIN" version | head -1)."
  echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, Linux $(uname -r); store on $(df -h "$DATA" | awk 'NR==2{print $1}')."
  echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "- The broker and the load generators share these cores with whatever else runs on the machine; ${SECS} s per case after 1 s of warm-up, ${REPS} repetitions, median [min..max]."
} > "$FACTS"
cat "$FACTS"

T0=$(date +%s)
start_broker async
for rep in $(seq 1 "$REPS"); do
  P=(produce --topic bench_send --duration "${SECS}s" --report 5s)
  run sync_1 "$rep" "${P[@]}" --producers 1
  run sync_4 "$rep" "${P[@]}" --producers 4
  run async_1 "$rep" "${P[@]}" --producers 1 --window 100
  run batch_32 "$rep" "${P[@]}" --producers 1 --batch 32
done

# Consume: pre-fill once, then every repetition reads it all with a fresh group.
"$BIN" bench produce --ready-file "$WORK/ready.json" --topic bench_consume --window 100 --warmup 0 \
  --messages "$PREFILL" --report 10s > "$RAW/prefill.log" 2>&1 || { cat "$RAW/prefill.log" >&2; exit 1; }
echo "pre-filled bench_consume: $(grep -E '^\[Complete\]' "$RAW/prefill.log")"
for rep in $(seq 1 "$REPS"); do
  C=(consume --topic bench_consume --messages "$PREFILL" --duration 120s --report 5s)
  run consume_1 "$rep" "${C[@]}" --group "bench_c1_$rep" --consumers 1
  run consume_4 "$rep" "${C[@]}" --group "bench_c4_$rep" --consumers 4
done

start_broker syncflush --set storage.mmap.flush=sync
for rep in $(seq 1 "$REPS"); do
  run syncflush_64 "$rep" produce --topic bench_send --duration "${SECS}s" --report 5s --producers 64
done
stop_broker
echo "rocketgo cases took $(( $(date +%s) - T0 )) s"

# NATS JetStream in the same run: MODE default (fsync every 2 min, vs rocketgo's async flush)
# REPS times, MODE always (fsync per write, vs rocketgo's sync flush) NATS_ALWAYS_REPS times:
# on this disk the always mode's 150,000-message async cases run at about 2,000 msgs/s, so one
# repetition of it takes about 2.5 minutes.
NATS_ALWAYS_REPS=${NATS_ALWAYS_REPS:-1}
NATS_ARGS=()
nats_mode() { # MODE REPS
  echo "running NATS JetStream (MODES=$1 REPS=$2) ..."
  local t0; t0=$(date +%s)
  if REPS=$2 MODES=$1 BENCH_DIR="$ROOT" bash "$PEERS/nats_jetstream.sh" > "$RAW/nats-$1.txt" 2> "$RAW/nats-$1.err"; then
    cat "$RAW/nats-$1.txt" >> "$RAW/nats.txt"
    echo "NATS $1 took $(( $(date +%s) - t0 )) s"
  else
    echo "nats_jetstream.sh MODES=$1 failed (see $RAW/nats-$1.err)" >&2
    tail -5 "$RAW/nats-$1.err" >&2 || true
  fi
}
: > "$RAW/nats.txt"
if [ "$SKIP_NATS" != 1 ]; then
  if [ -f "$PEERS/nats_jetstream.sh" ]; then
    nats_mode default "$REPS"
    nats_mode always "$NATS_ALWAYS_REPS"
    cat "$RAW/nats.txt"
    [ -s "$RAW/nats.txt" ] && NATS_ARGS=(--nats "$RAW/nats.txt")
    echo "- NATS JetStream: mode default ${REPS} repetitions, mode always ${NATS_ALWAYS_REPS} (fsync-bound, about 2,000 msgs/s here)." >> "$FACTS"
  else
    echo "no $PEERS/nats_jetstream.sh: the table has no NATS column" >&2
  fi
fi
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." >> "$FACTS"

mkdir -p "$(dirname "$OUT")"
"$BIN" bench table --results "$RESULTS" "${NATS_ARGS[@]}" --facts "$FACTS" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo
cat "$OUT"
echo
echo "written to $OUT (raw results in $RAW)"
