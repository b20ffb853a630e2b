"""The paper's analyses as commands (Ren et al., arXiv:1506.01497, §4.1): each prints the paper's
table layout with the paper's VOC07 numbers beside ours, and says which data it ran on.

    python tools/paper/paper_table.py table2 CONFIG CHECKPOINT [--stages-dir DIR] [--out-dir DIR]
    python tools/paper/paper_table.py recall CONFIG CHECKPOINT [--proposal-nums 300 1000 2000] [--out-dir DIR]
    python tools/paper/paper_table.py table8 --set vgg16|zf|toy [--train] [--rows ...] [--work-dirs DIR]
    python tools/paper/paper_table.py table9 --set vgg16|zf|toy [--train] [--rows ...] [--work-dirs DIR]

* ``table2`` — Table 2, the RPN's test-time ablations on one trained model: N = 100 / 300 / 1000
  proposals, "no NMS" (6000), "no cls" (a seeded random N of the boxes), "no reg" (the anchors), each
  a setting of ``model.test_cfg.rpn`` (see ``PaperRPNHead``), with the detector evaluated by the
  config's test loop and evaluator on the proposals it gets. The "unshared" row (RPN and detector
  with their own convs; the paper: "we stop after the second step in the 4-step training
  process") is the step-1 RPN with the step-2 detector of a 4-step run: the RPN's
  test-set proposals are written to a file, then the step-2 detector is evaluated on them. It needs
  the run's ``alternating/stages.json`` and the two stages' end checkpoints ``iter_<end>.pth`` in
  ``--stages-dir`` (default: the checkpoint's folder); without them the row says so.
* ``recall`` — Fig. 4: recall of the top-N proposals vs the IoU threshold, N = 300 / 1000 / 2000,
  on the config's test split (non-difficult gt boxes), with mmdet's ``eval_recalls``; writes
  ``recall.csv`` and ``recall.png`` (one panel per N, as the paper's figure).
* ``table8`` / ``table9`` — Tables 8 (anchor scales / ratios) and 9 (λ): the row configs
  ``configs/paper_tables/table{8,9}_<set>_<row>.py``; each row's work dir is
  ``<work-dirs>/<config name>``. With ``--train`` a row without a final model is trained first
  (``tools/train.py`` in a subprocess; ``--train-cfg-options`` passed on); then every row with a
  model is evaluated and the others are listed as not trained.

What the paper's rows compare is VOC07 test mAP with ImageNet-initialised ZF / VGG-16; on other
data (the demo's toy set) only the direction of each effect can be compared, and the tool says so.
"""
import copy
import itertools
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config, ConfigDict, DictAction

from faster_rcnn_paper.utils import UserInputError
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VOC_CLASSES = 20  # PASCAL VOC's classes; any other class list is not the paper's benchmark

