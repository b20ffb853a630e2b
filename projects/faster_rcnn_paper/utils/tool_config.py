"""What tools/train.py and tools/test.py do alike with a config, as MMDetection's tools do it."""
import os
import os.path as osp

import torch
from mmengine.config import Config

from .cpu_distributed import setup_cpu_distributed
from .user_input_error import UserFileNotFoundError


def read_config(path: str) -> Config:
    """``Config.fromfile(path)``; a missing file (the config or one of its ``_base_`` files) is a
    :class:`UserFileNotFoundError` naming it."""
    if not osp.isfile(path):
        raise UserFileNotFoundError(f'config file not found: {path}')
    try:
        return Config.fromfile(path)
    except FileNotFoundError as error:
        raise UserFileNotFoundError(f'{path}: {error}') from error


def add_common_args(parser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank`` (mmdet's flags)."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs merged into the config '
        '(lists as key="[a,b]" or key=a,b; no white space)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_tool_config(args) -> Config:
    """The config of ``args.config`` with the common flags applied: launcher, ``--cfg-options``,
    the work dir (command line > config > ./work_dirs/<config name>) and, without a GPU,
    multi-process runs over gloo."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = read_config(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.launcher != 'none' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg, args.launcher)
    return cfg
