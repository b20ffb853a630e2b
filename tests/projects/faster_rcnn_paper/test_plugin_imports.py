"""What ``custom_imports=dict(imports=['faster_rcnn_paper'])`` loads: the library (models, engine,
datasets, utils), not the demo's toy data generator or stand-in pre-training."""
import json
import os
import subprocess
import sys

from tests.tiny import REPO

PROBE = '''
import json, sys
from mmengine.utils import import_modules_from_strings
import_modules_from_strings(['faster_rcnn_paper'])  # what mmengine does with custom_imports
from mmdet.registry import DATASETS, MODELS
print(json.dumps(dict(
    modules=sorted(m for m in sys.modules if m.startswith('faster_rcnn_paper')),
    registered=[MODELS.get('PaperFasterRCNN') is not None, DATASETS.get('PaperVOCDataset') is not None])))
'''


def test_custom_imports_load_the_library_but_not_the_demo():
    proc = subprocess.run([sys.executable, '-c', PROBE], cwd=REPO, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['registered'] == [True, True]
    packages = {m.split('.')[1] for m in report['modules'] if m.count('.') >= 1}
    assert {'models', 'engine', 'datasets', 'utils'} <= packages
    demo_code = [m for m in report['modules'] if '.demo' in m or 'toy' in m or 'pretraining' in m]
    assert demo_code == []


def test_the_demo_is_importable_apart():
    from faster_rcnn_paper.demo import TOY_CLASSES, make_toy_voc, pretrain_on_toy_images  # noqa: F401
    assert TOY_CLASSES == ('circle', 'square', 'triangle', 'bar', 'pillar')