# ----------------------------------------------------------------------------- paper numbers
# Table 2 (ZF, VOC07 trainval -> VOC07 test, mAP %): (train-time proposals, # boxes, test-time
# proposals, # proposals, paper mAP, our row). Our row: None (not reproducible here, with why),
# 'shared' / 'unshared', or the test_cfg.rpn overrides of the ablation.
TABLE2 = [
    ('SS', 2000, 'SS', 2000, 58.7, 'n/a: no Selective Search in this project'),
    ('EB', 2000, 'EB', 2000, 58.6, 'n/a: no EdgeBoxes in this project'),
    ('RPN+{bb}, shared', 2000, 'RPN+{bb}, shared', 300, 59.9, 'shared'),
    ('ablation experiments follow below', None, None, None, None, None),
    ('RPN+{bb}, unshared', 2000, 'RPN+{bb}, unshared', 300, 58.7, 'unshared'),
    ('SS', 2000, 'RPN+{bb}', 100, 55.1, dict(max_per_img=100)),
    ('SS', 2000, 'RPN+{bb}', 300, 56.8, dict(max_per_img=300)),
    ('SS', 2000, 'RPN+{bb}', 1000, 56.3, dict(max_per_img=1000)),
    ('SS', 2000, 'RPN+{bb} (no NMS)', 6000, 55.2, dict(use_nms=False, nms_pre=6000, max_per_img=6000)),
    # "When the cls layer is removed at test-time (thus no NMS/ranking is used), we randomly
    # sample N proposals from the unscored regions."
    ('SS', 2000, 'RPN+{bb} (no cls)', 100, 44.6, dict(rank_by='random', use_nms=False, max_per_img=100)),
    ('SS', 2000, 'RPN+{bb} (no cls)', 300, 51.4, dict(rank_by='random', use_nms=False, max_per_img=300)),
    ('SS', 2000, 'RPN+{bb} (no cls)', 1000, 55.8, dict(rank_by='random', use_nms=False, max_per_img=1000)),
    ('SS', 2000, 'RPN+{bb} (no reg)', 300, 52.1, dict(use_box_regression=False, max_per_img=300)),
    ('SS', 2000, 'RPN+{bb} (no reg)', 1000, 51.3, dict(use_box_regression=False, max_per_img=1000)),
    ('SS', 2000, 'RPN+VGG', 300, 59.2, 'n/a: a VGG-16 RPN with a ZF detector; run table2 on a VGG-16 '
     'model for its own RPN'),
]
# Table 8 (VGG-16, VOC07): (row config suffix, settings, anchor scales, aspect ratios, paper mAP).
TABLE8 = [
    ('1scale_1ratio_128', '1 scale, 1 ratio', '128²', '1:1', 65.8),
    ('1scale_1ratio_256', '', '256²', '1:1', 66.7),
    ('1scale_3ratios_128', '1 scale, 3 ratios', '128²', '{2:1, 1:1, 1:2}', 68.8),
    ('1scale_3ratios_256', '', '256²', '{2:1, 1:1, 1:2}', 67.9),
    ('3scales_1ratio', '3 scales, 1 ratio', '{128², 256², 512²}', '1:1', 69.8),
    ('3scales_3ratios', '3 scales, 3 ratios', '{128², 256², 512²}', '{2:1, 1:1, 1:2}', 69.9),
]
# Table 9 (VGG-16, VOC07): (row config suffix, λ, paper mAP).
TABLE9 = [('lambda_0.1', '0.1', 67.2), ('lambda_1', '1', 68.9), ('lambda_10', '10', 69.9),
          ('lambda_100', '100', 69.1)]
ROW_SETS = ('vgg16', 'zf', 'toy')
BACKBONES = {'ZFNet': 'ZF', 'VGG16': 'VGG'}


# ----------------------------------------------------------------------------- shared helpers
def load_config(path: str, cfg_options=None) -> Config:
    """The config at ``path`` (relative to the repository or the working folder) with overrides."""
    full = path if osp.isfile(path) else osp.join(REPO, path)
    if not osp.isfile(full):
        raise UserInputError(f'config file not found: {path}')
    cfg = Config.fromfile(full)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def describe_data(cfg: Config, num_images=None) -> str:
    """Which test data a table ran on, and whether the paper's numbers are comparable."""
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:
        dataset = dataset.dataset
    classes = (dataset.get('metainfo') or {}).get('classes')
    where = f"{dataset.get('data_root', '')}{dataset.get('ann_file', '')}"
    count = f', {num_images} images' if num_images is not None else ''
    line = f'data: test split {where} ({dataset.get("type", "?")}{count})'
    if classes is not None and len(classes) != VOC_CLASSES:
        line += (f'\nNOT PASCAL VOC ({len(classes)} classes): our numbers are not VOC numbers; compare '
                 'only the direction of each effect with the paper\'s.')
    return line


_RUNNER_IDS = itertools.count()


