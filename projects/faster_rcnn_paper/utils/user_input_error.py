"""The one exception class for problems the user caused and can fix (a config, a stage spec, a data
set, a checkpoint or a flag), as opposed to bugs.

The tools (``tools/train.py``, ``tools/test.py`` ...) print such an error's message as one line and
exit non-zero, without a traceback (``faster_rcnn_paper.utils.tool_errors.run_tool``); any other
exception keeps its traceback. It subclasses ``ValueError`` so that code catching ``ValueError``
keeps working.
"""


class UserInputError(ValueError):
    """A problem with what the user gave; the message names the file / field / key and the fix."""


class UserFileNotFoundError(UserInputError, FileNotFoundError):
    """A file the user named (a config, a data list, an image, a checkpoint) does not exist.

    Also a ``FileNotFoundError``, so code that catches that keeps working."""
