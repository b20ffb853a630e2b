"""Runs several tool command lines in one Python process (each tool subprocess costs ~7 s of
imports): every case ends as ``python tools/<tool>.py ARGS`` would, through ``run_tool``, with its
exit status and what it printed; an exception that ``run_tool`` lets through is recorded with its
traceback, as Python would print it.

    python -m tests.tools.tool_cases < cases.json     # [[tool, [args ...]], ...]

prints ``RESULTS <json>``: ``[{"status": int or null, "stdout": str, "stderr": str}, ...]``.
"""
import contextlib
import io
import json
import os.path as osp
import sys
import traceback

from faster_rcnn_paper.utils.tool_errors import run_tool
from tests.tools import TOOLS, load_tool

MARK = 'RESULTS '


def run_case(tool: str, argv: list) -> dict:
    module = load_tool(tool)
    sys.argv = [osp.join(TOOLS, f'{tool}.py'), *argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = run_tool(module.main, argv)
        except SystemExit as exit_:  # argparse
            status = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 (what the interpreter would print)
            status = None
            traceback.print_exc()
    return dict(status=status, stdout=out.getvalue(), stderr=err.getvalue())


if __name__ == '__main__':
    results = [run_case(tool, argv) for tool, argv in json.load(sys.stdin)]
    print(MARK + json.dumps(results))
