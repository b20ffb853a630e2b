"""Tests of tools/*.py. The tools are scripts, not a package: :func:`load_tool` loads one by its path
(without putting tools/ on ``sys.path``) so that a test can call its functions."""
import os.path as osp
from types import ModuleType

from faster_rcnn_paper.utils.tool_scripts import load_tool_script

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')


def load_tool(name: str) -> ModuleType:
    """The module of ``tools/<name>.py`` (``name`` e.g. ``'demo/demo'``) (executed once per call, not as ``__main__``)."""
    return load_tool_script(osp.join(TOOLS, f'{name}.py'), 'tools_' + name.replace('/', '_'))
