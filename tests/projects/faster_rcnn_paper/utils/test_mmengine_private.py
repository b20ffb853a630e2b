"""MMEngine's global instances around one block (the demo runs each tool's phase in such a block)."""
import logging

from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope

from faster_rcnn_paper.utils.mmengine_private import fresh_global_instances


def test_a_block_starts_without_global_instances_and_leaves_none(tmp_path):
    with fresh_global_instances():  # this test's own instances go too
        before = MessageHub.get_instance('phase')
        with fresh_global_instances():
            assert not MessageHub.check_instance_created('phase')
            assert MessageHub.get_instance('phase') is not before  # e.g. a second runner of the same name
            DefaultScope.get_instance('phase', scope_name='mmdet')
            logger = MMLogger.get_instance('phase', log_file=str(tmp_path / 'phase.log'))
            logger.info('written')
            files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
        assert MessageHub.get_instance('phase') is before
        assert not DefaultScope.check_instance_created('phase') and not MMLogger.check_instance_created('phase')
        assert files and not logger.handlers and all(h.stream is None for h in files)  # log file closed
        assert 'written' in (tmp_path / 'phase.log').read_text()
    assert not MessageHub.check_instance_created('phase')
