"""engine/random_state.py: the state round-trips through a weights-only checkpoint and replays
the same random numbers (Python, numpy, torch)."""
import random

import numpy as np
import pytest
import torch

from faster_rcnn_paper.engine.random_state import get_random_state, set_random_state


def draws():
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), np.random.randn()


def test_round_trip_through_a_checkpoint_replays_the_draws(tmp_path):
    np.random.randn()  # leaves a cached gaussian in numpy's state
    torch.save(dict(meta=dict(random_state=get_random_state())), tmp_path / 'c.pth')
    expected = draws()
    assert draws() != expected
    set_random_state(torch.load(tmp_path / 'c.pth', weights_only=True)['meta']['random_state'])
    assert draws() == expected


@pytest.mark.parametrize('state', [{}, dict(python='x'), dict(get_random_state(), torch=torch.zeros(3))])
def test_garbage_is_a_value_error(state):
    with pytest.raises(ValueError, match='not a random state'):
        set_random_state(state)
