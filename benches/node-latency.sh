#!/usr/bin/env bash
# End-to-end latency of the proof node against one `slotproof prove` process, same block, same
# machine, one after the other: from POST /v1/execution_proof_requests to the proof_complete
# event, then the proof downloaded and verified through the API.
#
#   benches/node-latency.sh [FIXTURE] [BIN]
# FIXTURE defaults to the embedded default block (fixtures/mixed.json); BIN to
# target/release/slotproof (build it first: cargo build --release -p slotproof-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
fixture=${1:-fixtures/mixed.json}
bin=${2:-target/release/slotproof}
work=$(mktemp -d)
trap 'kill $node_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/fixtures"
cp "$fixture" "$work/fixtures/"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
type=slotproof-koalabear

"$bin" payload-request "$fixture" -o "$work/request.ssz" > "$work/root.txt"
root=$(grep -o '0x[0-9a-f]\{64\}$' "$work/root.txt")

"$bin" node --listen "127.0.0.1:$port" --fixtures "$work/fixtures" --store-dir "$work/store" \
  --deadline-secs 3600 2> "$work/node.log" &
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
"$bin" prove "$fixture" -o "$work/direct.bin" > /dev/null 2>&1
end=$(date +%s.%N)
direct_s=$(echo "$end - $start" | bc -l)

printf '{"fixture": "%s", "node_request_to_event_s": %.3f, "prove_process_s": %.3f, "ratio": %.3f, "proof_bytes": %d, "verification": %s, "same_bytes": %s}\n' \
  "$fixture" "$node_s" "$direct_s" "$(echo "$node_s / $direct_s" | bc -l)" \
  "$(stat -c %s "$work/proof.bin")" "$status" \
  "$(cmp -s "$work/proof.bin" "$work/direct.bin" && echo true || echo false)"
