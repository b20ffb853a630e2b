"""Installs the Faster R-CNN paper plugin for MMDetection and its compiled RoI-pooling op.

Packages:
  faster_rcnn_paper  (projects/faster_rcnn_paper)  the MMDetection plugin (custom_imports)
  faster_rcnn_ops    (custom_ops/faster_rcnn_ops)  torch.ops.faster_rcnn.* kernels
and the paper configs (configs/ -> faster_rcnn_paper/.mim/configs; faster_rcnn_paper.config_path).

The op is built with torch.utils.cpp_extension: the C++ CPU kernel always, the CUDA kernel too when
torch sees a GPU (and nvcc is found) or FORCE_CUDA=1. Install with
    pip install --no-build-isolation -e .
(no build isolation: the extension must be compiled against the torch that will import it).
"""
import glob
import os
import runpy

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

import torch
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

OPS_DIR = os.path.join('custom_ops', 'faster_rcnn_ops')
PLUGIN_DIR = os.path.join('projects', 'faster_rcnn_paper')
# Where the installed package keeps configs/ (faster_rcnn_paper.config_path reads it from there).
PACKAGED_CONFIGS_DIR = runpy.run_path(os.path.join(PLUGIN_DIR, 'packaged_configs.py'))['PACKAGED_CONFIGS_DIR']


class BuildPyWithConfigs(build_py):
    """Also copies configs/ into the built package (faster_rcnn_paper/.mim/configs, as MMDetection's
    add_mim_extension does), so that an installed package holds the paper configs for ``_base_``.
    Editable installs read the checkout's configs/ instead."""

    def run(self):
        super().run()
        if not getattr(self, 'editable_mode', False):
            self.copy_tree('configs', os.path.join(self.build_lib, 'faster_rcnn_paper', PACKAGED_CONFIGS_DIR))


def with_cuda() -> bool:
    if os.environ.get('FORCE_CUDA', '0') == '1':
        return True
    return torch.cuda.is_available() and CUDA_HOME is not None


def op_extension():
    csrc = os.path.join(OPS_DIR, 'csrc')
    # Schemas (csrc/*.cpp) and CPU kernels always; CUDA kernels when building with CUDA.
    sources = sorted(glob.glob(os.path.join(csrc, '*.cpp'))) + sorted(glob.glob(os.path.join(csrc, 'cpu', '*.cpp')))
    # -fopenmp: at::parallel_for is inlined into our kernels and only runs in parallel when they
    # are compiled with OpenMP, the backend of the torch builds on PyPI. -fno-math-errno: sqrt
    # vectorises (no kernel reads errno). -ffp-contract=off: a multiply and an add are rounded
    # each, as in torch's element-wise ops, also in the kernels compiled for FMA-capable vector
    # widths (simd.h), so every width gives the same bits.
    extra_compile_args = {'cxx': ['-O3', '-fopenmp', '-fno-math-errno', '-ffp-contract=off']}
    extension = CppExtension
    if with_cuda():
        extension = CUDAExtension
        sources += sorted(glob.glob(os.path.join(csrc, 'cuda', '*.cu')))
        extra_compile_args['nvcc'] = ['-O3']
    return extension(
        name='faster_rcnn_ops._C',
        sources=sources,
        include_dirs=[os.path.abspath(csrc)],
        extra_compile_args=extra_compile_args,
        extra_link_args=['-fopenmp'])


setup(
    name='faster-rcnn-paper',
    version='0.1.0',
    description='Faster R-CNN (Ren et al., 2015) as published, as an MMDetection 3.x plugin',
    python_requires='>=3.8',
    packages=find_packages('projects') + find_packages('custom_ops'),
    package_dir={
        'faster_rcnn_paper': PLUGIN_DIR,
        'faster_rcnn_ops': OPS_DIR,
    },
    # Ranges that admit a user's own torch build (often CUDA); the exact versions this project is
    # tested with are pinned in requirements/lock.txt.
    install_requires=[
        'torch>=2.4',
        'mmengine>=0.10.0,<1.0',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmdet>=3.0.0,<3.4',
        'numpy',
        'pycocotools',
        'protobuf>=4.22',  # message_factory.GetMessageClass (reading .caffemodel files)
    ],
    ext_modules=[op_extension()],
    cmdclass={'build_ext': BuildExtension.with_options(use_ninja=True), 'build_py': BuildPyWithConfigs},
    zip_safe=False,
)
