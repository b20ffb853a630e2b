"""Train a detector of this project (same command line as MMDetection's ``tools/train.py``).

    python tools/train.py configs/faster_rcnn_vgg16_voc.py [--work-dir DIR] [--resume [CKPT]]
        [--amp] [--auto-scale-lr] [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi] [--debug]

``--resume`` without a value continues from the work dir's latest checkpoint; with none there it
is an error (it never silently starts anew). ``--auto-scale-lr`` scales the lr by mmengine's linear
rule; in 4-step training each stage's own optimiser is scaled (AlternatingTrainingHook).

Multi-process / multi-node: ``tools/dist_train.sh CONFIG NUM_GPUS [args]`` (torchrun), as in mmdet.
Without a GPU the distributed backend falls back from NCCL to gloo, so ``--launcher pytorch`` also
runs on CPU. Errors the user caused (a missing config, a dataset problem) print as one line
(``--debug``: with the traceback).
"""
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

from faster_rcnn_paper.models.backbones.imagenet_initialisation import check_imagenet_initialisation
from faster_rcnn_paper.utils import UserFileNotFoundError, UserInputError
from faster_rcnn_paper.utils.tool_config import add_common_args, load_tool_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser


def parse_args(argv=None):
    parser = tool_parser('Train a Faster R-CNN (paper) detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the total batch size (auto_scale_lr)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in the work dir')
    add_common_args(parser)
    return parser.parse_args(argv)


def build_config(args) -> Config:
    cfg = load_tool_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if not (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            raise UserInputError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # mmengine would log "Auto resumed from the latest checkpoint None" and start from
        # iteration 0: a --resume that finds nothing to resume is an error.
        if find_latest_checkpoint(cfg.work_dir) is None:
            raise UserInputError(f'--resume: no checkpoint to resume from in {cfg.work_dir} (no '
                                 'last_checkpoint file); to start training anew, run without --resume')
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if '://' not in args.resume and not osp.isfile(args.resume):
            raise UserFileNotFoundError(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    cfg = build_config(parse_args(argv))
    # A missing ImageNet checkpoint: one line now, not after the model and the data are built.
    check_imagenet_initialisation(cfg.model.get('init_cfg'), cfg.model.get('backbone'))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    sys.exit(run_tool(main))
