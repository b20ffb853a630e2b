"""The one exception class for problems the user caused and can fix (a config, a stage spec, a data
set, a checkpoint or a flag), as opposed to bugs.

The tools (``tools/train.py``, ``tools/test.py`` ...) print such an error's message as one line and
exit non-zero, without a traceback; any other exception keeps its traceback. It subclasses
``ValueError`` so that code catching ``ValueError`` keeps working.
"""


class UserInputError(ValueError):
    """A problem with what the user gave; the message names the file / field / key and the fix."""
