"""tools/paper/compare_training_modes.py: budgets scale every mode's iterations and lr schedule, read
from the configs themselves; the learning-curve runs skip finished runs, survive a failed one and
write their curves (training and testing replaced by a fake ``run``)."""
import csv
import itertools
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
from faster_rcnn_paper.utils import UserInputError
from tests.tiny import REPO
from tests.tools import load_tool

tool = load_tool('paper/compare_training_modes')
ALTERNATING = tool.MODES['alternating'][1]


def apply(config, opts):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict({key: DictAction._parse_iterable(value) for key, value in
                         (opt.split('=', 1) for opt in opts)})
    return cfg


def bounds(schedulers):
    """(type, begin, end, milestones) of each scheduler."""
    return [(s.type, s.get('begin'), s.get('end'), list(s.get('milestones', []))) for s in schedulers]


@pytest.mark.parametrize('budget', [2, 4])
def test_budget_multiplies_every_4_step_stage_and_its_lr_schedule(budget):
    full = Config.fromfile(osp.join(REPO, ALTERNATING))
    scaled = apply(ALTERNATING, tool.scaled_iters(ALTERNATING, budget))
    stages, scaled_stages = alternating_hook_cfg(full).stages, alternating_hook_cfg(scaled).stages
    assert list(scaled_stages) == list(stages)
    for name, stage in stages.items():
        new = scaled_stages[name]
        assert new.max_iters == budget * stage.max_iters, name
        assert bounds(new.get('param_scheduler', [])) == [
            (kind, None if begin is None else budget * begin, None if end is None else budget * end,
             [budget * m for m in milestones])
            for kind, begin, end, milestones in bounds(stage.get('param_scheduler', []))], name
    assert tool.total_iterations(ALTERNATING, budget) == budget * sum(s.max_iters for s in stages.values())
    assert scaled.train_cfg.max_iters == budget * sum(s.max_iters for s in stages.values())  # the hook checks it
    # the demo's step-4 warm-up is among what moved
    assert any(s.type == 'LinearLR' for stage in stages.values() for s in stage.get('param_scheduler', []))


def test_budget_1_is_the_config_and_fractions_stay_whole_iterations():
    assert tool.scaled_iters(ALTERNATING, 1.0) == []
    for stage in alternating_hook_cfg(apply(ALTERNATING, tool.scaled_iters(ALTERNATING, 0.3))).stages.values():
        assert isinstance(stage.max_iters, int)
        for sched in stage.get('param_scheduler', []):
            assert all(isinstance(m, int) and 0 < m < stage.max_iters for m in sched.get('milestones', []))
            assert isinstance(sched.get('end', 0), int) and sched.get('end', 0) <= stage.max_iters


def joint_config(tmp_path, mode):
    """The real joint config of ``mode`` with a warm-up added and without the inherited 4-step hook."""
    path = tmp_path / f'{mode}.py'
    path.write_text(
        f"_base_ = ['{osp.join(REPO, tool.MODES[mode][1])}']\n"
        'custom_hooks = []\n'
        "param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40), "
        '*_base_.param_scheduler]\n')
    return str(path)


@pytest.mark.parametrize('mode', ['joint', 'nonapprox'])
def test_budget_multiplies_the_joint_run_and_its_lr_schedule(tmp_path, mode):
    config = joint_config(tmp_path, mode)
    full = Config.fromfile(config)
    scaled = apply(config, tool.scaled_iters(config, 2))
    max_iters = full.train_cfg.max_iters
    assert scaled.train_cfg.max_iters == scaled.train_cfg.val_interval == 2 * max_iters
    assert bounds(scaled.param_scheduler) == [
        (kind, None if begin is None else 2 * begin, None if end is None else 2 * end, [2 * m for m in milestones])
        for kind, begin, end, milestones in bounds(full.param_scheduler)]
    assert bounds(scaled.param_scheduler)[0][2] == 80  # the warm-up's end
    assert tool.total_iterations(config, 2) == 2 * max_iters
    # a joint run stays a whole number of accumulated updates
    accumulate = full.optim_wrapper.accumulative_counts
    assert apply(config, tool.scaled_iters(config, 0.3)).train_cfg.max_iters % accumulate == 0


