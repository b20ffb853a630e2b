"""The weights a 4-step run starts from (ImageNet and initialisation), which a stage's ``reset``
restores: step 2 trains "from ImageNet" again, with the RPN layers' untrained weights that step 3
starts from (§3.2; py-faster-rcnn re-reads the ImageNet model in each step).

They are written to ``<work_dir>/alternating/initial_weights.pth`` when the run starts, with their
fingerprint in the message hub (``run_record.INITIAL_WEIGHTS_KEY``, saved in every checkpoint).
A resumed run reads them back only if they match that fingerprint and the model's keys and shapes;
otherwise it refuses with one line (the producing weights, the model before training, are gone).
"""
from typing import Dict, List

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

from ..utils.atomic_write import atomic_torch_save
from ..utils.user_input_error import UserInputError
from .run_record import INITIAL_WEIGHTS_KEY, initial_weights_file, weights_fingerprint


def matches_prefix(name: str, prefixes: List[str]) -> bool:
    """Whether parameter ``name`` lies under one of the module names ``prefixes``."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def _refuse(path: str, problem: str) -> UserInputError:
    return UserInputError(f'{path}: {problem}; it holds the initial weights that later stages restore '
                          '(reset): resume from a work dir where this run started, or start anew')


def snapshot_initial_weights(runner, model, work_dir: str) -> Dict[str, torch.Tensor]:
    """At iteration 0: the model's weights, written and fingerprinted in the message hub."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if is_main_process():
        atomic_torch_save(state, initial_weights_file(work_dir))
    barrier()
    runner.message_hub.update_info(INITIAL_WEIGHTS_KEY, weights_fingerprint(state))
    return state


def load_initial_weights(runner, model, work_dir: str) -> Dict[str, torch.Tensor]:
    """On resume: the initial weights, checked against the fingerprint the run recorded and
    against the model's keys and shapes."""
    path = initial_weights_file(work_dir)
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise _refuse(path, 'missing') from None
    except Exception as e:  # noqa: BLE001 - any unreadable file (torch raises many kinds)
        raise _refuse(path, f'unreadable ({type(e).__name__})') from None
    expected = model.state_dict()
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _refuse(path, 'not a state dict of tensors')
    wrong = sorted(set(state) ^ set(expected)) or [k for k in expected if state[k].shape != expected[k].shape]
    if wrong:
        raise _refuse(path, f'does not fit the model (key {wrong[0]!r}: missing, extra or another shape)')
    recorded, found = runner.message_hub.get_info(INITIAL_WEIGHTS_KEY), weights_fingerprint(state)
    if recorded != found:
        raise _refuse(path, f'its fingerprint {found} is not the one the run '
                      f'recorded when it wrote them ({recorded})')
    return state


def reset_modules(model, initial: Dict[str, torch.Tensor], prefixes: List[str]) -> None:
    """Restores the parameters and buffers under ``prefixes`` to ``initial``."""
    if not prefixes:
        return
    state = model.state_dict()
    with torch.no_grad():
        for key, value in initial.items():
            if matches_prefix(key, prefixes):
                state[key].copy_(value)
    print_log(f'Restored the initial weights of {prefixes}', logger='current')
