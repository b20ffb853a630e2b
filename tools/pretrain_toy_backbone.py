"""Stand-in ImageNet pre-training for the offline demo (see faster_rcnn_paper/utils/toy_pretraining.py).

    python tools/pretrain_toy_backbone.py CONFIG OUT [--iters 300] [--batch-size 32] [--seed 7]

Trains the backbone and fc6/fc7 of CONFIG's detector as a classifier of generated toy-VOC crops and
writes them in the layout of converted ImageNet weights, for ``model.init_cfg=dict(type='Pretrained',
checkpoint=OUT)``.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401  (registers the backbones)
from faster_rcnn_paper.utils.toy_pretraining import pretrain_on_toy_crops
from mmdet.registry import MODELS


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='detector config whose backbone and fc6/fc7 to pre-train')
    parser.add_argument('out', help='output weights file (.pth)')
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--crop-size', type=int, default=64)
    parser.add_argument('--num-images', type=int, default=600, help='toy images to crop from')
    parser.add_argument('--lr', type=float, default=3e-4, help='AdamW learning rate')
    parser.add_argument('--seed', type=int, default=7, help='differs from the demo data seed (0)')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope('mmdet')
    backbone_cfg = cfg.model.backbone
    backbone_cfg.pop('init_cfg', None)
    if 'frozen_stages' in backbone_cfg:
        backbone_cfg.frozen_stages = 0  # pre-training trains every layer
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    head = cfg.model.roi_head.bbox_head
    summary = pretrain_on_toy_crops(
        backbone, in_channels=head.in_channels, roi_size=head.roi_feat_size,
        fc_channels=head.fc_out_channels, pixel_mean=cfg.model.data_preprocessor.mean,
        out_file=args.out, iters=args.iters, batch_size=args.batch_size, crop_size=args.crop_size,
        lr=args.lr, num_images=args.num_images, seed=args.seed)
    print(f"stand-in ImageNet weights: {args.out} ({summary['crops']} crops, held-out accuracy "
          f"{summary['held_out_accuracy']:.3f}, {summary['seconds']:.0f} s)")
    return summary


if __name__ == '__main__':
    main()
