"""`make demo`: the whole paper, offline, on 2 CPU cores — data, stand-in ImageNet pre-training,
4-step alternating training, evaluation of each step, pictures and a loss curve.

    python tools/demo/demo.py [--data-root data/toy] [--work-dir work_dirs/demo] [--seed 0] [--fresh]

One Python process runs every phase: each is its tool's ``main(argv)``, called in this process (torch,
mmdet and mmcv are imported once) and printed first as the command line that runs it by hand from the
repository root (``$ python tools/train.py ...``). Each phase starts without MMEngine's global
instances (default scope, message hub, loggers, visualizers), as in a process of its own, and those
it made end with it: the test phase's runner does not write through the training one's; every
phase seeds as its tool does.

``--seed`` fixes every phase (data, stand-in, training, evaluation): two fresh runs with one seed on
one machine and thread count print the same recalls, mAP and per-class AP.

Phases (the first three skipped when their output already exists, so an interrupted demo continues):
1. generate the toy VOC-format dataset (tools/demo/make_toy_voc.py);
2. stand-in ImageNet pre-training of ZF's convs and fc6/fc7 (tools/demo/pretrain_toy_backbone.py,
   regions of toy images at the detector's scale);
3. ``tools/train.py configs/faster_rcnn_zf_alternating_toyvoc.py`` (resumed if interrupted);
4. ``tools/test.py`` on the test split: VOC07 11-point mAP@0.5 per class and overall (step 4's
   result: the final model, shared convs);
5. what each step of the 4-step training (§3.2) contributed, on the test split, with its seconds per
   iteration (from the run's JSON log, ``utils/training_log.py``): after the RPN steps 1 and 3 the
   recall of the top 300 proposals at IoU 0.5 (Fig. 4's measure, ``tools/paper/paper_table.py``'s
   ``recall_curves``): step 1's from the val-set proposals its RPN wrote for step 2's evaluation
   (the demo config's val split is its test split), step 3's (and step 1's without that file) from
   ``paper_table.py recall`` on the step's end checkpoint ``iter_<end>.pth``, whose RPN and convs
   are that step's; after step 2 the mAP of its detector on step-1 proposals (the paper's "unshared"
   detector), which AlternatingTrainingHook measures at the end of step 2 when the config sets
   ``evaluate=True`` for it, and which the later checkpoints keep in their message hub
   (``alternating_metrics/<step>``);
6. a 3 x 3 grid of test images with their detections (tools/misc/infer.py, then
   tools/demo/detection_grid.py: a display-only class-agnostic NMS, legible labels) and the loss curve with the four
   steps shaded (tools/analysis_tools/plot_losses.py).
Prints a summary and writes it to <work-dir>/demo_summary.json.
"""
import gc
import glob
import json
import os
import os.path as osp
import shutil
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'faster_rcnn_zf_alternating_toyvoc.py')
# What the summary measures after the RPN steps: recall of the top-N proposals at this IoU (the
# paper's Table 2 runs the detector on 300 proposals; Fig. 4 plots recall against IoU).
RECALL_PROPOSALS, RECALL_IOU = 300, 0.5
MAP_NAME = 'mAP (VOC07 11-point)'
# The stand-in pre-training's seed is the data seed plus this: its images are never the demo's own
# (for the default seed 0 it is pretrain_toy_backbone.py's default, 7).
STAND_IN_SEED_OFFSET = 7


def banner(text):
    print(f'\n{"=" * 100}\n{text}\n{"=" * 100}', flush=True)


def tool(script: str):
    """The module of the tool ``script`` (its path in the repository, e.g. ``tools/train.py``)."""
    from faster_rcnn_paper.utils.tool_scripts import load_tool_script
    return load_tool_script(osp.join(REPO, script))


def command_line(script: str, argv: list) -> str:
    """The command that runs ``script`` with ``argv`` by hand from the repository root."""
    return ' '.join(['python', script] + [arg.replace(REPO + os.sep, '') for arg in argv])


