"""How every tool of this project ends on an error the user caused: the message as one line on
stderr and exit status 1, without a traceback.

    if __name__ == '__main__':
        sys.exit(run_tool(main))

``main(argv)`` is the tool's entry point. A :class:`UserInputError` (a missing config, checkpoint or
data list, a dataset problem, a checkpoint of another model, a bad flag value) is printed as
``<tool>: error: <message>``. Every other exception is a bug and keeps its full traceback. With
``--debug`` on the command line (removed before ``main`` sees the arguments) or the environment
variable ``FASTER_RCNN_PAPER_DEBUG=1``, user errors show their traceback too.
"""
import os
import os.path as osp
import sys
from typing import Any, Callable, List, Optional

from .user_input_error import UserInputError

DEBUG_FLAG = '--debug'
DEBUG_ENV = 'FASTER_RCNN_PAPER_DEBUG'


def one_line(error: BaseException) -> str:
    """The error's message with its line breaks folded into spaces."""
    return ' '.join(str(error).split())


def run_tool(main: Callable[[Optional[List[str]]], Any], argv: Optional[List[str]] = None) -> int:
    """Run ``main(argv)`` (``argv`` defaults to ``sys.argv[1:]``) and return the exit status: what
    ``main`` returned if it is an int, else 0; 1 after a :class:`UserInputError`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, '') not in ('', '0')
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    try:
        status = main(argv)
    except UserInputError as error:
        if debug:
            raise
        tool = osp.basename(sys.argv[0]) or 'tool'
        print(f'{tool}: error: {one_line(error)}  (traceback: add {DEBUG_FLAG})', file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0
