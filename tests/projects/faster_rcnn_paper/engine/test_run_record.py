"""engine/run_record.py: the stage timeline read back and checked, the resume check, and every
artefact name defined there only (the hook and the tools import it)."""
import json
import os.path as osp
import re
import subprocess

import pytest
import torch

from faster_rcnn_paper.engine import run_record
from faster_rcnn_paper.utils import UserInputError
from tests.tiny import REPO

STAGES = [dict(name='a', mode='rpn', begin=0, end=10), dict(name='b', mode='fast_rcnn', begin=10, end=20)]


def test_timeline_round_trip_and_missing(tmp_path):
    assert run_record.read_timeline(str(tmp_path)) is None
    run_record.write_timeline(str(tmp_path), STAGES)
    assert (tmp_path / 'alternating' / 'stages.json').is_file()
    assert run_record.read_timeline(str(tmp_path)) == STAGES


@pytest.mark.parametrize('text,message', [
    ('{not json', 'not a stage timeline'),
    ('{"a": 1}', 'not a non-empty list'),
    ('[]', 'not a non-empty list'),
    ('[3]', 'not a dict'),
    (json.dumps([dict(name='a', begin=0)]), r"a stage without \['mode', 'end'\]"),
    (json.dumps([dict(name='a', mode='rpn', begin=0, end='9')]), 'bad stage'),
    (json.dumps([dict(name='a', mode='rpn', begin=0, end=5), dict(name='b', mode='rpn', begin=6, end=9)]),
     'should begin at 5'),
    (json.dumps([dict(name='a', mode='rpn', begin=0, end=0)]), 'bad stage'),
])
def test_a_garbage_timeline_is_refused_naming_the_file(tmp_path, text, message):
    (tmp_path / 'alternating').mkdir()
    (tmp_path / 'alternating' / 'stages.json').write_text(text)
    with pytest.raises(UserInputError, match=message) as error:
        run_record.read_timeline(str(tmp_path))
    assert str(tmp_path / 'alternating' / 'stages.json') in str(error.value)


def test_resume_check():
    run_record.check_resume(STAGES, STAGES, 15, 'ckpt')
    later = [STAGES[0], dict(STAGES[1], end=30)]
    run_record.check_resume(later, STAGES, 15, 'ckpt')  # the current stage may grow
    with pytest.raises(UserInputError, match=r"stage 'a' \(rpn, iterations 0-10 in the checkpoint\) is now rpn, "
                                             r'iterations 0-12'):
        run_record.check_resume([dict(STAGES[0], end=12), dict(STAGES[1], begin=12, end=22)], STAGES, 15, 'ckpt')
    with pytest.raises(UserInputError, match='ckpt: the stage timeline is not'):
        run_record.check_resume(STAGES, {'garbage': 1}, 15, 'ckpt')


def test_weights_fingerprint():
    state = {'a': torch.zeros(3), 'b': torch.ones(2, 2)}
    same = {'b': torch.ones(2, 2), 'a': torch.zeros(3)}
    assert run_record.weights_fingerprint(state) == run_record.weights_fingerprint(same)
    assert len(run_record.weights_fingerprint(state)) == 16
    state['a'][1] = 1e-30
    assert run_record.weights_fingerprint(state) != run_record.weights_fingerprint(same)


def test_artefact_names_are_spelled_in_run_record_only():
    """No other source file spells an artefact name as a string of its own (the tools import them)."""
    names = ['faster_rcnn_final.pth', 'stages.json', 'initial_weights.pth', 'train.lock', 'alternating_stage',
             'alternating_stages', 'alternating_proposals', 'alternating_initial_weights']
    patterns = [re.compile(rf"""['"]{re.escape(name)}['"]""") for name in names]
    patterns += [re.compile(r"""f?['"](iter_\{|alternating_metrics/)""")]
    files = subprocess.run(['git', 'ls-files', 'projects', 'tools'], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    offenders = []
    for path in files:
        if path.endswith('.py') and not path.endswith('engine/run_record.py'):
            with open(osp.join(REPO, path)) as f:
                code = f.read()
            offenders += [f'{path}: {p.pattern}' for p in patterns if p.search(code)]
    assert offenders == []
