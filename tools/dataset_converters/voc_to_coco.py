"""Convert VOC-layout data (a VOCdevkit tree, any classes) into COCO-format json files.

    python tools/dataset_converters/voc_to_coco.py DEVKIT -o OUT_DIR [--classes NAME ...]

For each ``VOC<year>/ImageSets/Main/<split>.txt`` (year 2007 / 2012, split train / val / trainval /
test) found under DEVKIT, writes ``OUT_DIR/voc<yy>_<split>.json`` (MMDetection's
``tools/dataset_converters/pascal_voc.py`` names), for ``CocoDataset`` / ``PaperCocoDataset`` with
``data_root=DEVKIT`` and ``data_prefix=dict(img='')``. That mmdet tool only knows the 20 VOC
classes; this one takes ``--classes`` (default: the 20 VOC classes), e.g. the toy demo data's
``circle square triangle bar pillar``.

The XML files are read by ``PaperVOCDataset`` (py-faster-rcnn's reading, all its checks); each image
becomes ``{'id', 'file_name': 'VOC2007/JPEGImages/<id>.jpg', 'width', 'height'}``, each object an
annotation with ``bbox = [x1, y1, x2 - x1, y2 - y1]`` from the dataset's 0-based corners (so that
``CocoDataset`` reads back the same ``x1, y1, x2, y2``), ``category_id`` 1..K in ``--classes`` order,
and ``iscrowd = 1`` for ``difficult`` objects (COCO's "ignore": not trained on, not counted by
``CocoMetric``), as the VOC pipeline ignores them.
"""
import json
import os
import os.path as osp
import sys

from mmdet.datasets import VOCDataset
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401  (registers PaperVOCDataset)
from faster_rcnn_paper.datasets import PaperVOCDataset
from faster_rcnn_paper.utils import UserInputError, atomic_write
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser

YEARS = ('2007', '2012')
SPLITS = ('train', 'val', 'trainval', 'test')


def voc_split_to_coco(devkit: str, year: str, split: str, classes) -> dict:
    """The COCO dict of one VOC split (module docstring)."""
    dataset = PaperVOCDataset(
        data_root=devkit, ann_file=f'VOC{year}/ImageSets/Main/{split}.txt',
        data_prefix=dict(sub_data_root=f'VOC{year}/'), metainfo=dict(classes=tuple(classes)),
        test_mode=True, pipeline=[], lazy_init=True)  # lazy: the list is read once, below
    images, annotations = [], []
    for image_id, info in enumerate(dataset.load_data_list(), start=1):
        images.append(dict(id=image_id, file_name=osp.relpath(info['img_path'], devkit),
                           width=int(info['width']), height=int(info['height'])))
        for instance in info['instances']:
            x1, y1, x2, y2 = (float(v) for v in instance['bbox'])
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id, category_id=instance['bbox_label'] + 1,
                bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                iscrowd=int(instance['ignore_flag']), segmentation=[]))
    categories = [dict(id=i, name=name) for i, name in enumerate(classes, start=1)]
    return dict(images=images, annotations=annotations, categories=categories)


def convert(devkit: str, out_dir: str, classes) -> list:
    """Writes one json per split found; returns the paths written."""
    init_default_scope('mmdet')
    found = [(year, split) for year in YEARS for split in SPLITS
             if osp.isfile(osp.join(devkit, f'VOC{year}', 'ImageSets', 'Main', f'{split}.txt'))]
    if not found:
        raise UserInputError(f'{devkit}: no VOC<year>/ImageSets/Main/<split>.txt (years {", ".join(YEARS)}, '
                             f'splits {", ".join(SPLITS)}); give the VOCdevkit folder')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for year, split in found:
        path = osp.join(out_dir, f'voc{year[2:]}_{split}.json')
        coco = voc_split_to_coco(devkit, year, split, classes)
        atomic_write(path, json.dumps(coco))
        print(f'{path}: {len(coco["images"])} images, {len(coco["annotations"])} objects')
        written.append(path)
    return written


def main(argv=None):
    parser = tool_parser(__doc__.split('\n')[0])
    parser.add_argument('devkit', help='the VOCdevkit folder (holding VOC2007/ and/or VOC2012/)')
    parser.add_argument('-o', '--out-dir', required=True, help='where to write the json files')
    parser.add_argument('--classes', nargs='+', default=list(VOCDataset.METAINFO['classes']),
                        help='class names in label order (default: the 20 VOC classes)')
    args = parser.parse_args(argv)
    convert(args.devkit, args.out_dir, args.classes)


if __name__ == '__main__':
    sys.exit(run_tool(main))