def run(script: str, argv: list):
    """Runs the tool ``script``'s ``main(argv)`` in this process, printed first as its command line,
    and returns what it returns: without MMEngine's global instances from before, which are back
    afterwards, and those it made (its runner's) gone; an error the user caused names the tool."""
    from faster_rcnn_paper.utils.mmengine_private import fresh_global_instances
    from faster_rcnn_paper.utils.user_input_error import UserInputError
    print('$ ' + command_line(script, argv), flush=True)
    main = tool(script).main
    try:
        with fresh_global_instances():
            return main(argv)
    except UserInputError as error:
        raise type(error)(f'{script}: {error}') from error
    finally:
        gc.collect()  # the phase's model, data loaders and worker processes


def run_once(output, script, argv) -> bool:
    """Runs ``script`` unless its ``output`` exists already (so that an interrupted demo continues);
    returns whether it ran."""
    if osp.isfile(output):
        print(f'{output}: already there')
        return False
    run(script, argv)
    return True


def voc_root(data_root: str) -> str:
    """The ``data_root`` of the demo config's datasets for toy data written under ``data_root``."""
    return osp.join(data_root, 'VOCdevkit') + '/'


def data_root_options(data_root: str, seed: int) -> list:
    """``--cfg-options`` that point CONFIG (written for ``data/toy/``) at the toy dataset under
    ``data_root`` and seed the run with the demo's ``seed`` (MMEngine's ``randomness``): every tool
    the demo runs on CONFIG gets them (training also the stand-in weights made there), so that
    ``--data-root`` changes what is trained and tested, not only where the data is written, and one
    ``--seed`` fixes every phase."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return [f'{loader}.dataset.data_root={voc_root(data_root)}' for loader in loaders] + [f'randomness.seed={seed}']


def eval_dataset(config: str, data_root: str, **updates):
    """The test split of ``config`` under ``data_root``, annotations only (no pipeline), with
    ``updates`` to its dataset config (e.g. ``indices``, ``proposal_file``)."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    import faster_rcnn_paper  # noqa: F401
    from faster_rcnn_paper.engine.proposal_store import leaf_datasets
    from faster_rcnn_paper.utils.tool_config import read_config
    init_default_scope('mmdet')
    dataset = read_config(config).test_dataloader.dataset
    return DATASETS.build(leaf_datasets(dataset, data_root=voc_root(data_root), pipeline=[], **updates))


def per_class_ap(config, results_file, data_root):
    """VOC07 11-point AP@0.5 per class on the test split under ``data_root``, computed as the
    configs' PaperVOCMetric does (py-faster-rcnn's voc_eval)."""
    import pickle

    import numpy as np

    from faster_rcnn_paper.evaluation import voc_eval_per_class
    dataset = eval_dataset(config, data_root)
    classes = dataset.metainfo['classes']
    with open(results_file, 'rb') as f:
        results = {r['img_path']: r['pred_instances'] for r in pickle.load(f)}
    per_image = []
    for info in (dataset.get_data_info(i) for i in range(len(dataset))):
        inst = info['instances']
        keep = [not i['ignore_flag'] for i in inst]
        boxes = np.array([i['bbox'] for i in inst], dtype=np.float32).reshape(-1, 4)
        labels = np.array([i['bbox_label'] for i in inst], dtype=np.int64)
        keep = np.array(keep, dtype=bool)
        annotation = dict(bboxes=boxes[keep], labels=labels[keep],
                          bboxes_ignore=boxes[~keep], labels_ignore=labels[~keep])
        pred = results[info['img_path']]
        dets = []
        for label in range(len(classes)):
            sel = pred['labels'].numpy() == label
            dets.append(np.hstack([pred['bboxes'].numpy()[sel], pred['scores'].numpy()[sel, None]]))
        per_image.append((annotation, dets))
    aps = voc_eval_per_class(per_image, len(classes), iou_thr=0.5, use_07_metric=True)
    return float(np.mean(aps)), {name: float(ap) for name, ap in zip(classes, aps)}


def recorded_info(work_dir: str, stages: list):
    """The runtime info of the message hub in the run's last checkpoint, where AlternatingTrainingHook
    records each stage's val-set metrics and the weights its proposal files came from (every
    checkpoint after a stage keeps them); (info, None) or (None, why not)."""
    from faster_rcnn_paper.engine.run_record import stage_checkpoint
    from faster_rcnn_paper.utils.strict_loading import read_checkpoint
    last = stage_checkpoint(work_dir, stages[-1])
    if not osp.isfile(last):
        return None, f'{last} not found'
    return (read_checkpoint(last).get('message_hub') or {}).get('runtime_info') or {}, None


