"""engine/initial_weights.py: the reset source is written with its fingerprint and read back only
if it matches it and the model (keys, shapes); anything else is refused with one line."""
import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from faster_rcnn_paper.engine.initial_weights import load_initial_weights, reset_modules, snapshot_initial_weights
from faster_rcnn_paper.engine.run_record import INITIAL_WEIGHTS_KEY, initial_weights_file
from faster_rcnn_paper.utils import UserInputError


class Runner:
    def __init__(self, name):
        self.message_hub = MessageHub.get_instance(name)


def model():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    torch.nn.init.normal_(net[0].weight)
    return net


def test_snapshot_then_reset(tmp_path):
    runner, net = Runner('snap'), model()
    initial = snapshot_initial_weights(runner, net, str(tmp_path))
    assert runner.message_hub.get_info(INITIAL_WEIGHTS_KEY)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    loaded = load_initial_weights(runner, net, str(tmp_path))
    reset_modules(net, loaded, ['0'])
    assert torch.equal(net[0].weight, initial['0.weight']) and torch.equal(net[0].bias, initial['0.bias'])
    assert torch.equal(net[1].weight, initial['1.weight'] + 1)  # not under '0': kept


@pytest.mark.parametrize('tamper,message', [
    (lambda s: s.update({'0.weight': torch.zeros(2)}), r"does not fit the model \(key '0.weight'"),
    (lambda s: s.pop('1.bias'), r"does not fit the model \(key '1.bias'"),
    (lambda s: s.update({'2.weight': torch.zeros(1)}), r"does not fit the model \(key '2.weight'"),
    (lambda s: s.update({k: torch.zeros_like(v) for k, v in s.items()}), r'its fingerprint \w+ is not the one the run recorded'),
])
def test_a_tampered_file_is_refused(tmp_path, tamper, message):
    runner, net = Runner(f'tamper{message[:8]}'), model()
    state = snapshot_initial_weights(runner, net, str(tmp_path))
    tamper(state)
    torch.save(state, initial_weights_file(str(tmp_path)))
    with pytest.raises(UserInputError, match=f'initial_weights.pth: {message}'):
        load_initial_weights(runner, net, str(tmp_path))


def test_a_missing_or_unreadable_file_is_refused(tmp_path):
    runner, net = Runner('unreadable'), model()
    with pytest.raises(UserInputError, match='initial_weights.pth: missing; it holds the initial weights'):
        load_initial_weights(runner, net, str(tmp_path))
    snapshot_initial_weights(runner, net, str(tmp_path))
    with open(initial_weights_file(str(tmp_path)), 'wb') as f:
        f.write(b'\0' * 100)
    with pytest.raises(UserInputError, match=r'initial_weights.pth: unreadable \('):
        load_initial_weights(runner, net, str(tmp_path))