def build_test_runner(cfg: Config, checkpoint: str, work_dir: str, proposal_file: str = None):
    """An MMEngine runner that tests ``checkpoint`` with the config's test loop and evaluator,
    on precomputed proposals (``proposal_test_pipeline``) when ``proposal_file`` is given."""
    from mmengine.runner import Runner
    if not osp.isfile(checkpoint):
        raise UserInputError(f'checkpoint not found: {checkpoint}')
    cfg = copy.deepcopy(cfg)
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.work_dir = work_dir
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook')  # no drawing
    if cfg.get('visualizer') is not None:  # one per runner: a named one would keep the first's folder
        cfg.visualizer.name = f'paper_table_{next(_RUNNER_IDS)}'
    if proposal_file is not None:
        if 'proposal_test_pipeline' not in cfg:
            raise UserInputError('the config has no proposal_test_pipeline (needed to test on '
                                 'precomputed proposals)')
        dataset = cfg.test_dataloader.dataset
        dataset.proposal_file = osp.abspath(proposal_file)
        dataset.pipeline = copy.deepcopy(cfg.proposal_test_pipeline)
    runner = Runner.from_cfg(cfg)
    runner.call_hook('before_run')  # as Runner.test(), which then loads; its loop runs per setting
    runner.load_or_resume()
    return runner


def evaluate_map(runner, rpn_cfg=None) -> float:
    """VOC mAP (%) of the runner's model on its test split, with RPN settings ``rpn_cfg``."""
    model = runner.model
    if rpn_cfg is not None:
        model.rpn_head.test_cfg = ConfigDict(copy.deepcopy(rpn_cfg))
    metrics = runner.test_loop.run()
    keys = [k for k in metrics if k.split('/')[-1] == 'mAP']
    if not keys:
        raise UserInputError(f'the test evaluator gave no mAP (metrics: {sorted(metrics)})')
    return 100.0 * float(metrics[keys[0]])


