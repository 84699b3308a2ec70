# Sourced by install-nvcc.sh and check-kernels.sh: locates the pinned nvcc and reads the shared
# compile flags. Sets NVCC (path) and NVCC_FLAGS (bash array).
#
# Lookup order (the same as crates/cuda/build.rs): $NVCC, the repository's .nvcc/ install
# (scripts/install-nvcc.sh), then nvcc on PATH.
# The PyPI wheels put nvcc, cicc (nvvm), the CRT headers and the runtime headers under one
# nvidia/cu13/ tree, and nvcc.profile there points at them relative to the binary, so no extra
# -I flags are needed; the host compiler is the system g++ (override with NVCC_CCBIN).
_SP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${NVCC:-}" ]]; then
  if [[ -x "${SLOTPROOF_NVCC_DIR:-$_SP_ROOT/.nvcc}/nvidia/cu13/bin/nvcc" ]]; then
    NVCC="${SLOTPROOF_NVCC_DIR:-$_SP_ROOT/.nvcc}/nvidia/cu13/bin/nvcc"
  elif command -v nvcc >/dev/null 2>&1; then
    NVCC="$(command -v nvcc)"
  else
    echo "nvcc not found: run scripts/install-nvcc.sh or set NVCC" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
NVCC_FLAGS=()
while IFS= read -r _sp_line; do
  _sp_line="${_sp_line%%#*}"
  _sp_line="$(echo "$_sp_line" | xargs)"
  [[ -n "$_sp_line" ]] && NVCC_FLAGS+=("$_sp_line")
done < "$_SP_ROOT/kernels/nvcc.flags"
if [[ -n "${NVCC_CCBIN:-}" ]]; then
  NVCC_FLAGS+=("-ccbin" "$NVCC_CCBIN")
fi
export NVCC
