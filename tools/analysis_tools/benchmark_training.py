"""Training speed: seconds per iteration of every stage (the four alternating steps, or joint
training) and the share of time spent outside forward / backward / update (goal: <= 5 %).

    python tools/analysis_tools/benchmark_training.py CONFIG [--iters 30] [--work-dir DIR] [--cfg-options ...]

Runs CONFIG for a few iterations per stage with ``TrainingSpeedHook`` added (data as configured,
e.g. the toy demo data from ``tools/demo/make_toy_voc.py``), then prints the table. Absolute times depend
on the machine; the overhead share is the figure to compare.
"""
import json
import os.path as osp
import sys
import tempfile

from mmengine.config import DictAction
from mmengine.runner import Runner

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg, stage_iteration_options
from faster_rcnn_paper.utils.tool_config import read_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser


def main(argv=None) -> dict:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=30, help='iterations per stage')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or tempfile.mkdtemp(prefix='benchmark_training_')
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        cfg.merge_from_dict(stage_iteration_options(cfg, {name: args.iters for name in hook.stages}))
        for stage in hook.stages.values():
            if stage.get('mode') == 'fast_rcnn':
                stage.evaluate = False
    else:
        cfg.train_cfg.max_iters = args.iters
        cfg.train_cfg.val_interval = args.iters + 1
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = 10**9  # timing run: no checkpoints but the last
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='TrainingSpeedHook', skip=3)]
    Runner.from_cfg(cfg).train()
    with open(osp.join(cfg.work_dir, 'training_speed.json')) as f:
        table = json.load(f)
    print(f"\n{'stage':<18}{'s/iter':>8}{'outside fwd/bwd':>17}")
    for stage, row in table.items():
        print(f"{stage:<18}{row['seconds_per_iter']:>8.3f}{100 * row['outside_share']:>16.1f}%")
    return table


if __name__ == '__main__':
    sys.exit(run_tool(main))
