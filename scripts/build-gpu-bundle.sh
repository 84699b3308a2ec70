#!/usr/bin/env bash
# Build the slotproof-cuda test and bench binaries for the GPU machine (which has a driver and
# nvcc 13.0 but no Rust toolchain and no network) and copy them, with a runner script, into the
# ignored folder .gpu-bin/ (carry it to the GPU machine and run .gpu-bin/run.sh there).
#
# Portable CPU level: x86-64-v3 (AVX2), never target-cpu=native (this machine has AVX-512, the
# GPU machine's CPU may not). Kernels are embedded at build time: nvcc must be installed here
# (scripts/install-nvcc.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export RUSTFLAGS="${RUSTFLAGS:--C target-cpu=x86-64-v3}"
OUT="$ROOT/.gpu-bin"
rm -rf "$OUT"
mkdir -p "$OUT"

if ! "$ROOT/scripts/install-nvcc.sh" >/dev/null; then
  echo "nvcc is required to embed the kernels" >&2
  exit 1
fi

# --no-run builds test (unit + integration) and bench executables; the JSON messages name them:
# test-lib (the unit tests) and test-cuda_tests (every integration suite, one module each:
# gpu, gpu_prover, gpu_prover_kernels, gpu_logup, ...; run.sh runs them one module at a time).
cargo test -p slotproof-cuda --release --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys, shutil, os
out = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]
    name = "test-" + ("lib" if "lib" in t["kind"] else t["name"])
    shutil.copy(m["executable"], os.path.join(out, name))
    print("copied", name)
' "$OUT"
cargo bench -p slotproof-cuda --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys, shutil, os
out = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        shutil.copy(m["executable"], os.path.join(out, "bench-" + m["target"]["name"]))
        print("copied bench-" + m["target"]["name"])
' "$OUT"

# Block proofs on the GPU: the CPU-vs-CUDA block-proof identity test (reads
# fixtures/transfers.json from the repository root) and the CLI with the cuda backend
# (`.gpu-bin/slotproof bench fixtures/mixed.json --backend cuda`).
cargo test -p slotproof --features cuda --release --no-run --test backend --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys, shutil, os
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        shutil.copy(m["executable"], os.path.join(sys.argv[1], "test-slotproof-backend"))
        print("copied test-slotproof-backend")
' "$OUT"
cargo build -p slotproof-cli --features cuda --release
cp target/release/slotproof "$OUT/slotproof"

# The mainnet fixtures for `run.sh blocks`: the GPU machine sees only this working tree, so a
# copy travels in the (ignored, never committed) bundle when the shared fixtures are here.
MAINNET="$ROOT/../shared/fixtures/mainnet"
if [[ -d "$MAINNET" ]]; then
  mkdir -p "$OUT/fixtures"
  cp "$MAINNET"/22615247.json "$MAINNET"/21688509.json "$OUT/fixtures/" 2>/dev/null || true
fi

