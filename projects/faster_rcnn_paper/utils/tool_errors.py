"""How every tool of this project ends on an error the user caused: the message as one line on
stderr and exit status 1, without a traceback.

    parser = tool_parser(__doc__)      # an ArgumentParser whose --help lists --debug
    ...
    if __name__ == '__main__':
        sys.exit(run_tool(main))

``main(argv)`` is the tool's entry point. A :class:`UserInputError` (a missing config, checkpoint or
data list, a dataset problem, a refused checkpoint, an unwritable work dir, a bad flag value) is
printed as ``<tool>: error: <message>``. So is a config key that the class it configures does not
take (mmengine's registry passes the keys of a config dict to the constructor, which raises
``TypeError: ... got an unexpected keyword argument``) and a ``type`` that no registry knows
(``KeyError``), when that key or type is in the config the tool read (:func:`remember_config`):
the message names the key's path (``model.backbone.typo_arg``). Every other exception is a bug and
keeps its full traceback. With ``--debug`` on the command line (removed before ``main`` sees the
arguments) or the environment variable ``FASTER_RCNN_PAPER_DEBUG=1``, user errors show their
traceback too.
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Any, Callable, Iterator, List, Optional, Tuple

from .user_input_error import UserInputError

DEBUG_FLAG = '--debug'
DEBUG_ENV = 'FASTER_RCNN_PAPER_DEBUG'

#: The config the running tool read last (set by ``tool_config.read_config``), searched for the key
#: a registry build rejected.
_tool_config = None

_UNEXPECTED_ARGUMENT = re.compile(r"(\w+)(?:\.__init__)?\(\) got an unexpected keyword argument '(\w+)'")
_NOT_REGISTERED = re.compile(r"^'?(\S+) is not in the (\S+) registry")


def one_line(error: BaseException) -> str:
    """The error's message with its line breaks folded into spaces."""
    return ' '.join(str(error).split())


def tool_parser(description: Optional[str] = None, **kwargs) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` (the docstring as description, kept as written) whose ``--help`` lists
    ``--debug``, which :func:`run_tool` reads and removes before the tool parses its arguments."""
    kwargs.setdefault('formatter_class', argparse.RawDescriptionHelpFormatter)
    parser = argparse.ArgumentParser(description=description, **kwargs)
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help=f'show the traceback of an error caused by the input too (also: {DEBUG_ENV}=1)')
    return parser


def remember_config(cfg) -> None:
    """Keep ``cfg`` (the tool's config, later changes included) for naming a rejected key."""
    global _tool_config
    _tool_config = cfg


def _registered(kind: Any) -> Any:
    """The class or function a config's ``type`` names (looked up in mmdet's registries)."""
    if not isinstance(kind, str):
        return kind
    import mmdet.registry
    from mmengine.registry import Registry
    for registry in vars(mmdet.registry).values():
        if isinstance(registry, Registry):
            found = registry.get(kind)
            if found is not None:
                return found
    return None


def _is_a(kind: Any, type_name: str) -> bool:
    """Whether the config ``type`` ``kind`` is ``type_name`` or a subclass of a class of that name
    (a subclass passes unknown keys on to its base class, which rejects them)."""
    if kind == type_name or getattr(kind, '__name__', None) == type_name:
        return True
    cls = _registered(kind) if kind is not None else None
    return isinstance(cls, type) and any(base.__name__ == type_name for base in cls.__mro__)


def _dicts_of_type(node: Any, type_name: str, path: str = '') -> Iterator[Tuple[str, dict]]:
    """``(path, dict)`` of every dict in the nested config ``node`` whose ``type`` is ``type_name``
    (a registry name, a class or function of that name, or a subclass of such a class)."""
    if isinstance(node, dict):
        if 'type' in node and _is_a(node['type'], type_name):
            yield path, node
        for key, value in node.items():
            yield from _dicts_of_type(value, type_name, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _dicts_of_type(value, type_name, f'{path}[{index}]')


def config_error(error: BaseException) -> Optional[UserInputError]:
    """The :class:`UserInputError` that ``error`` stands for when a registry build failed on a key or
    ``type`` written in the tool's config; None for anything else (a bug keeps its traceback)."""
    if _tool_config is None:
        return None
    cfg = _tool_config.to_dict() if hasattr(_tool_config, 'to_dict') else _tool_config
    if isinstance(error, TypeError):
        match = _UNEXPECTED_ARGUMENT.search(str(error))
        if match:
            cls, key = match.groups()
            for path, node in _dicts_of_type(cfg, cls):
                if key in node:
                    owner = getattr(node['type'], '__name__', node['type'])
                    return UserInputError(f'config key {path}.{key}: {owner} has no argument {key!r} (misspelt, or '
                                          f'meant for another part of the config?); fix or remove it')
    if isinstance(error, KeyError) and error.args:
        match = _NOT_REGISTERED.match(str(error.args[0]))
        if match:
            kind, registry = match.groups()
            paths = [f'{path}.type' if path else 'type' for path, _ in _dicts_of_type(cfg, kind)]
            if paths:
                return UserInputError(f"config key {paths[0]}: {kind!r} is not in the {registry} registry (misspelt, "
                                      "or its module not in custom_imports?)")
    return None


def run_tool(main: Callable[[Optional[List[str]]], Any], argv: Optional[List[str]] = None) -> int:
    """Run ``main(argv)`` (``argv`` defaults to ``sys.argv[1:]``) and return the exit status: what
    ``main`` returned if it is an int, else 0; 1 after an error the user caused."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, '') not in ('', '0')
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    try:
        status = main(argv)
    except Exception as error:  # noqa: BLE001 (only the user's errors are caught; the rest re-raised)
        user_error = error if isinstance(error, UserInputError) else config_error(error)
        if user_error is None or debug:
            raise
        tool = osp.basename(sys.argv[0]) or 'tool'
        print(f'{tool}: error: {one_line(user_error)}  (traceback: add {DEBUG_FLAG})', file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0
