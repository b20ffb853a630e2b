#!/usr/bin/env bash
# Compiles the ops' CUDA kernels (custom_ops/faster_rcnn_ops/csrc/cuda/*.cu) with nvcc on a machine
# without a GPU and without torch's CUDA build: a compile-only check that the kernels still build
# against the pinned torch's headers after an edit. Nothing is linked or run — running the kernels
# needs a GPU (tests/custom_ops/test_cuda_kernels.py compares them with the CPU kernels there).
#
#   tools/misc/check_cuda_sources.sh [ARCH]        (default sm_90, the H100)
#
# torch's CUDA headers include the cuBLAS / cuSPARSE / cuSOLVER headers for their handle types; a
# bare nvcc toolkit may lack those libraries, so the few declarations the headers need are stubbed
# in a temporary folder (our kernels use none of these libraries). Exit status 1 on any error.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
ARCH=${1:-sm_90}
NVCC=${NVCC:-nvcc}
command -v "$NVCC" >/dev/null || { echo "check_cuda_sources: $NVCC not found" >&2; exit 2; }
TORCH_INC=$("$PY" -c 'from torch.utils.cpp_extension import include_paths; print(" ".join(include_paths()))')
PY_INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
STUBS=$(mktemp -d)
OUT=$(mktemp -d)
trap 'rm -rf "$STUBS" "$OUT"' EXIT
stub() { printf '#pragma once\n%s\n' "$2" > "$STUBS/$1"; }
stub cublas_v2.h 'typedef struct cublasContext* cublasHandle_t; typedef int cublasStatus_t;'
stub cublasLt.h 'typedef struct cublasLtContext* cublasLtHandle_t;'
stub cusparse.h 'typedef struct cusparseContext* cusparseHandle_t; typedef int cusparseStatus_t;
inline const char* cusparseGetErrorString(cusparseStatus_t) { return ""; }'
stub cusolver_common.h 'typedef int cusolverStatus_t;'
stub cusolverDn.h '#include "cusolver_common.h"
typedef struct cusolverDnContext* cusolverDnHandle_t;'
INCLUDES=(-I"$STUBS" -I"$PY_INC" -Icustom_ops/faster_rcnn_ops/csrc)
for inc in $TORCH_INC; do INCLUDES+=(-I"$inc"); done
status=0
pids=()
for cu in custom_ops/faster_rcnn_ops/csrc/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  # the flags torch.utils.cpp_extension passes for an extension (setup.py), for one architecture
  "$NVCC" -std=c++20 -arch="$ARCH" --expt-relaxed-constexpr -DC10_CUDA_NO_CMAKE_CONFIGURE_FILE \
    -DTORCH_EXTENSION_NAME=_C -DTORCH_API_INCLUDE_EXTENSION_H -D__CUDA_NO_HALF_OPERATORS__ \
    -D__CUDA_NO_HALF_CONVERSIONS__ -D__CUDA_NO_BFLOAT16_CONVERSIONS__ -D__CUDA_NO_HALF2_OPERATORS__ \
    "${INCLUDES[@]}" -c "$cu" -o "$OUT/$name.o" > "$OUT/$name.log" 2>&1 &
  pids+=("$!:$cu:$name")
done
for entry in "${pids[@]}"; do
  IFS=: read -r pid cu name <<< "$entry"
  if wait "$pid"; then
    echo "ok      $cu ($ARCH)"
  else
    echo "FAILED  $cu ($ARCH):"; cat "$OUT/$name.log"; status=1
  fi
done
exit $status
