"""Stand-in ImageNet pre-training for the offline demo (see faster_rcnn_paper/demo/stand_in_pretraining.py).

    python tools/demo/pretrain_toy_backbone.py CONFIG OUT [--iters 300] [--seed 7]

Two runs with one seed write the same weights (on one machine and thread count).

Trains the backbone and fc6/fc7 of CONFIG's detector as a classifier of object / background regions
of generated toy-VOC images shown at CONFIG's training scale, through the detector's RoI pooling and
dropout, and writes them in the layout of converted ImageNet weights, for
``model.init_cfg=dict(type='Pretrained', checkpoint=OUT)``.
"""
import sys

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

import faster_rcnn_paper  # noqa: F401  (registers the backbones)
from faster_rcnn_paper.demo.stand_in_pretraining import STAND_IN_ITERS, pretrain_on_toy_images
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from mmdet.registry import MODELS


def _train_scale(cfg):
    """The (long, short) image scale of the config's training ``Resize``."""
    for step in cfg.get('train_pipeline', []):
        if step.get('type') in ('Resize', 'PaperResize'):
            return tuple(step['scale'])
    return tuple(cfg.get('img_scale', (1000, 600)))


def main(argv=None) -> dict:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='detector config whose backbone and fc6/fc7 to pre-train')
    parser.add_argument('out', help='output weights file (.pth)')
    parser.add_argument('--iters', type=int, default=STAND_IN_ITERS)
    parser.add_argument('--batch-size', type=int, default=2, help='images per iteration')
    parser.add_argument('--num-images', type=int, default=300, help='toy images to train on')
    parser.add_argument('--lr', type=float, default=3e-4, help='AdamW learning rate')
    parser.add_argument('--seed', type=int, default=7,
                        help="seed of the stand-in's images, initial weights and sampling (the demo passes its "
                        'data seed + 7: never the images of the data it trains on)')
    args = parser.parse_args(argv)
    # Seeded before the backbone is built: its initial weights are part of the run.
    set_random_seed(args.seed)
    cfg = Config.fromfile(args.config)
    init_default_scope('mmdet')
    backbone_cfg = cfg.model.backbone
    backbone_cfg.pop('init_cfg', None)
    if 'frozen_stages' in backbone_cfg:
        backbone_cfg.frozen_stages = 0  # pre-training trains every layer
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    head = cfg.model.roi_head.bbox_head
    summary = pretrain_on_toy_images(
        backbone, in_channels=head.in_channels, roi_size=head.roi_feat_size,
        fc_channels=head.fc_out_channels, pixel_mean=cfg.model.data_preprocessor.mean,
        out_file=args.out, scale=_train_scale(cfg), caffe_dropout=head.get('caffe_dropout', False),
        iters=args.iters, images_per_iter=args.batch_size, lr=args.lr, num_images=args.num_images,
        seed=args.seed)
    print(f"stand-in ImageNet weights: {args.out} ({summary['images']} images, held-out accuracy "
          f"{summary['held_out_accuracy']:.3f}, {summary['seconds']:.0f} s)")
    return summary


if __name__ == '__main__':
    sys.exit(run_tool(lambda argv: main(argv) and 0))