def map_of(metrics: dict) -> float:
    from faster_rcnn_paper.utils.user_input_error import UserInputError
    keys = [k for k in metrics if k.split('/')[-1] == 'mAP']
    if not keys:
        raise UserInputError(f'no mAP among the metrics {sorted(metrics)}')
    return float(metrics[keys[0]])


def val_proposals(cfg, work_dir: str, stage: dict, info):
    """The val-set proposal file AlternatingTrainingHook wrote at the end of the RPN step ``stage``
    (for a Fast R-CNN step evaluated on its proposals) if it can stand for the step's RPN on the test
    split, else None: made by the weights the run recorded for the step (``info``, the last
    checkpoint's), holding the top RECALL_PROPOSALS boxes per image or more (the model's
    ``test_cfg.rpn``, which paper_table.py recall runs too), and the val split is the test split."""
    from faster_rcnn_paper.datasets.proposal_file import read_proposal_meta
    from faster_rcnn_paper.engine.run_record import PROPOSALS_KEY, proposal_file
    path = proposal_file(work_dir, stage['name'], 'val')
    weights = ((info or {}).get(PROPOSALS_KEY) or {}).get(stage['name'])
    if (weights is None or not osp.isfile(path) or cfg.val_dataloader.dataset != cfg.test_dataloader.dataset
            or cfg.model.test_cfg.rpn.max_per_img < RECALL_PROPOSALS):
        return None
    meta = read_proposal_meta(path)
    return path if (meta.get('stage'), meta.get('weights')) == (stage['name'], weights) else None


def file_recall(config: str, path: str, num_images: int, data_root: str) -> float:
    """Recall of the top RECALL_PROPOSALS proposals at IoU RECALL_IOU in the val-set proposal file
    ``path`` on the first ``num_images`` images of the test split (= the val split): the boxes read as
    the Fast R-CNN step reads them (``OfflineProposalsMixin``: every image there, boxes checked),
    measured as tools/paper/paper_table.py recall measures a checkpoint's (its gt boxes and
    ``recall_curves``), without running the RPN again."""
    table = tool('tools/paper/paper_table.py')
    dataset = eval_dataset(config, data_root, indices=num_images, proposal_file=osp.abspath(path))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    curves = table.recall_curves([table.gt_boxes(info) for info in infos],
                                 [info['proposals']['bboxes'] for info in infos], [RECALL_PROPOSALS], [RECALL_IOU])
    return float(curves[0, 0])


def rpn_recall(config: str, checkpoint: str, out_dir: str, num_images: int, data_root: str, seed: int) -> float:
    """Recall of the top RECALL_PROPOSALS proposals at IoU RECALL_IOU of ``checkpoint``'s RPN on the
    first ``num_images`` images of the test split (tools/paper/paper_table.py recall, which also writes
    its Fig. 4 table and plot into ``out_dir``)."""
    result = run('tools/paper/paper_table.py', [
        'recall', config, checkpoint, '--proposal-nums', str(RECALL_PROPOSALS), '--out-dir', out_dir,
        '--cfg-options', f'test_dataloader.dataset.indices={num_images}', *data_root_options(data_root, seed)])
    column = [round(float(t), 2) for t in result['iou']].index(RECALL_IOU)
    return float(result['recall'][list(result['proposal_nums']).index(RECALL_PROPOSALS)][column])


def rpn_step_recall(cfg, config: str, work_dir: str, stage: dict, info, num_images: int, out_dir: str,
                    data_root: str, seed: int) -> dict:
    """The recall entry of an RPN step: from its val-set proposal file if it has one (step 1 when
    step 2 is evaluated), else from the RPN of its end checkpoint."""
    from faster_rcnn_paper.engine.run_record import stage_checkpoint
    path = val_proposals(cfg, work_dir, stage, info)
    if path is not None:
        return dict(value=round(file_recall(config, path, num_images, data_root), 4), source=path,
                    proposals='the val-set proposals its RPN wrote in training (val split = test split)')
    checkpoint = stage_checkpoint(work_dir, stage)
    entry = dict(source=checkpoint, proposals='the RPN of its end checkpoint')
    if osp.isfile(checkpoint):
        entry['value'] = round(rpn_recall(config, checkpoint, osp.join(out_dir, stage['name']), num_images,
                                          data_root, seed), 4)
    else:
        entry['note'] = (f'{checkpoint} not found (removed by max_keep_ckpts when the step ends on a checkpoint '
                         'interval?)')
    return entry