cat > "$OUT/run.sh" <<'RUN'
#!/usr/bin/env bash
# Run on the GPU machine from the repository root: .gpu-bin/run.sh [all|tests|blocks|bench|ntt]
# Correctness first (every test binary, and test-cuda_tests one suite module at a time, each with
# its own log: test-gpu, kernels against Plonky3; test-gpu_prover, the prover backend's whole-shard
# byte identity with the CPU backend; test-gpu_prover_kernels: the quotient, PoW, FRI and
# opening kernels against the prover's CPU code; test-gpu_logup: the LogUp trace kernels against
# their model and Plonky3's LogUpGadget; test-gpu_staging: pinned uploads against pageable ones),
# then timing (bench-gpu: kernels; bench-prover: GPU vs CPU commitment rounds, D2D copy floor,
# shard proofs; bench-staging: 64 and 512 MiB trace uploads, pinned vs pageable, with ratio).
# Each binary's output is also written to $OUT/<binary>.log (or .gpu-bin/results/ when OUT is
# unset) and its exit code to summary.txt.
# Sizes: SLOTPROOF_GPU_MAX_LOG_N (tests, default here 22), SLOTPROOF_BENCH_LOG_NS / _WIDTHS /
# _FIELDS / _ITERS / _SHARD_LOG_ROWS / _UPLOAD_MIB / _UPLOAD_WIDTH (benches).
set -uo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
what="${1:-all}"
RES="${OUT:-$DIR/results}"
mkdir -p "$RES"
: > "$RES/summary.txt"
rc=0
run() { # name, command...
  local name="$1"; shift
  echo "== $name"
  "$@" 2>&1 | tee "$RES/$name.log"
  local r=${PIPESTATUS[0]}
  echo "$name rc=$r" | tee -a "$RES/summary.txt"
  [[ $r == 0 ]] || rc=1
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$RES/device.txt" || true
if [[ "$what" == tests || "$what" == all ]]; then
  export SLOTPROOF_GPU_MAX_LOG_N="${SLOTPROOF_GPU_MAX_LOG_N:-22}"
  for t in "$DIR"/test-*; do
    if [[ "$(basename "$t")" == test-cuda_tests ]]; then
      # One run per suite module (`gpu::...`, `gpu_prover::...`): a log and an exit code each.
      for m in $("$t" --list 2>/dev/null | sed -n 's/^\([a-z_0-9]*\)::.*: test$/\1/p' | sort -u); do
        run "test-$m" "$t" "$m::" --test-threads=1
      done
    else
      run "$(basename "$t")" "$t" --test-threads=1
    fi
  done
fi
if [[ "$what" == ntt ]]; then
  # NTT / LDE only: every plan against Plonky3, then the NTT and LDE benches (each bench size
  # first prints the pass plan the device runs).
  export SLOTPROOF_GPU_MAX_LOG_N="${SLOTPROOF_GPU_MAX_LOG_N:-22}"
  run test-gpu-ntt "$DIR/test-cuda_tests" gpu::gpu_ntt --test-threads=1
  run test-gpu-lde "$DIR/test-cuda_tests" gpu::gpu_coset_lde --test-threads=1
  run bench-gpu-ntt "$DIR/bench-gpu" --bench "ntt_dft|coset_lde"
fi
if [[ "$what" == blocks || "$what" == all ]]; then
  # Whole blocks (the issue's figures): the mainnet fixtures (when bundled) and the own mixed
  # block plus a generated 12.5 Mgas block, CUDA then CPU in the same run (ratio), then the
  # scaling curve on CUDA; time by kernel (CUDA events) from a separate profiled run so that
  # the events do not slow the latency figures. JSON per run under $RES.
  BLOCKS=(fixtures/mixed.json)
  for f in "$DIR"/fixtures/*.json; do [[ -f "$f" ]] && BLOCKS+=("$f"); done
  run blocks-cuda "$DIR/slotproof" bench "${BLOCKS[@]}" --generate-gas 12.5M --backend cuda \
    --repeat "${SLOTPROOF_BLOCK_REPEAT:-5}" --json "$RES/blocks-cuda.json"
  # What overlapping trace generation with proving gains: the same blocks, every trace first.
  run blocks-cuda-no-overlap "$DIR/slotproof" bench "${BLOCKS[@]}" --generate-gas 12.5M \
    --backend cuda --no-overlap --repeat "${SLOTPROOF_BLOCK_REPEAT:-5}" \
    --json "$RES/blocks-cuda-no-overlap.json"
  run blocks-cpu "$DIR/slotproof" bench "${BLOCKS[@]}" --generate-gas 12.5M --backend cpu \
    --repeat 1 --json "$RES/blocks-cpu.json"
  run blocks-kernels "$DIR/slotproof" bench "${BLOCKS[@]}" --backend cuda --kernel-times \
    --json "$RES/blocks-kernels.json"
  run scaling-cuda "$DIR/slotproof" bench --generate-gas 30M --generate-gas 60M \
    --generate-gas 120M --backend cuda --json "$RES/scaling-cuda.json"
fi
if [[ "$what" == bench || "$what" == all ]]; then
  # bench-prover (GPU vs CPU, with its own equality checks) before the kernel microbenches;
  # the rest (bench-staging: pinned vs pageable uploads, bench-logup) after them.
  for name in bench-prover bench-gpu; do
    [[ -x "$DIR/$name" ]] && run "$name" "$DIR/$name" --bench
  done
  for b in "$DIR"/bench-*; do
    case "$(basename "$b")" in bench-prover|bench-gpu) ;; *) run "$(basename "$b")" "$b" --bench ;; esac
  done
fi
cat "$RES/summary.txt"
exit $rc
RUN
chmod +x "$OUT/run.sh"
ls -la "$OUT"
du -sh "$OUT"
