#!/usr/bin/env bash
# Runs the compiled ops' fuzz cases under AddressSanitizer (out-of-bounds reads/writes, use after
# free) — a one-off check, not part of `make test` (a sanitized build takes minutes).
#
#   tools/misc/sanitize_ops.sh [N_EXAMPLES]        (default 300 random cases per op)
#
# Builds faster_rcnn_ops' C++ sources with -fsanitize=address into $ASAN_BUILD_DIR (default
# /tmp/faster_rcnn_ops_asan; the normal in-place build is left alone), preloads libasan into
# Python and drives the kernels with
# tests/custom_ops/fuzz_under_sanitizer.py. Any memory error aborts with an ASan report.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
N=${1:-300}
BUILD=${ASAN_BUILD_DIR:-/tmp/faster_rcnn_ops_asan}  # kept: a second run only rebuilds what changed
mkdir -p "$BUILD"
# load() also loads the library it built, so the build step runs with the ASan runtime preloaded
# too. libstdc++ is preloaded after it: Python itself does not link it, and without it ASan cannot
# intercept C++ exceptions (the ops' input checks throw them).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
"$PY" - "$BUILD" <<'PYEOF'
import glob, os, sys
from torch.utils.cpp_extension import load
csrc = 'custom_ops/faster_rcnn_ops/csrc'
sources = sorted(glob.glob(f'{csrc}/*.cpp')) + sorted(glob.glob(f'{csrc}/cpu/*.cpp'))
flags = ['-O1', '-g', '-fsanitize=address', '-fno-omit-frame-pointer', '-fopenmp']
load(name='faster_rcnn_ops_asan', sources=sources, extra_include_paths=[os.path.abspath(csrc)],
     extra_cflags=flags, extra_ldflags=['-fsanitize=address', '-fopenmp'], build_directory=sys.argv[1],
     is_python_module=False, verbose=False)
PYEOF
LIB="$BUILD/faster_rcnn_ops_asan.so"
"$PY" tests/custom_ops/fuzz_under_sanitizer.py "$LIB" "$N"