def markdown(header, rows) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join('' if c is None else str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def fmt(value) -> str:
    return f'{value:.1f}' if isinstance(value, float) else str(value)


def write_outputs(out_dir: str, name: str, text: str, record) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{name}.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump(record, f, indent=1)


# ----------------------------------------------------------------------------- Table 2
def stage_checkpoints(stages_dir: str):
    """(step-1 RPN checkpoint, step-2 detector checkpoint) of a 4-step run, or (None, reason)."""
    from faster_rcnn_paper.engine.run_record import read_timeline, stage_checkpoint, timeline_file
    timeline = timeline_file(stages_dir)
    stages = read_timeline(stages_dir)
    if stages is None:
        return None, f'no 4-step stage record {timeline}'
    rpn = next((s for s in stages if s['mode'] == 'rpn'), None)
    det = next((s for s in stages if s['mode'] == 'fast_rcnn' and rpn is not None
                and s['begin'] >= rpn['end']), None)
    if rpn is None or det is None:
        return None, f'{timeline} has no RPN stage followed by a Fast R-CNN stage'
    paths = [stage_checkpoint(stages_dir, s) for s in (rpn, det)]
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        return None, ('end-of-stage checkpoint(s) missing: ' + ', '.join(missing) +
                      ' (removed by max_keep_ckpts when a stage ends on a checkpoint interval?)')
    return tuple(paths), None


def unshared_map(cfg: Config, stages_dir: str, work_dir: str, rpn_cfg: dict):
    """mAP (%) of the step-2 detector on the step-1 RPN's test proposals, or (None, reason)."""
    from faster_rcnn_paper.engine.runner.offline_proposals import generate_proposals
    checkpoints, reason = stage_checkpoints(stages_dir)
    if checkpoints is None:
        return None, reason
    step1, step2 = checkpoints
    proposal_file = osp.join(work_dir, 'unshared_step1_test_proposals.npz')
    if osp.exists(proposal_file):
        os.remove(proposal_file)  # always from this run's step-1 checkpoint
    runner = build_test_runner(cfg, step1, work_dir)
    generate_proposals(runner, copy.deepcopy(cfg.test_dataloader), rpn_cfg, proposal_file,
                       description='step-1 RPN test proposals (unshared)')
    runner = build_test_runner(cfg, step2, work_dir, proposal_file=proposal_file)
    return evaluate_map(runner), f'step-1 RPN {osp.basename(step1)} + step-2 detector {osp.basename(step2)}'


def table2(args) -> dict:
    cfg = load_config(args.config, args.cfg_options)
    backbone = BACKBONES.get(cfg.model.backbone.type, cfg.model.backbone.type)
    work_dir = args.out_dir or osp.join('work_dirs', 'paper_tables', 'table2')
    base_rpn = dict(cfg.model.test_cfg.rpn)
    runner = build_test_runner(cfg, args.checkpoint, work_dir)
    cache, rows, record = {}, [], []
    for train_m, train_n, test_m, test_n, paper, ours in TABLE2:
        if train_n is None:
            rows.append([f'*{train_m}*', '', '', '', '', '', ''])
            continue
        train_m, test_m = train_m.format(bb=backbone), test_m.format(bb=backbone)
        note, value = '', None
        if isinstance(ours, str) and ours.startswith('n/a'):
            note = ours
        elif ours == 'unshared':
            value, note = unshared_map(cfg, args.stages_dir or osp.dirname(osp.abspath(args.checkpoint)),
                                       work_dir, dict(base_rpn, max_per_img=test_n))
            if value is None:
                note = f'not evaluated: {note}'
        else:
            overrides = dict(max_per_img=test_n) if ours == 'shared' else ours
            rpn_cfg = dict(base_rpn, **overrides)
            key = json.dumps(rpn_cfg, sort_keys=True)
            if key not in cache:
                print(f'== {test_m}, {test_n} proposals: test_cfg.rpn overrides {overrides}', flush=True)
                cache[key] = evaluate_map(runner, rpn_cfg)
            value = cache[key]
            note = ('' if ours == 'shared' else 'our detector: trained on shared RPN proposals (paper: on SS)')
        rows.append([train_m, train_n, test_m, test_n, fmt(paper), fmt(value) if value is not None else '—',
                     note])
        record.append(dict(train=train_m, test=test_m, proposals=test_n, paper_map=paper, our_map=value,
                           note=note, rpn_overrides=ours if isinstance(ours, dict) else None))
    header = ['train-time proposals', '# boxes', 'test-time proposals', '# proposals',
              'mAP (%) paper (ZF, VOC07)', 'mAP (%) ours', 'note']
    text = '\n'.join([
        f'Table 2 (paper: Fast R-CNN with ZF, VOC07 trainval -> test). Ours: {args.config}, {args.checkpoint}',
        describe_data(cfg, len(runner.test_dataloader.dataset)),
        markdown(header, rows)])
    print(text)
    write_outputs(work_dir, 'table2', text, record)
    return dict(rows=record, text=text)


# ----------------------------------------------------------------------------- Fig. 4 recall
def gt_boxes(data_info: dict) -> np.ndarray:
    """The gt boxes (N, 4) of an image's data info that recall counts: all but difficult ones."""
    boxes = [inst['bbox'] for inst in data_info['instances'] if not inst.get('ignore_flag', 0)]
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


@torch.no_grad()
def collect_proposals(runner, rpn_cfg: dict):
    """(gt boxes, proposals) per test image, in original-image pixels; gt without difficult ones."""
    model = runner.model
    model.eval()
    dataloader = runner.test_dataloader
    dataset = dataloader.dataset
    gt_of = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        gt_of[info['img_path']] = gt_boxes(info)
    gts, proposals = [], []
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        for sample, props in zip(data['data_samples'],
                                 model.propose(data['inputs'], data['data_samples'], cfg=rpn_cfg)):
            gts.append(gt_of[sample.img_path])
            proposals.append(props.bboxes.cpu().numpy())  # rank order (no scores: keep it)
    return gts, proposals


def recall_curves(gts, proposals, proposal_nums, iou_thrs) -> np.ndarray:
    """Recall [len(proposal_nums), len(iou_thrs)] over all gt boxes, from mmdet's eval_recalls
    (one-to-one matching of gt boxes and the top-N proposals, py-faster-rcnn's +1 areas) run per
    image and weighted by each image's gt count."""
    from mmdet.evaluation.functional import eval_recalls
    total = sum(len(g) for g in gts)
    if total == 0:
        raise UserInputError('the test split has no (non-difficult) gt boxes: recall is undefined')
    recalls = np.zeros((len(proposal_nums), len(iou_thrs)))
    for gt, props in zip(gts, proposals):
        if len(gt) == 0:
            continue
        if len(props) == 0:
            continue  # nothing recalled
        image = eval_recalls([gt], [props], list(proposal_nums), list(iou_thrs), logger='silent',
                             use_legacy_coordinate=True)
        recalls += image * len(gt)
    return recalls / total


def recall(args) -> dict:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cfg = load_config(args.config, args.cfg_options)
    out_dir = args.out_dir or osp.join('work_dirs', 'paper_tables', 'recall')
    proposal_nums = sorted(args.proposal_nums)
    iou_thrs = np.round(np.arange(0.5, 1.0 + 1e-9, 0.05), 2)
    # One RPN pass with the largest N: greedy NMS keeps boxes in rank order, so the top 300 of
    # 2000 kept boxes are the 300 that max_per_img=300 would give.
    rpn_cfg = dict(cfg.model.test_cfg.rpn, max_per_img=max(proposal_nums))
    runner = build_test_runner(cfg, args.checkpoint, out_dir)
    gts, proposals = collect_proposals(runner, rpn_cfg)
    curves = recall_curves(gts, proposals, proposal_nums, iou_thrs)
    os.makedirs(out_dir, exist_ok=True)
    header = ['IoU'] + [f'recall@{n}' for n in proposal_nums]
    rows = [[f'{t:.2f}'] + [f'{curves[i, j]:.4f}' for i in range(len(proposal_nums))]
            for j, t in enumerate(iou_thrs)]
    with open(osp.join(out_dir, 'recall.csv'), 'w') as f:
        f.write(','.join(header) + '\n' + '\n'.join(','.join(r) for r in rows) + '\n')
    backbone = BACKBONES.get(cfg.model.backbone.type, cfg.model.backbone.type)
    fig, axes = plt.subplots(1, len(proposal_nums), figsize=(4 * len(proposal_nums), 3.6), sharey=True)
    for ax, n, curve in zip(np.atleast_1d(axes), proposal_nums, curves):
        ax.plot(iou_thrs, curve, 'r-', label=f'RPN {backbone} (ours)')
        ax.set_title(f'{n} proposals')
        ax.set_xlabel('IoU')
        ax.set_xlim(0.5, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.grid(alpha=0.3)
        ax.legend(loc='upper right')
    np.atleast_1d(axes)[0].set_ylabel('Recall')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'recall.png'), dpi=100)
    plt.close(fig)
    text = '\n'.join([
        f'Fig. 4 (paper: recall vs IoU on VOC07 test; curves only, no numbers to print beside ours). '
        f'Ours: {args.config}, {args.checkpoint}',
        describe_data(cfg, len(gts)),
        f'{sum(len(g) for g in gts)} gt boxes (difficult ones excluded); test_cfg.rpn with '
        f'max_per_img={max(proposal_nums)}, top N of those',
        markdown(header, rows),
        f"written: {osp.join(out_dir, 'recall.csv')}, {osp.join(out_dir, 'recall.png')}"])
    print(text)
    write_outputs(out_dir, 'recall', text, dict(iou=iou_thrs.tolist(), proposal_nums=proposal_nums,
                                               recall=curves.tolist()))
    return dict(iou=iou_thrs, proposal_nums=proposal_nums, recall=curves, text=text)


