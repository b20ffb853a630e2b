"""The random state of a training process (Python, numpy, torch CPU and CUDA), as plain values a
checkpoint can hold (``weights_only`` loading: lists, ints, tensors).

``AlternatingTrainingHook`` keeps it in every checkpoint and starts each stage from the state the
previous stage ended with, whatever ran in between (proposal files, an evaluation), so a run
resumed from a stage's end checkpoint draws the same random numbers (dropout, RoI sampling, flips)
as the run that was never interrupted.
"""
import random

import numpy as np
import torch

META_KEY = 'random_state'


def get_random_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, state, gauss = random.getstate()
    out = dict(python=[version, list(state), gauss],
               numpy=[name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
               torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out['cuda'] = torch.cuda.get_rng_state_all()
    return out


def set_random_state(state: dict) -> None:
    """Restores a state of :func:`get_random_state`; ValueError for anything else."""
    try:
        _set(state)
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as e:
        raise ValueError(f'not a random state ({type(e).__name__}: {e})') from None


def _set(state: dict) -> None:
    version, values, gauss = state['python']
    random.setstate((version, tuple(values), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
