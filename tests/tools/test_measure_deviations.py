"""tools/paper/measure_deviations.py measures a real difference (and none at scale 1)."""
import numpy as np

from tests.tools import load_tool

TOOL = load_tool('paper/measure_deviations')


def test_measures_label_flips(capsys):
    out = TOOL.main(['--num', '20000'])
    assert 0 < out['flipped'] < 0.05 and 0 < out['max_iou_change'] < 0.1
    assert 'change fg/bg label' in capsys.readouterr().out


def test_no_flip_without_rescaling():
    flips, near, diff = TOOL.roi_label_flips(np.random.default_rng(0), 5000, scale=1.0)
    assert flips == 0 and near == 0 and diff == 0
