"""Tests of tools/*.py. The tools are scripts, not a package: :func:`load_tool` loads one by its path
(without putting tools/ on ``sys.path``) so that a test can call its functions."""
import importlib.util
import os.path as osp
from types import ModuleType

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')


def load_tool(name: str) -> ModuleType:
    """The module of ``tools/<name>.py`` (``name`` e.g. ``'demo/demo'``) (executed once per call, not as ``__main__``)."""
    spec = importlib.util.spec_from_file_location('tools_' + name.replace('/', '_'), osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
