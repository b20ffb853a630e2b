"""`make demo`: the whole paper, offline, on 2 CPU cores — data, stand-in ImageNet pre-training,
4-step alternating training, evaluation, pictures and a loss curve.

    python tools/demo.py [--data-root data/toy] [--work-dir work_dirs/demo] [--fresh]

Steps (each skipped when its output already exists, so an interrupted demo continues):
1. generate the toy VOC-format dataset (tools/make_toy_voc.py);
2. stand-in ImageNet pre-training of ZF's convs and fc6/fc7 (tools/pretrain_toy_backbone.py,
   regions of toy images at the detector's scale; weights of the earlier crop stand-in are redone);
3. ``tools/train.py configs/faster_rcnn_zf_alternating_toyvoc.py`` (resumed if interrupted);
4. ``tools/test.py`` on the test split: VOC07 11-point mAP@0.5 per class and overall;
5. detections drawn on test images (tools/infer.py) and the loss curve (tools/plot_losses.py).
Prints a summary and writes it to <work-dir>/demo_summary.json.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'faster_rcnn_zf_alternating_toyvoc.py')
sys.path.insert(0, osp.join(REPO, 'tools'))


def banner(text):
    print(f'\n{"=" * 100}\n{text}\n{"=" * 100}', flush=True)


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True, env=dict(os.environ, PYTHONPATH=REPO))


def per_class_ap(config, results_file):
    """VOC07 11-point AP@0.5 per class, computed as the configs' PaperVOCMetric does
    (py-faster-rcnn's voc_eval)."""
    import pickle

    import numpy as np
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import faster_rcnn_paper  # noqa: F401
    from faster_rcnn_paper.evaluation import voc_eval_per_class
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.pipeline = []
    dataset = DATASETS.build(dataset_cfg)
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


def stand_in_kind(weights):
    """'regions' for the demo's stand-in weights, 'crops' for the first stand-in, None if missing."""
    if not osp.isfile(weights):
        return None
    import torch
    meta = torch.load(weights, map_location='cpu', weights_only=True).get('meta', {})
    return meta.get('stand_in', 'crops')


def target_report(mean_ap: float, minutes: float, target_map: float, target_minutes: float) -> list:
    """One line per target of the demo (issue: mAP@0.5 >= 0.85 within 15 minutes after install)."""
    return [f"target mAP >= {target_map:.2f}: {'met' if mean_ap >= target_map else 'NOT met'} ({mean_ap:.3f})",
            f"target time <= {target_minutes:g} min: {'met' if minutes <= target_minutes else 'NOT met'} "
            f'({minutes:.1f} min)']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/toy')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--num-trainval', type=int, default=200)
    parser.add_argument('--num-test', type=int, default=100)
    parser.add_argument('--pretrain-iters', type=int, default=200)
    parser.add_argument('--pictures', type=int, default=8, help='test images to draw detections on')
    parser.add_argument('--score-thr', type=float, default=0.3, help='score threshold of the pictures')
    parser.add_argument('--fresh', action='store_true', help='delete the data and work dir first')
    parser.add_argument('--target-map', type=float, default=0.85, help='mAP the summary checks against')
    parser.add_argument('--target-minutes', type=float, default=15.0, help='time the summary checks against')
    args = parser.parse_args(argv)
    data_root, work_dir = osp.join(REPO, args.data_root), osp.join(REPO, args.work_dir)
    if args.fresh:
        for path in (data_root, work_dir):
            shutil.rmtree(path, ignore_errors=True)
    times = {}
    start = time.time()

    banner('1/5  Toy VOC-format dataset (5 shape classes)')
    t = time.time()
    test_list = osp.join(data_root, 'VOCdevkit', 'VOC2007', 'ImageSets', 'Main', 'test.txt')
    if osp.isfile(test_list):
        print(f'{data_root}: already generated')
    else:
        run([sys.executable, 'tools/make_toy_voc.py', '--out', args.data_root, '--num-trainval',
             str(args.num_trainval), '--num-test', str(args.num_test)])
    times['data'] = time.time() - t

    banner('2/5  Stand-in ImageNet pre-training of ZF convs + fc6/fc7 (generated image regions)')
    t = time.time()
    weights = osp.join(data_root, 'stand_in_imagenet_zf.pth')
    if stand_in_kind(weights) == 'regions':
        print(f'{weights}: already trained')
    else:  # missing, or the first (crop) stand-in of an earlier demo: retrain
        run([sys.executable, 'tools/pretrain_toy_backbone.py', CONFIG, weights, '--mode', 'regions',
             '--iters', str(args.pretrain_iters)])
    times['pretrain'] = time.time() - t

    banner('3/5  Faster R-CNN, 4-step alternating training (tools/train.py)')
    t = time.time()
    final = osp.join(work_dir, 'faster_rcnn_final.pth')
    if osp.isfile(final):
        print(f'{final}: already trained')
    else:
        cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', args.work_dir]
        if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
            cmd.append('--resume')
        run(cmd)
    times['train'] = time.time() - t

    banner('4/5  Evaluation on the test split (tools/test.py): VOC07 11-point mAP@0.5')
    t = time.time()
    results = osp.join(work_dir, 'test', 'results.pkl')
    run([sys.executable, 'tools/test.py', CONFIG, final, '--work-dir', osp.join(args.work_dir, 'test'),
         '--out', results])
    mean_ap, class_ap = per_class_ap(CONFIG, results)
    times['test'] = time.time() - t

    banner('5/5  Pictures of detections and the loss curve')
    t = time.time()
    from infer import detect
    from plot_losses import plot
    with open(test_list) as f:
        ids = [line.strip() for line in f if line.strip()][:args.pictures]
    images = [osp.join(data_root, 'VOCdevkit', 'VOC2007', 'JPEGImages', f'{i}.jpg') for i in ids]
    pictures = osp.join(work_dir, 'pictures')
    detect(CONFIG, final, images, pictures, score_thr=args.score_thr)
    curve = plot(work_dir, osp.join(work_dir, 'loss_curve.png'))
    times['pictures'] = time.time() - t
    total = time.time() - start

    banner('Demo summary')
    print(f"{'class':<10} AP@0.5 (VOC07 11-point)")
    for name, ap in class_ap.items():
        print(f'{name:<10} {ap:.3f}')
    print(f"{'mAP':<10} {mean_ap:.3f}")
    print('time: ' + ', '.join(f'{k} {v / 60:.1f} min' for k, v in times.items()) +
          f'; total {total / 60:.1f} min')
    print(f'pictures: {pictures}/*.png   loss curve: {curve}   model: {final}')
    targets = target_report(mean_ap, total / 60, args.target_map, args.target_minutes)
    print('\n'.join(targets))
    summary = dict(mAP=round(mean_ap, 4), AP={k: round(v, 4) for k, v in class_ap.items()},
                   seconds={k: round(v, 1) for k, v in times.items()}, total_seconds=round(total, 1),
                   pictures=sorted(glob.glob(osp.join(pictures, '*.png'))), loss_curve=curve,
                   targets=targets)
    with open(osp.join(work_dir, 'demo_summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary


if __name__ == '__main__':
    main()
