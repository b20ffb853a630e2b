"""Check a dataset before a long training run: every annotation and every image.

    python tools/check_dataset.py CONFIG [--split train|val|test|all] [--min-side 16] [--max-aspect 8]

Builds the config's dataset(s) — ``PaperVOCDataset`` already rejects missing/malformed XML files and
missing images, and skips or clips bad boxes with a warning — then decodes every image the way
training will (``mmcv.imread``, colour) and reports, per file:

* unreadable or corrupt images (training would fail on them);
* images whose size differs from the annotation's ``<size>`` (boxes would be misplaced);
* images too small or too elongated for the model: after the config's ``Resize`` the shorter side
  must keep at least ``--min-side`` pixels (one stride-16 feature cell) and the aspect ratio must
  stay within ``--max-aspect`` (otherwise no anchor fits inside the image and training stops);
* images without any (non-difficult) object, which the training set filters out.

Exits with status 1 if any error was found (warnings alone give 0), so it can gate a training job.
"""
import argparse
import os.path as osp
import sys
from collections import defaultdict

import mmcv
from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401  (registers the dataset)
from mmdet.registry import DATASETS


def resize_scale(pipeline):
    for t in pipeline:
        if t.get('type') in ('Resize', 'PaperResize'):
            return t['scale']
        if 'transforms' in t:
            found = resize_scale(t['transforms'])
            if found:
                return found
    return None


def leaf_datasets(cfg):
    if 'datasets' in cfg:
        return [d for sub in cfg['datasets'] for d in leaf_datasets(sub)]
    if 'dataset' in cfg:
        return leaf_datasets(cfg['dataset'])
    return [cfg]


def check(dataset_cfg, min_side, max_aspect, report):
    scale = resize_scale(dataset_cfg.get('pipeline', []))
    dataset_cfg = dict(dataset_cfg, pipeline=[], test_mode=True)  # test_mode: no filtering
    dataset = DATASETS.build(dataset_cfg)
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        path = info['img_path']
        try:
            img = mmcv.imread(path, channel_order='bgr')
            problem = 'the decoder returned nothing' if img is None else None
        except Exception as e:  # noqa: BLE001 (any decoder failure is reported)
            img, problem = None, str(e)
        if img is None:
            report['error'].append(f'{path}: cannot be read as an image ({problem})')
            continue
        h, w = img.shape[:2]
        if (info.get('height'), info.get('width')) != (h, w):
            report['error'].append(f"{path}: image is {w}x{h} but the annotation says "
                                   f"{info.get('width')}x{info.get('height')}")
        if scale is not None:
            long_side, short_side = max(scale), min(scale)
            factor = min(long_side / max(h, w), short_side / min(h, w))
            if min(h, w) * factor < min_side:
                report['error'].append(f'{path}: {w}x{h} becomes {round(w * factor)}x{round(h * factor)} '
                                       f'after Resize{tuple(scale)}, under {min_side} px on a side')
        if max(h, w) / max(min(h, w), 1) > max_aspect:
            report['warning'].append(f'{path}: aspect ratio {max(h, w) / min(h, w):.1f} > {max_aspect}')
        usable = [i for i in info.get('instances', []) if not i.get('ignore_flag', 0)]
        if not usable:
            report['warning'].append(f'{path}: no object to train on (skipped by filter_empty_gt)')
    return len(dataset)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--split', default='all', choices=['train', 'val', 'test', 'all'])
    parser.add_argument('--min-side', type=int, default=16)
    parser.add_argument('--max-aspect', type=float, default=8.0)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    splits = ['train', 'val', 'test'] if args.split == 'all' else [args.split]
    report = defaultdict(list)
    total = 0
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        for dataset_cfg in leaf_datasets(loader['dataset']):
            try:
                total += check(dataset_cfg, args.min_side, args.max_aspect, report)
            except (FileNotFoundError, ValueError) as e:
                report['error'].append(f'{split}: {e}')
    for kind in ('error', 'warning'):
        for line in report[kind]:
            print(f'{kind.upper()}: {line}')
    print(f"checked {total} images: {len(report['error'])} error(s), {len(report['warning'])} warning(s)")
    return 1 if report['error'] else 0


if __name__ == '__main__':
    sys.exit(main())