def test_a_config_that_does_not_train_its_mode_is_refused(monkeypatch):
    monkeypatch.setitem(tool.MODES, 'joint', ('approximate joint', ALTERNATING))
    with pytest.raises(UserInputError, match='faster_rcnn_zf_alternating_toyvoc.py: custom_hooks has an Alternating'):
        tool.check_configs(['joint'])
    assert tool.mode_problem('alternating', Config.fromfile(osp.join(REPO, ALTERNATING))) == ''


@pytest.mark.parametrize('mode', ['joint', 'nonapprox'])
def test_each_joint_toy_config_trains_its_mode(mode):
    assert tool.mode_problem(mode, Config.fromfile(osp.join(REPO, tool.MODES[mode][1]))) == ''


class FakeTools:
    """Stands in for tools/train.py and tools/test.py: writes the files the tool reads, records
    the runs and fails those listed in ``fail``."""

    def __init__(self, fail=()):
        self.fail, self.trained = set(fail), []

    def __call__(self, cmd, log_file):
        work = cmd[cmd.index('--work-dir') + 1]
        if cmd[1] == 'tools/train.py':
            mode, budget = work.split(os.sep)[-2], float(work.split(os.sep)[-1][1:])
            self.trained.append((mode, budget))
            if (mode, budget) in self.fail:
                raise RuntimeError(f'{mode} x{budget:g} failed; see {log_file}')
            open(osp.join(work, 'faster_rcnn_final.pth' if mode == 'alternating' else 'last.pth'), 'w').close()
            with open(osp.join(work, 'last_checkpoint'), 'w') as f:
                f.write(osp.join(work, 'last.pth'))
            return ''
        mode, budget = cmd[3].split(os.sep)[-3], float(cmd[3].split(os.sep)[-2][1:])
        assert cmd[2] == tool.MODES[mode][1]
        return f'pascal_voc/mAP: 0.9\nbbox_mAP_copypaste: x\npascal_voc/mAP: {budget / 10 + len(mode) / 100:.4f}\n'


@pytest.fixture
def fake_training(monkeypatch):
    """No configs loaded, no processes: iterations 100 x budget, 60 s per training run."""
    clock = itertools.count(0, 60)
    monkeypatch.setattr(tool, 'scaled_iters', lambda config, budget: [])
    monkeypatch.setattr(tool, 'total_iterations', lambda config, budget: int(100 * budget))
    monkeypatch.setattr(tool, 'config_fingerprint', lambda config, budget, seed=None: f'{config} x{budget}')
    monkeypatch.setattr(tool.time, 'perf_counter', lambda: next(clock))


