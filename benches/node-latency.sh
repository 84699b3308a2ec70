#!/usr/bin/env bash
# End-to-end latency of the proof node against one `slotproof prove` process, same block, same
# machine, one after the other: from POST /v1/execution_proof_requests to the proof_complete
# event, then the proof downloaded and verified through the API.
#
#   benches/node-latency.sh [FIXTURE] [BIN] [WORKERS]
# FIXTURE defaults to the embedded default block (fixtures/mixed.json); BIN to
# target/release/slotproof (build it first: cargo build --release -p slotproof-cli). WORKERS
# (default 0: the node proves on its own lane) starts a redis-server on a free port and that
# many `slotproof worker` processes, and the node coordinates them (`--redis`). NODE_ARGS adds
# flags to the node's command (e.g. "--max-rows 8192" to cut a small block into shards).
set -euo pipefail
cd "$(dirname "$0")/.."
fixture=${1:-fixtures/mixed.json}
bin=${2:-target/release/slotproof}
workers=${3:-0}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" $node_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/fixtures"
cp "$fixture" "$work/fixtures/"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
type=slotproof-koalabear
redis_args=()
if [ "$workers" -gt 0 ]; then
  redis_port=$((port + 1))
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    > "$work/redis.log" &
  pids+=($!)
  until redis-cli -p "$redis_port" ping > /dev/null 2>&1; do sleep 0.1; done
  redis_args=(--redis "redis://127.0.0.1:$redis_port/")
  for i in $(seq "$workers"); do
    "$bin" worker --redis "redis://127.0.0.1:$redis_port/" --name "w$i" > "$work/worker$i.log" 2>&1 &
    pids+=($!)
  done
fi

"$bin" payload-request "$fixture" -o "$work/request.ssz" > "$work/root.txt"
root=$(grep -o '0x[0-9a-f]\{64\}$' "$work/root.txt")

"$bin" node --listen "127.0.0.1:$port" --fixtures "$work/fixtures" --store-dir "$work/store" \
  --deadline-secs 3600 "${redis_args[@]}" ${NODE_ARGS:-} 2> "$work/node.log" &
node_pid=$!
until curl -sf "$base/health" > /dev/null; do sleep 0.2; done

curl -sN "$base/v1/execution_proof_requests?new_payload_request_root=$root" > "$work/events" &
events_pid=$!
sleep 0.2
start=$(date +%s.%N)
curl -sf -X POST --data-binary @"$work/request.ssz" \
  "$base/v1/execution_proof_requests?proof_types=$type" > /dev/null
until grep -q 'proof_complete\|proof_failure' "$work/events"; do sleep 0.05; done
end=$(date +%s.%N)
kill $events_pid 2>/dev/null || true
grep -q proof_complete "$work/events" || { cat "$work/events" "$work/node.log"; exit 1; }
curl -sf "$base/v1/execution_proofs/$root/$type" -o "$work/proof.bin"
status=$(curl -sf -X POST --data-binary @"$work/proof.bin" \
  "$base/v1/execution_proof_verifications?new_payload_request_root=$root&proof_type=$type")
node_s=$(echo "$end - $start" | bc -l)

start=$(date +%s.%N)
"$bin" prove "$fixture" -o "$work/direct.bin" ${NODE_ARGS:-} > /dev/null 2>&1
end=$(date +%s.%N)
direct_s=$(echo "$end - $start" | bc -l)

printf '{"fixture": "%s", "workers": %d, "node_args": "%s", "node_request_to_event_s": %.3f, "prove_process_s": %.3f, "ratio": %.3f, "proof_bytes": %d, "verification": %s, "same_bytes": %s}\n' \
  "$fixture" "$workers" "${NODE_ARGS:-}" "$node_s" "$direct_s" "$(echo "$node_s / $direct_s" | bc -l)" \
  "$(stat -c %s "$work/proof.bin")" "$status" \
  "$(cmp -s "$work/proof.bin" "$work/direct.bin" && echo true || echo false)"
