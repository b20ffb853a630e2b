"""FLOPs and parameters of a detector at the paper's input size, without any dataset.

    python tools/analysis_tools/count_flops.py CONFIG [--shape 600 1000] [--cfg-options ...] [--debug]

MMDetection's ``tools/analysis_tools/get_flops.py`` measures on images of the config's val set (it
needs the data, e.g. VOC under ``data/VOCdevkit``). This tool builds only the model and counts what mmdet's
tool counts (the model's ``tensor`` mode: backbone, RPN with its proposals and their NMS, RoI
pooling and the fc layers; not the final per-class NMS) on a
generated image of ``--shape`` (height width; default 600 x 1000, the paper's resized VOC image) with
MMEngine's ``get_model_complexity_info``. Our compiled ops (RoI pooling, RoI warping, NMS) are
counted through the plugin's FLOP handles (``faster_rcnn_paper/utils/flop_handles.py``).
What MMEngine does not count (element-wise ops, pooling, softmax: its FLOPs are the multiply-adds
of convolutions, fc layers and the ops above) is said in one line instead of MMEngine's warning
per op.
"""
import logging
import sys
from functools import partial

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.analysis.print_helper import _format_size
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401  (registers the components and the FLOP handles)
from faster_rcnn_paper.utils.tool_config import add_cfg_options_arg, apply_cfg_options, read_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample


NOT_COUNTED = ('not counted, as in MMEngine and mmdet get_flops.py: element-wise ops, pooling, softmax and LRN '
               '(FLOPs are the multiply-adds of the convolutions, fc layers, RoI pooling and NMS)')


def count(model, height: int, width: int) -> dict:
    """``get_model_complexity_info`` of one ``tensor``-mode pass (as mmdet's get_flops.py) on a
    seeded random image."""
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    shape = (height, width)
    sample = DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, scale_factor=(1.0, 1.0),
                                         pad_shape=shape, batch_input_shape=shape))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
    forward = model.forward
    model.forward = partial(forward, data_samples=data['data_samples'])
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # "Unsupported operator aten::add ...": see NOT_COUNTED
    try:
        return get_model_complexity_info(model, None, inputs=data['inputs'], show_table=False,
                                         show_arch=False)
    finally:
        model.forward = forward
        logger.setLevel(level)


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[600, 1000], metavar=('HEIGHT', 'WIDTH'))
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    cfg = read_config(args.config)
    apply_cfg_options(cfg, args)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        result = count(model, *args.shape)
    print(f'input shape: {args.shape[0]}x{args.shape[1]}')
    print(f"flops: {_format_size(result['flops'])}  params: {_format_size(result['params'])}")
    print(NOT_COUNTED)
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
