"""Check a dataset before a long training run: every annotation and every image, all problems in one
run, grouped by kind.

    python tools/misc/check_dataset.py CONFIG [--split train|val|test|all] [--min-side 16] [--max-aspect 8]
        [--cfg-options key=value ...] [--debug]

Reads every image id of the config's dataset(s) with ``PaperVOCDataset``'s own checks (a missing or
empty ImageSets list, missing or malformed XML files, missing images; bad boxes are skipped or
clipped with a warning in the log), without stopping at the first bad file, then decodes every image
the way training will (``mmcv.imread``, colour) and reports:

errors (training would fail or be wrong):
* files the dataset refuses (each with its reason);
* unreadable or corrupt images (empty, not an image, cut short);
* images whose decoded size differs from the annotation's ``<size>`` (boxes would be misplaced; e.g. a
  JPEG turned by its EXIF orientation tag while annotated unturned);
* training data in which no image has an object that trains;
* images whose shorter side falls under ``--min-side`` pixels after the config's ``Resize``;

(training refuses the first four before its first iteration too, naming the files:
``PaperVOCDataset``; it decodes only the images with an orientation tag or a header Pillow cannot
read, so an image whose header reads but whose pixels do not decode is found here only);

warnings (training runs, but the user should know):
* training images that leave no anchor inside their border after the ``Resize`` (the same test as
  the RPN's anchor targets, ``allowed_border`` of the config): the RPN ignores all their anchors, so
  they give no RPN loss (``PaperRPNHead``);
* images more elongated than ``--max-aspect``;
* images mirrored or turned by 180 degrees by their EXIF orientation tag (as training decodes them);
* training images without objects (dropped by ``filter_cfg.filter_empty_gt`` when it is on) and with
  only ``difficult`` objects (kept: they train as all-background images, their boxes ignored).

Exits with status 1 if any error was found (warnings alone give 0), so it can gate a training job.
"""
import math
import os.path as osp
import sys
from collections import defaultdict

import mmcv
import torch
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.registry import DATASETS, TASK_UTILS
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401  (registers the dataset)
from faster_rcnn_paper.datasets.decoded_image_size import (MIRRORING_ORIENTATIONS, ImageSizeMismatchError,
                                                            UnreadableImageError, decoded_image_size)
from faster_rcnn_paper.datasets.paper_voc_dataset import no_training_object_error
from faster_rcnn_paper.utils.tool_config import add_cfg_options_arg, apply_cfg_options, read_config
from faster_rcnn_paper.utils.tool_errors import one_line, run_tool, tool_parser
from faster_rcnn_paper.utils.user_input_error import UserInputError

#: (kind, severity) in the order they are printed
KINDS = [
    ('dataset list', 'error'), ('annotation or image file', 'error'), ('unreadable image', 'error'),
    ('size differs from the annotation', 'error'), ('too small after Resize', 'error'),
    ('no object in the training data', 'error'),
    ('no anchor inside the image', 'warning'), ('elongated image', 'warning'),
    ('mirrored or half-turned by EXIF', 'warning'),
    ('no objects', 'warning'), ('only difficult objects', 'warning'),
]


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


def resized_shape(height, width, scale):
    """(height, width) after mmcv's keep-ratio ``Resize`` to ``scale`` (mmcv.rescale_size)."""
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(height * factor + 0.5), int(width * factor + 0.5)


class AnchorCheck:
    """Whether any anchor of the config's RPN lies inside an image of a given (resized) shape, as
    the RPN's anchor targets decide it (``anchor_inside_flags`` with ``allowed_border``). The
    feature map is taken as ceil(size / stride) cells."""

    def __init__(self, model_cfg):
        rpn_head = model_cfg.get('rpn_head') or {}
        train_cfg = (model_cfg.get('train_cfg') or {}).get('rpn') or {}
        self.allowed_border = train_cfg.get('allowed_border', -1)
        self.generator = TASK_UTILS.build(rpn_head['anchor_generator']) if 'anchor_generator' in rpn_head else None
        self._cache = {}

    def any_inside(self, height, width):
        if self.generator is None or self.allowed_border < 0:
            return True
        key = (height, width)
        if key not in self._cache:
            stride = self.generator.strides[0]
            feat = (math.ceil(height / stride[1]), math.ceil(width / stride[0]))
            anchors = self.generator.grid_priors([feat], device='cpu')[0]
            valid = torch.ones(len(anchors), dtype=torch.bool)
            self._cache[key] = bool(anchor_inside_flags(anchors, valid, (height, width), self.allowed_border).any())
        return self._cache[key]


