"""Write the toy VOC-format shapes dataset (see ``faster_rcnn_paper.demo.toy_voc``).

Example::

    python tools/demo/make_toy_voc.py --out data/toy --num-trainval 200 --num-test 100 --seed 0

writes ``data/toy/VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main}``; the same arguments
always give byte-identical files.
"""
import argparse
import os.path as osp
import sys
import time

from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES, make_toy_voc
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser('Write a deterministic toy dataset in PASCAL VOC format '
                                                 f'(classes: {", ".join(TOY_CLASSES)}).')
    parser.add_argument('--out', required=True, help='output folder; VOCdevkit/VOC2007 is made in it')
    parser.add_argument('--num-trainval', type=int, default=200, help='trainval images (default 200)')
    parser.add_argument('--num-test', type=int, default=100, help='test images (default 100)')
    parser.add_argument('--seed', type=int, default=0, help='non-negative random seed (default 0)')
    parser.add_argument('--min-size', type=int, default=160, help='smallest image side (default 160)')
    parser.add_argument('--max-size', type=int, default=240, help='largest image side (default 240)')
    parser.add_argument('--short-side', type=int, default=None,
                        help='make every shorter side this long (the longer one up to --max-size), '
                             'i.e. at the scale the detector shows them')
    parser.add_argument('--jpeg-quality', type=int, default=95, help='JPEG quality (default 95)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    summary = make_toy_voc(args.out, num_trainval=args.num_trainval, num_test=args.num_test,
                           seed=args.seed, min_size=args.min_size, max_size=args.max_size,
                           jpeg_quality=args.jpeg_quality, short_side=args.short_side)
    print(f'wrote {summary} in {time.perf_counter() - start:.1f} s')
    print(f'use it with data_root={osp.join(osp.dirname(summary.voc_root), "")!r}, '
          "data_prefix=dict(sub_data_root='VOC2007/'), "
          "ann_file='VOC2007/ImageSets/Main/trainval.txt' (or test.txt)")


if __name__ == '__main__':
    sys.exit(run_tool(main))
