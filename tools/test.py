"""Test (evaluate) a trained detector (same command line as MMDetection's ``tools/test.py``).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from faster_rcnn_paper.utils.tool_config import add_common_args, load_tool_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a Faster R-CNN detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='dir (inside the work dir) to save drawn predictions')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    add_common_args(parser)
    return parser.parse_args(argv)


def build_config(args) -> Config:
    cfg = load_tool_config(args)
    cfg.load_from = args.checkpoint
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
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
            else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    return cfg


def main(argv=None):
    cfg = build_config(parse_args(argv))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
