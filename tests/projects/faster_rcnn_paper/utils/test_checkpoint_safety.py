"""MMEngine checkpoints load under torch's weights_only default, crafted pickles still do not run."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import faster_rcnn_paper  # noqa: F401  (installs the allowlist)
from faster_rcnn_paper.utils import UserFileNotFoundError, UserInputError


def mmengine_style_checkpoint(path):
    hub = MessageHub.get_instance('checkpoint_safety_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 7)
    hub.update_info('dataset_meta', dict(classes=('a', 'b'), palette=[(1, 2, 3)]))
    torch.save({
        'meta': dict(iter=7, seed=3, cfg='model = dict()', mmengine_version='0.10.7'),
        'state_dict': {'w': torch.ones(2)},
        'message_hub': hub.state_dict(),
        'optimizer': torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1).state_dict(),
        'numpy_array': np.arange(3, dtype=np.int64),
        'numpy_scalar': np.float32(2.5),
    }, path)


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    path = str(tmp_path / 'iter_7.pth')
    mmengine_style_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['iter'] == 7
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 0.5
    assert ckpt['numpy_array'].tolist() == [0, 1, 2] and ckpt['numpy_scalar'] == np.float32(2.5)
    # mmengine's own loader (which calls torch.load with torch's default weights_only=True)
    assert _load_checkpoint(path, map_location='cpu')['state_dict']['w'].tolist() == [1.0, 1.0]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned > "$PWNED_MARKER"', ))


def test_crafted_pickle_is_refused_without_running_code(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    monkeypatch.setenv('PWNED_MARKER', str(marker))
    path = str(tmp_path / 'evil.pth')
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'payload': _RunsCode()}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    # through mmengine's loader (--resume, load_from, init_cfg): a user error naming the file and
    # what torch refused
    refused = r"evil.pth: not a checkpoint that can be loaded safely \(torch's weights-only loader refused it: \w"
    with pytest.raises(UserInputError, match=refused):
        _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_missing_or_empty_checkpoint_through_mmengine_is_a_user_error(tmp_path):
    with pytest.raises(UserFileNotFoundError, match='checkpoint not found: .*nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'), map_location='cpu')
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(UserInputError, match='empty.pth: not a checkpoint that can be loaded safely'):
        _load_checkpoint(str(empty), map_location='cpu')


def test_a_bug_while_loading_is_not_turned_into_a_user_error(tmp_path, monkeypatch):
    path = str(tmp_path / 'ok.pth')
    torch.save({'state_dict': {}}, path)

    def broken(*args, **kwargs):
        raise AttributeError('a bug')

    monkeypatch.setattr(torch, 'load', broken)
    with pytest.raises(AttributeError, match='a bug'):
        _load_checkpoint(path, map_location='cpu')


class _ReachesIntoModules:
    """getattr(HistoryBuffer, '__init__'): allowed by plain getattr, refused by ours."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save({'payload': _ReachesIntoModules()}, path)
    with pytest.raises(pickle.UnpicklingError, match='__init__'):
        torch.load(path, weights_only=True)


def test_reading_imagenet_weights_keeps_the_checkpoint_allowlist(tmp_path):
    """Converting ImageNet weights in a process must not take the plugin's allowlist away from the
    checkpoints read after it (torch's ``safe_globals`` context manager removes its globals on exit)."""
    from faster_rcnn_paper.utils.checkpoint_safety import checkpoint_safe_globals
    from faster_rcnn_paper.model_converters.imagenet_weights import load_source_weights
    weights = tmp_path / 'weights.pth'
    torch.save({'conv1.weight': torch.zeros(2, 3, 1, 1)}, str(weights))
    load_source_weights(str(weights))
    allowed = torch.serialization.get_safe_globals()
    assert all(entry in allowed for entry in checkpoint_safe_globals())