# ----------------------------------------------------------------------------- Tables 8, 9
def row_config(table: str, row_set: str, suffix: str) -> str:
    return f'configs/paper_tables/{table}_{row_set}_{suffix}.py'


def final_checkpoint(work_dir: str):
    """The trained model of a row's work dir: the 4-step run's final model, else the last checkpoint."""
    from faster_rcnn_paper.engine.run_record import final_model
    final = final_model(work_dir)
    if osp.isfile(final):
        return final
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    return None


def train_command(config: str, work_dir: str, cfg_options=None) -> list:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), osp.join(REPO, config), '--work-dir', work_dir]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    return cmd


def check_init_weights(config: str) -> None:
    """A row config that starts from pre-trained weights must find them before training starts."""
    init = load_config(config).model.get('init_cfg') or {}
    checkpoint = init.get('checkpoint') if init.get('type') == 'Pretrained' else None
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise UserInputError(f'{config}: model.init_cfg.checkpoint {checkpoint} not found (the demo '
                             'rows need `make demo` first; VOC rows take ImageNet weights, see README)')


def train_row(config: str, work_dir: str, cfg_options=None) -> None:
    """Trains one row config with tools/train.py in a subprocess (its log in the work dir)."""
    check_init_weights(config)
    os.makedirs(work_dir, exist_ok=True)
    log_file = osp.join(work_dir, 'paper_table_train.log')
    print(f'== training {config} -> {work_dir} (log: {log_file})', flush=True)
    with open(log_file, 'w') as log:
        proc = subprocess.run(train_command(config, work_dir, cfg_options), stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f'training {config} failed (exit {proc.returncode}); see {log_file}')