def test_learning_curves_write_every_row_and_survive_a_failed_run(tmp_path, monkeypatch, fake_training):
    fake = FakeTools(fail={('joint', 1.0)})
    monkeypatch.setattr(tool, 'run', fake)
    rows, failures = tool.learning_curves(list(tool.MODES), [1.0, 2.0], str(tmp_path))
    everything = [(m, b) for b in (1.0, 2.0) for m in tool.MODES]
    assert fake.trained == everything  # the runs after the failure ran
    assert [(m, b) for m, b, _ in failures] == [('joint', 1.0)]
    assert [(r['mode'], r['budget']) for r in rows] == [run for run in everything if run != ('joint', 1.0)]
    joint2 = rows[3]
    assert joint2 == dict(mode='joint', budget=2.0, iterations=200, train_seconds=60, seconds_per_iteration=0.3,
                          mAP=0.25)  # the last mAP the test printed
    with open(tmp_path / 'curves.csv') as f:
        table = list(csv.DictReader(f))
    assert [(r['mode'], float(r['budget']), int(r['iterations']), float(r['mAP'])) for r in table] == [
        (r['mode'], r['budget'], r['iterations'], r['mAP']) for r in rows]
    assert list(table[0]) == ['mode', 'budget', 'iterations', 'train_seconds', 'seconds_per_iteration', 'mAP']
    assert json.loads((tmp_path / 'curves.json').read_text()) == rows
    markdown = (tmp_path / 'curves.md').read_text().splitlines()
    assert len(markdown) == 2 + 5
    assert markdown[-2] == '| approximate joint | 2× | 200 | 1.0 min | 0.30 | 0.250 |'
    assert (tmp_path / 'curves.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert not [name for name in os.listdir(tmp_path) if name.endswith('.tmp')]


def test_finished_runs_are_skipped_and_unfinished_ones_start_afresh(tmp_path, monkeypatch, fake_training):
    monkeypatch.setattr(tool, 'run', FakeTools(fail={('joint', 1.0)}))
    tool.learning_curves(['alternating', 'joint'], [1.0], str(tmp_path))
    leftover = tmp_path / 'joint' / 'x1' / 'stale_stage_record.json'
    leftover.write_text('{}')
    fake = FakeTools()
    monkeypatch.setattr(tool, 'run', fake)
    rows, failures = tool.learning_curves(['alternating', 'joint'], [1.0], str(tmp_path))
    assert fake.trained == [('joint', 1.0)] and not failures
    assert not leftover.exists()
    assert [r['mode'] for r in rows] == ['alternating', 'joint']
    assert len((tmp_path / 'curves.md').read_text().splitlines()) == 2 + 2
    # a result made from another content of its config is run again
    monkeypatch.setattr(tool, 'config_fingerprint', lambda config, budget, seed=None: 'joint changed' if 'joint' in config else
                        f'{config} x{budget}')
    fake = FakeTools()
    monkeypatch.setattr(tool, 'run', fake)
    rows, _ = tool.learning_curves(['alternating', 'joint'], [1.0], str(tmp_path))
    assert fake.trained == [('joint', 1.0)]
    assert json.loads((tmp_path / 'joint' / 'x1' / 'result.json').read_text())['config_sha256'] == 'joint changed'


def test_the_fingerprint_follows_the_config_content(tmp_path):
    changed = tmp_path / 'changed_lr.py'
    changed.write_text(f"_base_ = ['{osp.join(REPO, ALTERNATING)}']\n"
                       'custom_hooks = _base_.custom_hooks\n'
                       'custom_hooks[0].stages.step4_fast_rcnn.optim_wrapper.optimizer.lr = 0.02\n')
    copy = tmp_path / 'copy.py'
    copy.write_text(f"_base_ = ['{osp.join(REPO, ALTERNATING)}']\n")
    same = tool.config_fingerprint(ALTERNATING, 2.0)
    assert tool.config_fingerprint(str(copy), 2.0) == same
    assert tool.config_fingerprint(ALTERNATING, 1.0) != same
    assert tool.config_fingerprint(str(changed), 2.0) != same


def test_a_seed_goes_to_training_and_into_the_fingerprint():
    assert tool.run_options(ALTERNATING, 1.0) == []
    assert tool.run_options(ALTERNATING, 1.0, 0) == ['randomness.seed=0']
    assert tool.scaled_config(ALTERNATING, 1.0, 0).randomness.seed == 0
    assert tool.config_fingerprint(ALTERNATING, 1.0, 0) != tool.config_fingerprint(ALTERNATING, 1.0)
    # the configs' own seed is the same training as no --seed
    own = tool.scaled_config(ALTERNATING, 1.0).randomness.seed
    assert tool.config_fingerprint(ALTERNATING, 1.0, own) == tool.config_fingerprint(ALTERNATING, 1.0)