def step_report(config: str, work_dir: str, final_map: float, recall_images: int, out_dir: str,
                data_root: str, seed: int) -> list:
    """One entry per step of the run in ``work_dir`` (its ``alternating/stages.json``): iterations,
    seconds per iteration (from its JSON log) and what the step contributed — proposal recall after
    an RPN step, mAP after a Fast R-CNN step (the last one's is ``final_map``, tools/test.py's)."""
    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg, parse_stages
    from faster_rcnn_paper.engine.run_record import metrics_key, read_timeline, timeline_file
    from faster_rcnn_paper.utils.tool_config import read_config
    from faster_rcnn_paper.utils.training_log import read_scalars, seconds_per_iteration
    from faster_rcnn_paper.utils.user_input_error import UserInputError
    stages = read_timeline(work_dir)
    if not stages:
        raise UserInputError(f'{timeline_file(work_dir)} not found: not a 4-step training run')
    cfg = read_config(config)
    window = cfg.log_processor.get('window_size', 10)  # 10: mmengine's default
    hook = alternating_hook_cfg(cfg)
    specs = {spec.name: spec for spec in parse_stages(hook.stages)} if hook is not None else {}
    speeds = seconds_per_iteration(read_scalars(work_dir), stages, window)
    info, no_info = recorded_info(work_dir, stages)
    steps = []
    for k, stage in enumerate(stages, start=1):
        speed = speeds[stage['name']]
        entry = dict(step=k, name=stage['name'], mode=stage['mode'], iterations=[stage['begin'], stage['end']],
                     seconds_per_iteration=None if speed is None else round(speed, 3), value=None)
        if stage['mode'] == 'rpn':
            entry.update(metric=f'proposal recall (IoU {RECALL_IOU:g}, top {RECALL_PROPOSALS})',
                         **rpn_step_recall(cfg, config, work_dir, stage, info, recall_images, out_dir, data_root, seed))
        elif k == len(stages):
            entry.update(metric=MAP_NAME, value=round(final_map, 4), source='the final model, tools/test.py')
        else:
            spec = specs.get(stage['name'])
            proposals = spec.proposals if spec is not None else None
            split = 'val split = test split' if cfg.val_dataloader.dataset == cfg.test_dataloader.dataset \
                else 'val split, NOT the test split'
            entry.update(metric=MAP_NAME, source=f"this step's detector on the proposals of "
                         f"{proposals or 'its RPN step'}, {split} (AlternatingTrainingHook, evaluate=True)")
            metrics = None if info is None else info.get(metrics_key(stage['name']))
            if metrics is not None:
                entry['value'] = round(map_of(metrics), 4)
            else:
                entry['note'] = no_info or ('not evaluated during training (the config sets evaluate=False for '
                                            f"{stage['name']})")
        steps.append(entry)
    return steps


def format_steps(steps: list) -> list:
    """The summary's table of the steps: one line each."""
    lines = [f"{'step':<5}{'name':<18}{'iterations':<12}{'s/iter':>7}  contribution"]
    for s in steps:
        speed = 'n/a' if s['seconds_per_iteration'] is None else f"{s['seconds_per_iteration']:.2f}"
        value = f"{s['value']:.3f}" if s['value'] is not None else f"n/a: {s['note']}"
        lines.append(f"{s['step']:<5}{s['name']:<18}{'%d-%d' % tuple(s['iterations']):<12}{speed:>7}  "
                     f"{s['metric']} {value}")
    return lines


def phase_time(seconds: float, work=None) -> str:
    """A phase's minutes and, for ``work`` = ``(count, unit)`` (e.g. ``(300, 'iterations')``), its
    seconds per unit: what a reader on another machine scales by."""
    text = f'{seconds / 60:.1f} min'
    return text if not work else f'{text} ({work[0]} {work[1]}, {seconds / work[0]:.2f} s each)'


