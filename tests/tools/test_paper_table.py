"""tools/paper/paper_table.py: each command produces all of its rows (Table 2, 8, 9) or curves (Fig. 4) on
tiny generated data with random-weights models (the plumbing; the numbers mean nothing here)."""
import csv
import json
import os
import os.path as osp

import pytest
import torch

from faster_rcnn_paper.datasets.proposal_file import load_proposal_file
from tests.tiny import REPO, make_tiny_voc, tiny_config
from tests.tools import load_tool

# The paper's numbers (arXiv:1506.01497 v3, VOC07 test mAP %), transcribed here a second time.
PAPER_TABLE2 = [('SS', 2000, 58.7), ('EB', 2000, 58.6), ('RPN+ZF, shared', 300, 59.9),
                ('RPN+ZF, unshared', 300, 58.7), ('RPN+ZF', 100, 55.1), ('RPN+ZF', 300, 56.8),
                ('RPN+ZF', 1000, 56.3), ('RPN+ZF (no NMS)', 6000, 55.2), ('RPN+ZF (no cls)', 100, 44.6),
                ('RPN+ZF (no cls)', 300, 51.4), ('RPN+ZF (no cls)', 1000, 55.8),
                ('RPN+ZF (no reg)', 300, 52.1), ('RPN+ZF (no reg)', 1000, 51.3), ('RPN+VGG', 300, 59.2)]
PAPER_TABLE8 = [65.8, 66.7, 68.8, 67.9, 69.8, 69.9]
PAPER_TABLE9 = {'0.1': 67.2, '1': 68.9, '10': 69.9, '100': 69.1}
ZF = 'configs/faster_rcnn_zf_voc.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('paper/paper_table')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_tiny_voc(tmp_path_factory.mktemp('voc'))


@pytest.fixture
def tiny(tool, data_root, tmp_path, monkeypatch):
    """The tool reads every config through ``load_config``: make each one tiny."""
    def load(path, cfg_options=None):
        cfg = tiny_config(path, data_root, tmp_path / 'unused')
        cfg.model.init_cfg = None  # the demo rows' stand-in weights do not exist here
        return cfg
    monkeypatch.setattr(tool, 'load_config', load)
    return load


def random_checkpoint(cfg, path, seed):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return str(path)


def test_table2_gives_every_row_with_the_unshared_one_from_the_stage_checkpoints(tool, tiny, data_root, tmp_path):
    cfg = tiny(ZF)
    run = tmp_path / 'run'
    os.makedirs(run / 'alternating')
    stages = [dict(name='step1_rpn', mode='rpn', begin=0, end=2),
              dict(name='step2_fast_rcnn', mode='fast_rcnn', begin=2, end=4),
              dict(name='step3_rpn', mode='rpn', begin=4, end=6),
              dict(name='step4_fast_rcnn', mode='fast_rcnn', begin=6, end=8)]
    (run / 'alternating' / 'stages.json').write_text(json.dumps(stages))
    random_checkpoint(cfg, run / 'iter_2.pth', seed=1)
    random_checkpoint(cfg, run / 'iter_4.pth', seed=2)
    final = random_checkpoint(cfg, run / 'faster_rcnn_final.pth', seed=3)
    out = tmp_path / 'table2'
    result = tool.main(['table2', ZF, final, '--out-dir', str(out)])
    rows = result['rows']
    assert [(r['test'], r['proposals'], r['paper_map']) for r in rows] == PAPER_TABLE2
    ours = {(r['test'], r['proposals']): r for r in rows}
    for test, n, _ in PAPER_TABLE2:
        if test in ('SS', 'EB', 'RPN+VGG'):
            assert ours[(test, n)]['our_map'] is None and 'n/a' in ours[(test, n)]['note']
        else:  # evaluated: a number
            assert 0.0 <= ours[(test, n)]['our_map'] <= 100.0, (test, n)
    assert 'iter_2.pth' in ours[('RPN+ZF, unshared', 300)]['note']
    assert 'iter_4.pth' in ours[('RPN+ZF, unshared', 300)]['note']
    assert ours[('RPN+ZF (no cls)', 100)]['rpn_overrides'] == dict(rank_by='random', use_nms=False,
                                                                    max_per_img=100)
    text = (out / 'table2.md').read_text()
    assert 'ablation experiments follow below' in text and data_root in text
    assert 'NOT PASCAL VOC' in text  # the tiny data has 5 classes
    proposals, _ = load_proposal_file(str(out / 'unshared_step1_test_proposals.npz'))
    assert len(proposals) == 3  # every test image, from the step-1 RPN