def evaluate_rows(table: str, rows, args) -> list:
    """mAP (%) of every row (None if it has no model), training the missing ones with --train."""
    results, data_line = [], None
    for suffix in rows:
        config = row_config(table, args.set, suffix)
        work_dir = osp.join(args.work_dirs, osp.splitext(osp.basename(config))[0])
        checkpoint = final_checkpoint(work_dir)
        if checkpoint is None and args.train:
            train_row(config, work_dir, args.train_cfg_options)
            checkpoint = final_checkpoint(work_dir)
        if checkpoint is None:
            results.append(dict(row=suffix, config=config, work_dir=work_dir, mAP=None))
            continue
        cfg = load_config(config, args.cfg_options)
        runner = build_test_runner(cfg, checkpoint, osp.join(work_dir, 'paper_table_test'))
        print(f'== evaluating {config}: {checkpoint}', flush=True)
        value = evaluate_map(runner)
        data_line = data_line or describe_data(cfg, len(runner.test_dataloader.dataset))
        results.append(dict(row=suffix, config=config, work_dir=work_dir, checkpoint=checkpoint, mAP=value))
    for r in results:
        r['status'] = fmt(r['mAP']) if r['mAP'] is not None else 'not trained'
    return results, data_line


def check_rows(requested, table_rows):
    known = [row[0] for row in table_rows]
    rows = requested or known
    unknown = [r for r in rows if r not in known]
    if unknown:
        raise UserInputError(f'unknown row(s) {unknown}; rows: {known}')
    return rows


def set_note(row_set: str) -> str:
    return {'vgg16': 'ours: VGG-16 (the paper\'s network for this table)',
            'zf': 'ours: ZF (the paper ran this table with VGG-16 only)',
            'toy': 'ours: the demo set-up (ZF, 4-step at the demo budget; anchors halved with the '
                   'images, 64² stands for 128²)'}[row_set]


def table8(args) -> dict:
    rows = check_rows(args.rows, TABLE8)
    results, data_line = evaluate_rows('table8', rows, args)
    by_row = {r['row']: r for r in results}
    body = [[s, scales, ratios, fmt(paper), by_row[suffix]['status'], by_row[suffix]['config']]
            for suffix, s, scales, ratios, paper in TABLE8 if suffix in by_row]
    header = ['settings', 'anchor scales', 'aspect ratios', 'mAP (%) paper (VGG-16, VOC07)', 'mAP (%) ours',
              'config']
    return _finish('table8', 'Table 8 (anchor settings)', args, header, body, results, data_line)