def summary_lines(steps: list, class_ap: dict, mean_ap: float, times: dict, total: float,
                  recall_images: int, work=None) -> list:
    """The demo summary: each step's contribution and speed, the final AP per class, the time per
    phase (with its seconds per unit for the phases in ``work``: ``{phase: (count, unit)}``)."""
    lines = ['4-step alternating training (paper §3.2), what each step gave:']
    lines += format_steps(steps)
    recall = ', '.join(f"step {s['step']}: {s['proposals']}" for s in steps if 'proposals' in s)
    lines += [f'(recall on {recall_images} test images, {recall}; step 2: its detector on step-1 proposals, the '
              'paper\'s "unshared" model; step 4: the final model)', '',
              f"{'class':<10} AP@0.5 (VOC07 11-point), final model"]
    lines += [f'{name:<10} {ap:.3f}' for name, ap in class_ap.items()]
    lines += [f"{'mAP':<10} {mean_ap:.3f}",
              'time: ' + ', '.join(f'{k} {phase_time(v, (work or {}).get(k))}' for k, v in times.items())
              + f'; total {total / 60:.1f} min']
    return lines


def target_report(mean_ap: float, minutes: float, target_map: float, target_minutes: float) -> list:
    """One line per target of the demo (issue: mAP@0.5 >= 0.85 within 15 minutes after install)."""
    return [f"target mAP >= {target_map:.2f}: {'met' if mean_ap >= target_map else 'NOT met'} ({mean_ap:.3f})",
            f"target time <= {target_minutes:g} min: {'met' if minutes <= target_minutes else 'NOT met'} "
            f'({minutes:.1f} min)']


def toy_image_size_args(config: str) -> list:
    """make_toy_voc.py arguments that draw the images at the scale ``config`` shows them: the
    shorter side its ``img_scale``'s shorter one, the longer side up to its longer one."""
    from faster_rcnn_paper.utils.tool_config import read_config
    long_side, short_side = sorted(read_config(config).img_scale, reverse=True)
    return ['--short-side', str(short_side), '--max-size', str(long_side)]


