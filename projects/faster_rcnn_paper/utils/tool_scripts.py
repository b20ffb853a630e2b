"""Loading a tool of ``tools/`` as a module, to call its functions from Python (the demo runs every
phase's tool in its own process this way; the tests call the tools' functions). The tools are
scripts, not a package: ``tools/`` is never put on ``sys.path``."""
import importlib.util
import os.path as osp
from types import ModuleType
from typing import Optional


def load_tool_script(path: str, name: Optional[str] = None) -> ModuleType:
    """The module of the script at ``path``, executed anew on each call and not as ``__main__``
    (its ``if __name__ == '__main__'`` block does not run); ``name``, its ``__name__``, defaults to
    ``tool_<file name>``. Not entered in ``sys.modules``."""
    name = name or 'tool_' + osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
