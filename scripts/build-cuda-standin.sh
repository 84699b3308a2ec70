#!/usr/bin/env bash
# Build the stand-in CUDA driver (crates/cuda-standin: the driver API subset cudarc and
# slotproof-cuda call, with kernels/*.cu compiled for the host and run on the CPU) and print
# the library's absolute path on the last line of stdout.
#
#   scripts/build-cuda-standin.sh [--release]
#
# Select it for a run with SLOTPROOF_CUDA_DRIVER=<path>, or put its directory first on
# LD_LIBRARY_PATH (the file is named libcuda.so.1). Anything run under it is a CPU figure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=()
for arg in "$@"; do
  case "$arg" in
    --release) PROFILE=(--release) ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
# The build script reports the library through a rustc-env line, which cargo's JSON messages
# carry (build-script-executed: env); diagnostics go to stderr.
MESSAGES="$(cargo build -p slotproof-cuda-standin "${PROFILE[@]}" --message-format=json-render-diagnostics)"
LIBRARY="$(printf '%s\n' "$MESSAGES" | python3 -c '
import json, sys
found = ""
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "build-script-executed":
        continue
    if not m.get("package_id", "").replace("#", " ").count("cuda-standin"):
        continue
    for key, value in m.get("env", []):
        if key == "SLOTPROOF_STANDIN_LIBRARY":
            found = value
print(found)
')"
if [[ -z "$LIBRARY" || ! -f "$LIBRARY" ]]; then
  echo "build-cuda-standin: the build did not report the library (SLOTPROOF_STANDIN_LIBRARY)" >&2
  exit 1
fi
echo "$LIBRARY"