def check(dataset_cfg, split, anchors, args, report):
    """Check one dataset; problems go to ``report[kind]``; returns the number of images read."""
    scale = resize_scale(dataset_cfg.get('pipeline', []))
    training = split == 'train'
    filter_empty = bool((dataset_cfg.get('filter_cfg') or {}).get('filter_empty_gt', False)) and training
    loading = [t for t in dataset_cfg.get('pipeline', []) if t.get('type') == 'LoadImageFromFile'][:1]
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=loading, test_mode=True, lazy_init=True))
    if not hasattr(dataset, 'check_each_image'):  # another dataset type: its own loading, all or nothing
        dataset.full_init()
        infos = [(str(i), dataset.get_data_info(i)) for i in range(len(dataset))]
    else:
        infos = dataset.check_each_image()
    count = trainable = 0
    for img_id, info in infos:
        count += 1
        if isinstance(info, UserInputError):
            kind = ('unreadable image' if isinstance(info, UnreadableImageError) else 'size differs from the annotation'
                    if isinstance(info, ImageSizeMismatchError) else 'annotation or image file')
            report[kind].append(one_line(info))
            continue
        trainable += any(not inst.get('ignore_flag', 0) for inst in info.get('instances', []))
        check_image(info, scale, training, filter_empty, anchors, args, report)
    if training and count and not trainable:
        report['no object in the training data'].append(
            one_line(no_training_object_error(type(dataset).__name__, dataset.ann_file, count)))
    return count


def check_image(info, scale, training, filter_empty, anchors, args, report):
    path = info['img_path']
    try:
        img = mmcv.imread(path, channel_order='bgr')
        problem = 'the decoder returned nothing' if img is None else None
    except Exception as e:  # noqa: BLE001 (any decoder failure is reported)
        img, problem = None, str(e)
    if img is None:
        report['unreadable image'].append(f'{path}: cannot be read as an image ({problem})')
        return
    h, w = img.shape[:2]
    if (info.get('height'), info.get('width')) != (h, w):
        report['size differs from the annotation'].append(
            f"{path}: image is {w}x{h} but the annotation says {info.get('width')}x{info.get('height')}")
    if scale is not None:
        rh, rw = resized_shape(h, w, scale)
        if min(rh, rw) < args.min_side:
            report['too small after Resize'].append(
                f'{path}: {w}x{h} becomes {rw}x{rh} after Resize{tuple(scale)}, under {args.min_side} px on a side')
        elif training and not anchors.any_inside(rh, rw):
            report['no anchor inside the image'].append(
                f'{path}: {w}x{h} becomes {rw}x{rh} after Resize{tuple(scale)}; no anchor fits inside, '
                f'so the RPN ignores all its anchors (no RPN loss from it)')
    orientation = decoded_image_size(path)[2] if osp.isfile(path) else 1  # local files: as the dataset
    if orientation in MIRRORING_ORIENTATIONS:
        report['mirrored or half-turned by EXIF'].append(
            f'{path}: EXIF orientation {orientation} mirrors or turns it by 180 degrees as training decodes it; '
            'its boxes must be drawn on the image so shown')
    if max(h, w) / max(min(h, w), 1) > args.max_aspect:
        report['elongated image'].append(f'{path}: aspect ratio {max(h, w) / min(h, w):.1f} > {args.max_aspect}')
    if not training:
        return
    instances = info.get('instances', [])
    if not instances:
        report['no objects'].append(
            f'{path}: no object; ' + ('skipped in training (filter_cfg.filter_empty_gt)' if filter_empty
                                      else 'trains as an all-background image'))
    elif all(i.get('ignore_flag', 0) for i in instances):
        report['only difficult objects'].append(
            f'{path}: only difficult (or ignored) objects; trains as an all-background image, their boxes '
            f'ignored (kept by filter_empty_gt, which drops only images without objects)')


def main(argv=None) -> int:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('--split', default='all', choices=['train', 'val', 'test', 'all'])
    parser.add_argument('--min-side', type=int, default=16)
    parser.add_argument('--max-aspect', type=float, default=8.0)
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    cfg = read_config(args.config)
    apply_cfg_options(cfg, args)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    anchors = AnchorCheck(cfg.get('model', {}))
    splits = ['train', 'val', 'test'] if args.split == 'all' else [args.split]
    report = defaultdict(list)
    total = 0
    seen = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        for dataset_cfg in leaf_datasets(loader['dataset']):
            if split == 'test' and dataset_cfg in seen:
                continue  # test_dataloader = val_dataloader: checked once
            seen.append(dataset_cfg)
            try:
                total += check(dataset_cfg, split, anchors, args, report)
            except UserInputError as e:
                report['dataset list'].append(f'{split}: {one_line(e)}')
    counts = {'error': 0, 'warning': 0}
    for kind, severity in KINDS:
        lines = report.get(kind, [])
        if not lines:
            continue
        counts[severity] += len(lines)
        print(f'{severity.upper()}S: {kind} ({len(lines)})')
        for line in lines:
            print(f'  {severity.upper()}: {line}')
    print(f"checked {total} images: {counts['error']} error(s), {counts['warning']} warning(s)")
    return 1 if counts['error'] else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
