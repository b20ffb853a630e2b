"""utils/atomic_write.py: a failed write leaves the previous file; a finished one replaces it."""
import os

import pytest
import torch

from faster_rcnn_paper.utils import atomic_path, atomic_torch_save, atomic_write


def test_write_bytes_text_and_torch(tmp_path):
    atomic_write(str(tmp_path / 'a.txt'), 'héllo')
    assert (tmp_path / 'a.txt').read_bytes() == 'héllo'.encode()
    atomic_write(str(tmp_path / 'sub' / 'b.bin'), b'\x00\x01')
    assert (tmp_path / 'sub' / 'b.bin').read_bytes() == b'\x00\x01'
    atomic_torch_save({'w': torch.arange(3)}, str(tmp_path / 'c.pth'))
    assert torch.equal(torch.load(tmp_path / 'c.pth', weights_only=True)['w'], torch.arange(3))
    assert sorted(os.listdir(tmp_path)) == ['a.txt', 'c.pth', 'sub']


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / 'x.txt')
    atomic_write(path, 'old')
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            with open(tmp, 'w') as f:
                f.write('new, half')
            raise RuntimeError('killed')
    assert open(path).read() == 'old'
    assert os.listdir(tmp_path) == ['x.txt']


def test_leftover_temporary_of_a_killed_writer_is_overwritten(tmp_path):
    path = str(tmp_path / 'y.txt')
    (tmp_path / 'y.txt.tmp').write_text('torn')
    atomic_write(path, 'complete')
    assert open(path).read() == 'complete' and os.listdir(tmp_path) == ['y.txt']
