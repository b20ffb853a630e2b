"""Test (evaluate) a trained detector (same command line as MMDetection's ``tools/test.py``).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
        [--tta] [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi] [--debug]

The checkpoint is loaded strictly: a weight of the model that is missing from it or has another
shape is an error naming the keys (mmengine would only warn and evaluate a partly random model).
``--tta``: test-time augmentation as mmdet's ``--tta`` (the config's ``tta_model``, by default
``PaperDetTTAModel``: the image and its mirror image, merged by the model's per-class test NMS); the
views are the config's ``tta_pipeline`` if it has one, else its test pipeline with the unflipped and
the flipped view in place of ``PackDetInputs``. User errors print as one line (``--debug``: traceback).
"""
import copy
import sys

from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from faster_rcnn_paper.utils.strict_loading import bare_model, check_checkpoint_fits, read_checkpoint
from faster_rcnn_paper.utils.tool_config import add_common_args, load_tool_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from faster_rcnn_paper.utils.user_input_error import UserInputError

#: meta keys the TTA model needs in addition to those of the test pipeline
_TTA_META_KEYS = ('flip', 'flip_direction')


def parse_args(argv=None):
    parser = tool_parser('Test (and evaluate) a Faster R-CNN detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='dir (inside the work dir) to save drawn predictions')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation: the image and its mirror image, merged by NMS')
    add_common_args(parser)
    return parser.parse_args(argv)


def tta_pipeline_from_test_pipeline(test_pipeline) -> list:
    """The test pipeline as two views, unflipped first. The views split right after the image is
    loaded: the mirror image is made at the original scale with py-faster-rcnn's flip
    (``PaperRandomFlip``), before the resize, so that ``PaperDetTTAModel(flip_offset=1)`` un-flips
    the detections exactly (``x = W - 1 - x'`` in original-image coordinates)."""
    pipeline = copy.deepcopy(list(test_pipeline))
    if not pipeline or pipeline[0].get('type') != 'LoadImageFromFile':
        raise UserInputError('--tta needs a test pipeline that starts with LoadImageFromFile (or a '
                             'tta_pipeline in the config)')
    pack = dict(pipeline[-1])
    if pack.get('type') != 'PackDetInputs':
        raise UserInputError(f"--tta needs a test pipeline that ends with PackDetInputs (or a tta_pipeline "
                             f"in the config); it ends with {pack.get('type')!r}")
    if 'meta_keys' in pack:
        pack['meta_keys'] = tuple(pack['meta_keys']) + tuple(k for k in _TTA_META_KEYS
                                                             if k not in pack['meta_keys'])
    views = [dict(type='PaperRandomFlip', prob=0.), dict(type='PaperRandomFlip', prob=1.)]
    return [pipeline[0], dict(type='TestTimeAug', transforms=[views] + [[t] for t in pipeline[1:-1]] + [[pack]])]


def apply_tta(cfg: Config) -> None:
    """Wrap the model in the config's ``tta_model`` and give the test data the TTA pipeline (as
    mmdet's ``tools/test.py --tta``)."""
    tta_model = cfg.get('tta_model', None) or dict(type='PaperDetTTAModel')
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:
        dataset = dataset.dataset
    pipeline = cfg.get('tta_pipeline', None) or tta_pipeline_from_test_pipeline(dataset.pipeline)
    cfg.model = ConfigDict(**tta_model, module=cfg.model)
    dataset.pipeline = pipeline


def build_config(args) -> Config:
    cfg = load_tool_config(args)
    cfg.load_from = None  # loaded strictly by main()
    if args.show or args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        if args.show:
            hook.show = True
            hook.wait_time = args.wait_time
        if args.show_dir:
            hook.test_out_dir = args.show_dir
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UserInputError(f'--out must be a .pkl file, got {args.out}')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
            else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    if args.tta:
        apply_tta(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    checkpoint = read_checkpoint(args.checkpoint)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    model = bare_model(runner.model)
    check_checkpoint_fits(model, checkpoint, args.checkpoint)
    runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)  # as Runner.load_checkpoint
    _load_checkpoint_to_model(model, checkpoint)
    runner.logger.info(f'Loaded checkpoint {args.checkpoint} (all weights of the model present, shapes equal)')
    return runner.test()


if __name__ == '__main__':
    sys.exit(run_tool(main))
