#!/usr/bin/env bash
# Install the pinned CUDA 13.0 compiler (nvcc + NVVM + CRT headers + runtime headers) from PyPI
# into the ignored folder `.nvcc/` at the repository root. Idempotent: a second run with the
# same pins does nothing but print where nvcc is.
#
# The GPU machines run driver 580 (CUDA 13.0); PTX from a newer toolkit would not load there,
# so every version below is pinned exactly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${SLOTPROOF_NVCC_DIR:-$ROOT/.nvcc}"
PKGS=(
  "nvidia-cuda-nvcc==13.0.88"
  "nvidia-nvvm==13.0.88"
  "nvidia-cuda-crt==13.0.88"
  "nvidia-cuda-runtime==13.0.96"
)
STAMP="$DEST/.installed"
WANT="${PKGS[*]}"

PY="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "install-nvcc: python3 not found (set PYTHON=...)" >&2
  exit 1
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$DEST/nvidia/cu13/bin/nvcc" ]]; then
  echo "install-nvcc: already installed"
else
  rm -rf "$DEST"
  mkdir -p "$DEST"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --no-deps --target "$DEST" "${PKGS[@]}"
  echo "$WANT" > "$STAMP"
  # A cuda crate built before nvcc existed would not notice it: make cargo rerun its build script.
  touch "$ROOT/crates/cuda/build.rs"
fi

# Shared flags (include paths of the crt/runtime wheels) live in scripts/nvcc-env.sh.
# shellcheck source=nvcc-env.sh
source "$ROOT/scripts/nvcc-env.sh"

"$NVCC" --version | tail -n 2
echo "nvcc: $NVCC"