def main(argv=None):
    from faster_rcnn_paper.demo.stand_in_pretraining import STAND_IN_ITERS
    from faster_rcnn_paper.utils.tool_errors import tool_parser
    parser = tool_parser(__doc__)
    parser.add_argument('--data-root', default='data/toy')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--num-trainval', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0,
                        help="the toy data's seed (tools/demo/make_toy_voc.py); also seeds the stand-in "
                        f'pre-training (with seed + {STAND_IN_SEED_OFFSET}), the training and the evaluation')
    parser.add_argument('--num-test', type=int, default=100)
    parser.add_argument('--pretrain-iters', type=int, default=STAND_IN_ITERS)
    parser.add_argument('--pictures', type=int, default=9, help='test images in the picture grid (3 per row)')
    parser.add_argument('--score-thr', type=float, default=0.6,
                        help='score threshold of the pictures (display only; the mAP uses every detection)')
    parser.add_argument('--nms-iou', type=float, default=0.3,
                        help="the grid's class-agnostic NMS (display only; 0.3: the paper's test-time NMS)")
    parser.add_argument('--recall-images', type=int, default=100,
                        help='test images the proposal recall of steps 1 and 3 is measured on')
    parser.add_argument('--fresh', action='store_true', help='delete the data and work dir first')
    parser.add_argument('--target-map', type=float, default=0.85, help='mAP the summary checks against')
    parser.add_argument('--target-minutes', type=float, default=15.0, help='time the summary checks against')
    args = parser.parse_args(argv)
    from faster_rcnn_paper.engine.run_record import final_model
    from faster_rcnn_paper.utils.tool_config import read_config
    data_root, work_dir = osp.join(REPO, args.data_root), osp.join(REPO, args.work_dir)
    if args.fresh:
        for path in (data_root, work_dir):
            shutil.rmtree(path, ignore_errors=True)
    times, work = {}, {}  # work: the phases that ran whole here, {phase: (count, unit)}
    start = time.time()

    banner('1/6  Toy VOC-format dataset (5 shape classes)')
    t = time.time()
    test_list = osp.join(data_root, 'VOCdevkit', 'VOC2007', 'ImageSets', 'Main', 'test.txt')
    run_once(test_list, 'tools/demo/make_toy_voc.py', ['--out', data_root, '--num-trainval', str(args.num_trainval),
                                                       '--num-test', str(args.num_test), '--seed', str(args.seed),
                                                       *toy_image_size_args(CONFIG)])
    times['data'] = time.time() - t

    banner('2/6  Stand-in ImageNet pre-training of ZF convs + fc6/fc7 (generated image regions)')
    t = time.time()
    weights = osp.join(data_root, 'stand_in_imagenet_zf.pth')
    if run_once(weights, 'tools/demo/pretrain_toy_backbone.py', [CONFIG, weights, '--iters', str(args.pretrain_iters),
                                                                 '--seed', str(args.seed + STAND_IN_SEED_OFFSET)]):
        work['pretrain'] = (args.pretrain_iters, 'iterations')
    times['pretrain'] = time.time() - t

    banner('3/6  Faster R-CNN, 4-step alternating training (tools/train.py)')
    t = time.time()
    final = final_model(work_dir)
    resume = ['--resume'] if osp.isfile(osp.join(work_dir, 'last_checkpoint')) else []
    if run_once(final, 'tools/train.py', [CONFIG, '--work-dir', work_dir, *resume, '--cfg-options',
                                          *data_root_options(data_root, args.seed),
                                          f'model.init_cfg.checkpoint={weights}']) and not resume:
        work['train'] = (read_config(CONFIG).train_cfg.max_iters, 'iterations')
    times['train'] = time.time() - t

    banner('4/6  Evaluation on the test split (tools/test.py): VOC07 11-point mAP@0.5')
    t = time.time()
    results = osp.join(work_dir, 'test', 'results.pkl')
    run('tools/test.py', [CONFIG, final, '--work-dir', osp.join(work_dir, 'test'), '--out', results,
                          '--cfg-options', *data_root_options(data_root, args.seed)])
    mean_ap, class_ap = per_class_ap(CONFIG, results, data_root)
    times['test'] = time.time() - t
    with open(test_list) as f:
        test_ids = [line.strip() for line in f if line.strip()]
    work['test'] = (len(test_ids), 'images')

    banner(f'5/6  Each step on the test split: proposal recall after steps 1 and 3 (top {RECALL_PROPOSALS}, '
           f'IoU {RECALL_IOU:g}), mAP after steps 2 and 4, s/iteration')
    t = time.time()
    steps = step_report(CONFIG, work_dir, mean_ap, args.recall_images, osp.join(work_dir, 'steps'), data_root,
                        args.seed)
    times['steps'] = time.time() - t

    banner('6/6  Pictures of detections and the loss curve')
    t = time.time()
    images = [osp.join(data_root, 'VOCdevkit', 'VOC2007', 'JPEGImages', f'{i}.jpg') for i in test_ids[:args.pictures]]
    pictures = osp.join(work_dir, 'pictures')
    run('tools/misc/infer.py', [CONFIG, final, *images, '--out-dir', pictures, '--score-thr', str(args.score_thr)])
    grid = osp.join(work_dir, 'detections_grid.png')
    run('tools/demo/detection_grid.py', [osp.join(pictures, 'detections.json'), '--out', grid, '--score-thr',
                                         str(args.score_thr), '--nms-iou', str(args.nms_iou), '--max-images',
                                         str(args.pictures)])
    curve = osp.join(work_dir, 'loss_curve.png')
    run('tools/analysis_tools/plot_losses.py', [work_dir, '--out', curve])
    times['pictures'] = time.time() - t
    total = time.time() - start

    banner('Demo summary')
    targets = target_report(mean_ap, total / 60, args.target_map, args.target_minutes)
    print('\n'.join(summary_lines(steps, class_ap, mean_ap, times, total, args.recall_images, work) + [
        f'pictures: {grid}   loss curve: {curve}   model: {final}'] + targets))
    summary = dict(mAP=round(mean_ap, 4), AP={k: round(v, 4) for k, v in class_ap.items()}, steps=steps,
                   seconds={k: round(v, 1) for k, v in times.items()}, total_seconds=round(total, 1),
                   grid=grid, pictures=sorted(glob.glob(osp.join(pictures, '*.png'))), loss_curve=curve,
                   targets=targets)
    with open(osp.join(work_dir, 'demo_summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary


if __name__ == '__main__':
    from faster_rcnn_paper.utils.tool_errors import run_tool
    sys.exit(run_tool(main))
