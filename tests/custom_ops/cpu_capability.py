"""Runs an op test's ``_forward_and_backward`` on saved inputs in a fresh process whose
``ATEN_CPU_CAPABILITY`` picks the kernels' vector width (simd.h: simd_isa()), so a test can compare
every width with the widest this CPU runs."""
import os
import subprocess
import sys

import torch

_RUN_SAVED = """
import importlib, sys, torch, faster_rcnn_ops
run = importlib.import_module(sys.argv[1])._forward_and_backward
torch.save([run(*case) for case in torch.load(sys.argv[2])], sys.argv[3])
"""
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def forward_and_backward_at(capability: str, test_module: str, cases: list, tmp_path) -> list:
    """``test_module._forward_and_backward(*case)`` for each case, computed at ``capability``."""
    torch.save(cases, tmp_path / 'in.pt')
    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability,
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get('PYTHONPATH')) if p))
    subprocess.run([sys.executable, '-c', _RUN_SAVED, test_module, str(tmp_path / 'in.pt'),
                    str(tmp_path / 'out.pt')], env=env, check=True)
    return torch.load(tmp_path / 'out.pt')
