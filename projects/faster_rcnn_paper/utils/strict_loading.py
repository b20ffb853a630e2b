"""Loading a trained detector for test and inference strictly: every weight of the model must come
from the checkpoint, with its shape.

MMEngine's ``Runner`` and ``init_detector`` / ``DetInferencer`` load with ``strict=False``: a
VGG-16 checkpoint on a ZF config only logs the mismatched shapes and then evaluates a partly random
model. ``tools/test.py`` and ``tools/misc/infer.py`` check the checkpoint first: a missing or mis-shaped
key is a :class:`UserInputError` naming the first few; keys the model does not have are logged.
"""
import logging
import os.path as osp
import re
from typing import List

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

from .user_input_error import UserFileNotFoundError, UserInputError

#: Keys named in the error message, per kind of mismatch.
SHOWN_KEYS = 3


def bare_model(model: nn.Module) -> nn.Module:
    """The detector inside a DDP wrapper or a test-time-augmentation model."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def read_checkpoint(filename: str) -> dict:
    """The checkpoint at ``filename`` (a local path or URL), read weights-only on CPU; a missing file,
    or one that torch cannot load safely (not a checkpoint, truncated, or holding objects the
    weights-only unpickler refuses), is a :class:`UserInputError` naming it."""
    if '://' not in filename and not osp.isfile(filename):
        raise UserFileNotFoundError(f'checkpoint not found: {filename}')
    try:
        checkpoint = _load_checkpoint(filename, map_location='cpu')
    except (MemoryError, UserInputError):  # a local file's problem is named by checkpoint_safety
        raise
    except Exception as error:  # noqa: BLE001 (torch's unpickler raises many kinds on a bad file)
        text = str(error).strip()
        first_line = text.splitlines()[0] if text else ''
        raise UserInputError(f'{filename}: not a checkpoint that can be loaded safely '
                             f'({type(error).__name__}: {first_line})') from error
    if not isinstance(checkpoint, dict):
        raise UserInputError(f'{filename}: not a checkpoint (a {type(checkpoint).__name__}, expected a dict)')
    return checkpoint


def check_checkpoint_fits(model: nn.Module, checkpoint: dict, filename: str) -> List[str]:
    """Raise :class:`UserInputError` when a weight of ``model`` is missing from ``checkpoint`` or has
    another shape there; return the checkpoint's keys that the model does not have (logged)."""
    model = bare_model(model)
    state = checkpoint.get('state_dict', checkpoint)
    state = {re.sub(r'^module\.', '', key): value for key, value in state.items()}  # as mmengine
    own = model.state_dict()
    missing = [key for key in own if key not in state and 'num_batches_tracked' not in key]
    mis_shaped = [f'{key} (checkpoint {tuple(state[key].shape)}, model {tuple(own[key].shape)})'
                  for key in own if key in state and hasattr(state[key], 'shape')
                  and tuple(state[key].shape) != tuple(own[key].shape)]
    problems = []
    for what, keys in (('mis-shaped', mis_shaped), ('missing', missing)):
        if keys:
            more = f', ... ({len(keys)} in all)' if len(keys) > SHOWN_KEYS else ''
            problems.append(f'{what} weights: ' + ', '.join(keys[:SHOWN_KEYS]) + more)
    if problems:
        raise UserInputError(f'{filename} does not fit the model of this config ({type(model).__name__}): '
                             + '; '.join(problems) + ' -- was it trained with another config?')
    unexpected = [key for key in state if key not in own]
    if unexpected:
        print_log(f'{filename}: {len(unexpected)} weights the model does not use, e.g. '
                  f'{", ".join(unexpected[:SHOWN_KEYS])}', logger='current', level=logging.WARNING)
    return unexpected