def test_unshared_row_names_what_is_missing(tool, tmp_path):
    checkpoints, reason = tool.stage_checkpoints(str(tmp_path))
    assert checkpoints is None and 'stages.json' in reason
    os.makedirs(tmp_path / 'alternating')
    (tmp_path / 'alternating' / 'stages.json').write_text(json.dumps(
        [dict(name='a', mode='rpn', begin=0, end=5), dict(name='b', mode='fast_rcnn', begin=5, end=9)]))
    (tmp_path / 'iter_5.pth').write_bytes(b'')
    checkpoints, reason = tool.stage_checkpoints(str(tmp_path))
    assert checkpoints is None and 'iter_9.pth' in reason and 'iter_5.pth' not in reason


def test_recall_curves(tool, tiny, tmp_path):
    ckpt = random_checkpoint(tiny(ZF), tmp_path / 'model.pth', seed=0)
    out = tmp_path / 'recall'
    tool.main(['recall', ZF, ckpt, '--out-dir', str(out), '--proposal-nums', '10', '50', '300'])
    with open(out / 'recall.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['IoU', 'recall@10', 'recall@50', 'recall@300']
    ious = [float(r[0]) for r in rows[1:]]
    assert ious == pytest.approx([0.5 + 0.05 * i for i in range(11)])
    curves = [[float(v) for v in r[1:]] for r in rows[1:]]
    for at_iou in curves:  # more proposals never recall less
        assert 0.0 <= at_iou[0] <= at_iou[1] <= at_iou[2] <= 1.0
    for n in range(3):  # a stricter IoU never recalls more
        column = [c[n] for c in curves]
        assert column == sorted(column, reverse=True)
    assert curves[0][2] > 0.0  # 300 random-weight proposals on a ~100-px image find something
    assert (out / 'recall.png').stat().st_size > 10000


def test_table8_trains_missing_rows_and_evaluates_all(tool, tiny, tmp_path, monkeypatch):
    root = tmp_path / 'rows'
    suffixes = [row[0] for row in tool.TABLE8]
    for suffix in suffixes[1:]:
        config = tool.row_config('table8', 'zf', suffix)
        random_checkpoint(tiny(config), root / osp.basename(config)[:-3] / 'faster_rcnn_final.pth', seed=0)
    trained = []

    def fake_train(config, work_dir, cfg_options=None):  # tools/train.py, without the training
        trained.append((config, work_dir, cfg_options))
        random_checkpoint(tiny(config), osp.join(work_dir, 'faster_rcnn_final.pth'), seed=0)
    monkeypatch.setattr(tool, 'train_row', fake_train)
    result = tool.main(['table8', '--set', 'zf', '--work-dirs', str(root), '--train',
                        '--train-cfg-options', 'custom_hooks.0.stages.step1_rpn.max_iters=3'])
    assert trained == [('configs/paper_tables/table8_zf_1scale_1ratio_128.py',
                        str(root / 'table8_zf_1scale_1ratio_128'), ['custom_hooks.0.stages.step1_rpn.max_iters=3'])]
    assert [r['row'] for r in result['rows']] == suffixes
    assert all(r['mAP'] is not None for r in result['rows'])
    text = (root / 'table8.md').read_text()
    for value in PAPER_TABLE8:
        assert f'| {value} |' in text
    assert 'ZF (the paper ran this table with VGG-16 only)' in text and data_root_in(text)


def data_root_in(text):
    return 'data: test split' in text and 'VOCdevkit' in text


def test_table9_lists_untrained_rows(tool, tiny, tmp_path):
    root = tmp_path / 'rows'
    for suffix in ('lambda_1', 'lambda_10'):
        config = tool.row_config('table9', 'toy', suffix)
        random_checkpoint(tiny(config), root / osp.basename(config)[:-3] / 'faster_rcnn_final.pth', seed=0)
    result = tool.main(['table9', '--set', 'toy', '--work-dirs', str(root)])
    status = {r['row']: r['status'] for r in result['rows']}
    assert status['lambda_0.1'] == status['lambda_100'] == 'not trained'
    assert float(status['lambda_1']) >= 0.0 and float(status['lambda_10']) >= 0.0
    text = result['text']
    assert '| λ | 0.1 | 1 | 10 | 100 |' in text
    assert '| mAP (%) paper (VGG-16, VOC07) | ' + ' | '.join(str(v) for v in PAPER_TABLE9.values()) + ' |' in text
    assert 'not trained: configs/paper_tables/table9_toy_lambda_0.1.py' in text


def test_row_configs_change_only_what_their_row_says(tool):
    """Every row config exists for every set and differs from its base in the row's key only."""
    from mmengine.config import Config
    for row_set, base in (('vgg16', 'faster_rcnn_vgg16_voc.py'), ('zf', 'faster_rcnn_zf_voc.py'),
                          ('toy', 'faster_rcnn_zf_alternating_toyvoc.py')):
        base_cfg = Config.fromfile(osp.join(REPO, 'configs', base))
        unit = 4 if row_set == 'toy' else 8  # the toy config halves the anchors with its images
        expect8 = {'1scale_1ratio_128': ([unit], [1.0]), '1scale_1ratio_256': ([2 * unit], [1.0]),
                   '1scale_3ratios_128': ([unit], [0.5, 1.0, 2.0]),
                   '1scale_3ratios_256': ([2 * unit], [0.5, 1.0, 2.0]),
                   '3scales_1ratio': ([unit, 2 * unit, 4 * unit], [1.0]),
                   '3scales_3ratios': ([unit, 2 * unit, 4 * unit], [0.5, 1.0, 2.0])}
        for suffix, (scales, ratios) in expect8.items():
            cfg = Config.fromfile(osp.join(REPO, tool.row_config('table8', row_set, suffix)))
            anchors = cfg.model.rpn_head.anchor_generator
            assert (list(anchors.scales), list(anchors.ratios)) == (scales, ratios), (row_set, suffix)
            cfg.model.rpn_head.anchor_generator = base_cfg.model.rpn_head.anchor_generator
            assert cfg.model == base_cfg.model
        for suffix, lam in (('lambda_0.1', 0.1), ('lambda_1', 1), ('lambda_10', 10), ('lambda_100', 100)):
            cfg = Config.fromfile(osp.join(REPO, tool.row_config('table9', row_set, suffix)))
            assert cfg.model.rpn_head.loss_bbox.loss_weight == pytest.approx(lam / 10)
            cfg.model.rpn_head.loss_bbox.loss_weight = base_cfg.model.rpn_head.loss_bbox.loss_weight
            assert cfg.model == base_cfg.model
            assert cfg.train_cfg == base_cfg.train_cfg


def test_training_a_row_without_its_initial_weights_is_a_user_error(tool, tmp_path, monkeypatch):
    from faster_rcnn_paper.utils import UserInputError
    monkeypatch.chdir(tmp_path)  # no data/toy/stand_in_imagenet_zf.pth here
    with pytest.raises(UserInputError, match='stand_in_imagenet_zf.pth.*make demo'):
        tool.main(['table9', '--set', 'toy', '--train', '--rows', 'lambda_1', '--work-dirs', str(tmp_path)])
    assert not (tmp_path / 'table9_toy_lambda_1').exists()  # nothing started
