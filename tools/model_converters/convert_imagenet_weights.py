"""Convert ImageNet VGG-16 / ZF weights into a checkpoint for this project's Faster R-CNN.

    python tools/model_converters/convert_imagenet_weights.py vgg16-caffe VGG16.v2.caffemodel checkpoints/vgg16_caffe_layout.pth
    python tools/model_converters/convert_imagenet_weights.py zf-caffe ZF.v2.caffemodel checkpoints/zf_caffe_layout.pth
    python tools/model_converters/convert_imagenet_weights.py vgg16-torchvision vgg16-397923af.pth checkpoints/vgg16_caffe_layout.pth

(the .caffemodel files are py-faster-rcnn's ImageNet models, read without Caffe). Formats, the
other source files and the input adaptation are documented in
``faster_rcnn_paper.model_converters.imagenet_weights``. Load the result with
``model = dict(init_cfg=dict(type='Pretrained', checkpoint='vgg16_caffe_layout.pth'))``.
"""
import argparse
import sys

from faster_rcnn_paper.model_converters.imagenet_weights import (SOURCE_FORMATS, convert_imagenet_weights,
                                                                 layer_specs)
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n')[0])
    parser.add_argument('format', choices=SOURCE_FORMATS, help='layout of SRC')
    parser.add_argument('src', help='source weights (.caffemodel, or a .pth state dict, or .npz / .pth Caffe blobs)')
    parser.add_argument('dst', help='checkpoint to write (keys backbone.* and roi_head.bbox_head.*)')
    parser.add_argument('--no-input-adapt', action='store_true',
                        help='vgg16-torchvision: copy conv1_1 unchanged instead of adapting it to '
                        'BGR 0-255 input minus the Caffe means (keep torchvision normalisation)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        checkpoint = convert_imagenet_weights(args.format, args.src, args.dst,
                                              input_adapt=not args.no_input_adapt)
    except (KeyError, ValueError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f'error: {message}', file=sys.stderr)
        return 1
    state_dict = checkpoint['state_dict']
    num_params = sum(tensor.numel() for tensor in state_dict.values())
    print(f'{args.format}: {args.src} -> {args.dst}: {len(state_dict)} keys, {num_params:,} '
          f'parameters, input adapted: {checkpoint["meta"]["input_adapted"]}')
    for spec in layer_specs(args.format):
        shape = tuple(state_dict[f'{spec.target}.weight'].shape)
        print(f'  {spec.source}.{{weight,bias}} -> {spec.target}.{{weight,bias}}  {shape}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
