#!/usr/bin/env bash
# Compile every kernels/*.cu with the pinned nvcc, for sm_90 (cubin) and compute_90 (PTX), with
# warnings as errors. Exits non-zero on the first failure. Outputs go to a temporary folder
# (or $KERNEL_OUT_DIR when set) together with the ptxas resource report.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=nvcc-env.sh
source "$ROOT/scripts/nvcc-env.sh"

OUT="${KERNEL_OUT_DIR:-$(mktemp -d)}"
mkdir -p "$OUT"
echo "nvcc: $NVCC ($("$NVCC" --version | grep -o 'release [0-9.]*'))"
echo "flags: ${NVCC_FLAGS[*]}"

shopt -s nullglob
files=("$ROOT"/kernels/*.cu)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no kernels/*.cu found" >&2
  exit 1
fi
for cu in "${files[@]}"; do
  name="$(basename "$cu" .cu)"
  "$NVCC" "${NVCC_FLAGS[@]}" -I"$ROOT/kernels" -cubin -arch=sm_90 -Xptxas=-v \
    -o "$OUT/$name.sm_90.cubin" "$cu" 2> "$OUT/$name.ptxas.txt" || {
    cat "$OUT/$name.ptxas.txt" >&2
    echo "FAILED: $cu (sm_90 cubin)" >&2
    exit 1
  }
  "$NVCC" "${NVCC_FLAGS[@]}" -I"$ROOT/kernels" -ptx -arch=compute_90 \
    -o "$OUT/$name.compute_90.ptx" "$cu" || {
    echo "FAILED: $cu (compute_90 ptx)" >&2
    exit 1
  }
  echo "ok: $name (cubin $(stat -c %s "$OUT/$name.sm_90.cubin") B, ptx $(stat -c %s "$OUT/$name.compute_90.ptx") B)"
done
echo "all kernels compiled; outputs and ptxas reports in $OUT"
