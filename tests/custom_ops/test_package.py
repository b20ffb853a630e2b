"""faster_rcnn_ops depends on torch alone: no module of the package imports anything else, not even
lazily inside a function (the NMS of non-CPU tensors once fell back to mmcv's)."""
import ast
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import faster_rcnn_ops

PACKAGE = osp.dirname(faster_rcnn_ops.__file__)


def test_every_import_is_torch_the_standard_library_or_the_package():
    found = {}
    for path in glob.glob(osp.join(PACKAGE, '*.py')):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                root = name.split('.')[0]
                if root != 'torch' and root not in sys.stdlib_module_names:
                    found.setdefault(osp.basename(path), []).append(name)
    assert found == {}


def test_importing_the_package_loads_no_other_third_party_module():
    probe = ('import json, sys; import faster_rcnn_ops; '
             'print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))')
    proc = subprocess.run([sys.executable, '-c', probe], env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert not loaded & {'mmcv', 'mmdet', 'mmengine', 'faster_rcnn_paper'}
