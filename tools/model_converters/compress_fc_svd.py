"""Truncated SVD of fc6 / fc7 of a trained detector (Fast R-CNN §3.1).

    python tools/model_converters/compress_fc_svd.py CONFIG CHECKPOINT OUT_DIR [--fc6-rank 1024] [--fc7-rank 256]

Writes OUT_DIR/model_svd.pth (the detector with fc6 / fc7 replaced by their rank-r factorisations)
and OUT_DIR/config_svd.py (CONFIG with ``fc6_rank`` / ``fc7_rank`` set), so that
``tools/test.py OUT_DIR/config_svd.py OUT_DIR/model_svd.pth`` and ``tools/analysis_tools/benchmark_inference.py`` use it like
any model. Prints the relative approximation error of each layer.
"""
import os
import os.path as osp
import sys

import torch
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.models.layers import TruncatedSVDLinear
from faster_rcnn_paper.utils import UserInputError
from faster_rcnn_paper.utils.strict_loading import check_checkpoint_fits, read_checkpoint
from faster_rcnn_paper.utils.tool_config import read_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from faster_rcnn_paper.utils.atomic_write import atomic_torch_save, atomic_write
from mmdet.registry import MODELS


def compress(config: str, checkpoint: str, out_dir: str, fc6_rank: int, fc7_rank: int) -> dict:
    cfg = read_config(config)
    init_default_scope('mmdet')
    cfg.model.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    ckpt = read_checkpoint(checkpoint)
    check_checkpoint_fits(model, ckpt, checkpoint)  # strict: every weight present, same shape
    _load_checkpoint_to_model(model, ckpt)
    head = model.roi_head.bbox_head
    errors = {}
    for name, rank in (('fc6', fc6_rank), ('fc7', fc7_rank)):
        layer = getattr(head, name)
        if not isinstance(layer, torch.nn.Linear):
            raise UserInputError(f'{name} of {checkpoint} is already factorised ({layer})')
        svd = TruncatedSVDLinear.from_linear(layer, rank)
        with torch.no_grad():
            approx = svd.second.weight @ svd.first.weight
            errors[name] = float((approx - layer.weight).norm() / layer.weight.norm())
        setattr(head, name, svd)
    os.makedirs(out_dir, exist_ok=True)
    model_file = osp.join(out_dir, 'model_svd.pth')
    meta = dict(ckpt.get('meta', {}), truncated_svd=dict(fc6_rank=fc6_rank, fc7_rank=fc7_rank, source=checkpoint,
                                                       relative_error=errors))
    atomic_torch_save({'state_dict': model.state_dict(), 'meta': meta}, model_file)
    config_file = osp.join(out_dir, 'config_svd.py')
    atomic_write(config_file,
                 f"# {osp.basename(config)} with truncated-SVD fc6 / fc7 (tools/model_converters/compress_fc_svd.py)\n"
                 f"_base_ = ['{osp.abspath(config)}']\n"
                 f"model = dict(roi_head=dict(bbox_head=dict(fc6_rank={fc6_rank}, fc7_rank={fc7_rank})))\n")
    return dict(model=model_file, config=config_file, relative_error=errors)


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--fc6-rank', type=int, default=1024, help='Fast R-CNN: 1024 for VGG-16 fc6')
    parser.add_argument('--fc7-rank', type=int, default=256, help='Fast R-CNN: 256 for VGG-16 fc7')
    args = parser.parse_args(argv)
    out = compress(args.config, args.checkpoint, args.out_dir, args.fc6_rank, args.fc7_rank)
    for name, err in out['relative_error'].items():
        print(f'{name}: rank {getattr(args, name + "_rank")}, relative Frobenius error {err:.4f}')
    print(f"model: {out['model']}\nconfig: {out['config']}")
    return out


if __name__ == '__main__':
    sys.exit(run_tool(main))
