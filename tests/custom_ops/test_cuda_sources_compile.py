"""The CUDA kernels compile (nvcc, compile-only) on a machine without a GPU: edits to the shared
headers or the kernels cannot break the CUDA build unnoticed. Running them needs a GPU
(test_cuda_kernels.py)."""
import glob
import os
import shutil
import subprocess
import sys

import pytest
import torch

from tests.tiny import REPO


@pytest.mark.skipif(shutil.which('nvcc') is None, reason='no nvcc on this machine')
@pytest.mark.skipif(torch.version.cuda is not None,
                    reason='a CUDA build of torch compiles the kernels in setup.py already')
def test_cuda_kernels_compile_with_nvcc():
    env = dict(os.environ, PY=sys.executable)
    run = subprocess.run(['bash', 'tools/misc/check_cuda_sources.sh'], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    compiled = [line for line in run.stdout.splitlines() if line.startswith('ok')]
    assert len(compiled) == len(glob.glob(os.path.join(REPO, 'custom_ops/faster_rcnn_ops/csrc/cuda/*.cu')))
