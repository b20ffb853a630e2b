"""What tools/train.py and tools/test.py do alike with a config, as MMDetection's tools do it."""
import os
import os.path as osp
import tempfile

import torch
from mmengine.config import Config

from .cpu_distributed import setup_cpu_distributed
from .tool_errors import remember_config
from .user_input_error import UserFileNotFoundError, UserInputError


def read_config(path: str) -> Config:
    """``Config.fromfile(path)``; a missing file (the config or one of its ``_base_`` files) is a
    :class:`UserFileNotFoundError` naming it. The tool's errors name its keys
    (``tool_errors.remember_config``)."""
    if not osp.isfile(path):
        raise UserFileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as error:
        raise UserFileNotFoundError(f'{path}: {error}') from error
    remember_config(cfg)
    return cfg


def check_writable_dir(path: str, what: str) -> None:
    """Check, without creating anything, that the directory ``path`` can be created (or exists) and
    be written: an existing file of that name or above it, or a directory that cannot be written,
    is a :class:`UserInputError` naming ``what`` (e.g. ``--work-dir``) and the path."""
    existing = osp.abspath(path)
    while not osp.exists(existing):  # the nearest folder that exists: the run creates the rest
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        where = '' if existing == osp.abspath(path) else f': {existing}'
        raise UserInputError(f'{what} {path}{where} is an existing file, not a directory; give a directory')
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UserInputError(f'{what} {path} cannot be written ({error.strerror or error}); give a '
                             'directory you can write to') from error


def add_cfg_options_arg(parser) -> None:
    """mmdet's ``--cfg-options key=value ...``; apply with :func:`apply_cfg_options`."""
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs merged into the config '
        '(lists as key="[a,b]" or key=a,b; no white space)')


def apply_cfg_options(cfg: Config, args) -> None:
    """Merge ``--cfg-options`` (if given) into ``cfg``; a key set as a dict where the config holds
    another type (e.g. ``model.init_cfg.type=...`` where ``init_cfg`` is None) is one line."""
    if args.cfg_options is not None:
        try:
            cfg.merge_from_dict(args.cfg_options)
        except TypeError as error:  # mmengine's "... cannot inherit from base because ..."
            raise UserInputError(f'--cfg-options: {" ".join(str(error).split())} (on the command line: '
                                 'KEY._delete_=True first)') from error


def add_common_args(parser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank`` (mmdet's flags)."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    add_cfg_options_arg(parser)
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
    apply_cfg_options(cfg, args)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_writable_dir(cfg.work_dir, '--work-dir' if args.work_dir is not None else 'work_dir')
    if args.launcher != 'none' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg, args.launcher)
    return cfg