def table9(args) -> dict:
    rows = check_rows(args.rows, TABLE9)
    results, data_line = evaluate_rows('table9', rows, args)
    by_row = {r['row']: r for r in results}
    shown = [(lam, paper, by_row[suffix]) for suffix, lam, paper in TABLE9 if suffix in by_row]
    header = ['λ'] + [lam for lam, _, _ in shown]
    body = [['mAP (%) paper (VGG-16, VOC07)'] + [fmt(p) for _, p, _ in shown],
            ['mAP (%) ours'] + [r['status'] for _, _, r in shown]]
    text_rows = body + [['config'] + [osp.basename(r['config']) for _, _, r in shown]]
    return _finish('table9', 'Table 9 (λ of eq. (1))', args, header, text_rows, results, data_line)


def _finish(name, title, args, header, body, results, data_line) -> dict:
    missing = [r for r in results if r['mAP'] is None]
    lines = [f'{title}; {set_note(args.set)}; work dirs under {args.work_dirs}',
             data_line or 'data: no row has a trained model yet, nothing was evaluated',
             markdown(header, body)]
    if missing:
        lines.append('not trained: ' + ', '.join(r['config'] for r in missing) +
                     f' (add --train, or train them into {args.work_dirs}/<config name>)')
    text = '\n'.join(lines)
    print(text)
    write_outputs(args.out_dir or args.work_dirs, name, text, results)
    return dict(rows=results, text=text)


# ----------------------------------------------------------------------------- command line
def parse_args(argv=None):
    parser = tool_parser(__doc__)
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p):
        p.add_argument('--out-dir', help='where the table (.md, .json) and files go')
        p.add_argument('--cfg-options', nargs='+', action=DictAction,
                       help='overrides merged into the config(s) for evaluation, key=value')

    for name, doc in (('table2', 'Table 2: RPN test-time ablations of one trained model'),
                      ('recall', 'Fig. 4: proposal recall vs IoU at 300 / 1000 / 2000 proposals')):
        p = sub.add_parser(name, help=doc)
        p.add_argument('config')
        p.add_argument('checkpoint')
        common(p)
        if name == 'table2':
            p.add_argument('--stages-dir', help='work dir of the 4-step run (alternating/stages.json and '
                           'the iter_<end>.pth of steps 1 and 2) for the unshared row; default: the '
                           "checkpoint's folder")
        else:
            p.add_argument('--proposal-nums', type=int, nargs='+', default=[300, 1000, 2000])
    for name, rows in (('table8', TABLE8), ('table9', TABLE9)):
        p = sub.add_parser(name, help=f'Table {name[-1]}: train / evaluate the row configs')
        p.add_argument('--set', choices=ROW_SETS, default='vgg16',
                       help='row configs inheriting the VGG-16 or ZF VOC07 config, or the demo config')
        p.add_argument('--rows', nargs='+', help=f'subset of rows: {[r[0] for r in rows]}')
        p.add_argument('--work-dirs', default=osp.join('work_dirs', 'paper_tables'),
                       help='folder holding one work dir per row, named after the row config')
        p.add_argument('--train', action='store_true', help='train rows that have no model yet')
        p.add_argument('--train-cfg-options', nargs='+', metavar='KEY=VALUE',
                       help='passed to tools/train.py as --cfg-options (e.g. fewer iterations)')
        common(p)
    return parser.parse_args(argv)


COMMANDS = {'table2': table2, 'recall': recall, 'table8': table8, 'table9': table9}


def main(argv=None):
    args = parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == '__main__':
    sys.exit(run_tool(lambda argv: main(argv) and 0))
