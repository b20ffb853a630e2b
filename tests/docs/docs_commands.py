"""Reads the commands and config snippets of README.md and docs/*.md and checks them against the
repository: every ``tools/...`` script a shell block runs exists and its own argparse parser accepts
the arguments used, every repo path named exists, every ``make`` target exists, and every config
snippet loads with mmengine's ``Config``. :func:`problems` returns what is wrong, one line each.

Shell blocks are fenced blocks marked ``bash``, ``sh``, ``shell`` or ``console``; config snippets
are ``python`` blocks that set ``_base_`` (other ``python`` blocks must parse as Python).
"""
import argparse
import ast
import os
import os.path as osp
import re
import shlex
import sys
import tempfile
from typing import Iterator, List, Optional, Tuple

from tests.tools import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHELL_LANGS = {'bash', 'sh', 'shell', 'console'}
PYTHONS = {'python', 'python3', '.venv/bin/python'}
# Tokens that name a file of the repository (outputs such as work_dirs/ and data/ are not checked).
REPO_PATH = re.compile(r'^(configs|tools|projects|custom_ops|tests|docs|requirements)/[^\s<>*]+$')
FENCE = re.compile(r'^```(\w*)\s*$')


def markdown_files(repo: str = REPO) -> List[str]:
    docs = osp.join(repo, 'docs')
    names = sorted(n for n in os.listdir(docs) if n.endswith('.md')) if osp.isdir(docs) else []
    return [osp.join(repo, 'README.md')] + [osp.join(docs, n) for n in names]


def fenced_blocks(text: str) -> Iterator[Tuple[str, int, str]]:
    """``(language, first line number, body)`` of every fenced block."""
    lang, start, body = None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line.strip())
        if lang is None and match:
            lang, start, body = match.group(1).lower(), number + 1, []
        elif lang is not None and line.strip() == '```':
            yield lang, start, '\n'.join(body)
            lang = None
        elif lang is not None:
            body.append(line)


def shell_commands(body: str) -> Iterator[Tuple[int, List[str]]]:
    """``(line offset in the block, tokens)`` of each simple command of a shell block:
    continuation lines joined, comments dropped, split at ``&&``, ``||``, ``;`` and ``|``, leading
    ``VAR=value`` assignments removed."""
    logical: List[Tuple[int, str]] = []
    pending: Optional[Tuple[int, str]] = None
    for offset, line in enumerate(body.splitlines()):
        if pending is not None:
            pending = (pending[0], pending[1] + ' ' + line)
        else:
            pending = (offset, line)
        if pending[1].rstrip().endswith('\\'):
            pending = (pending[0], pending[1].rstrip()[:-1])
            continue
        logical.append(pending)
        pending = None
    if pending is not None:
        logical.append(pending)
    for offset, line in logical:
        line = line.strip()
        if line.startswith('$ '):
            line = line[2:]
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            yield offset, ['<unparsable>', line]
            continue
        command: List[str] = []
        for token in tokens + [';']:
            if token in ('&&', '||', ';', '|'):
                while command and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', command[0]):
                    command.pop(0)
                if command:
                    yield offset, command
                command = []
            else:
                command.append(token)


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__()
        self.parser = parser


def tool_parser(script: str) -> argparse.ArgumentParser:
    """The argparse parser of ``tools/<...>.py``: its ``main`` runs until it first parses arguments,
    which is intercepted before the tool does any work."""
    module = load_tool(osp.splitext(osp.relpath(script, osp.join(REPO, 'tools')))[0])
    original = argparse.ArgumentParser.parse_known_args

    def intercept(self, args=None, namespace=None):
        raise _Parsed(self)

    argparse.ArgumentParser.parse_known_args = intercept
    saved_argv = sys.argv
    sys.argv = [script]
    try:
        try:
            module.main(*([[]] if module.main.__code__.co_argcount else []))
        except _Parsed as parsed:
            return parsed.parser
    finally:
        argparse.ArgumentParser.parse_known_args = original
        sys.argv = saved_argv
    raise AssertionError(f'{script}: main() returned without parsing its arguments')


def check_tool_arguments(script: str, args: List[str]) -> Optional[str]:
    """None if the tool's parser accepts ``args`` (``--debug`` is the tools' common switch, removed
    before parsing as ``run_tool`` does), else argparse's complaint."""
    parser = tool_parser(script)
    args = [a for a in args if a != '--debug']
    errors = []
    parser.error = lambda message: errors.append(message) or (_ for _ in ()).throw(SystemExit(2))
    for sub in parser._subparsers._group_actions if parser._subparsers else []:
        for choice in sub.choices.values():
            choice.error = parser.error
    try:
        parser.parse_args(args)
    except SystemExit:
        return errors[0] if errors else 'exits while parsing'
    return None


def make_targets(repo: str = REPO) -> List[str]:
    with open(osp.join(repo, 'Makefile')) as f:
        return re.findall(r'^([A-Za-z][\w-]*):', f.read(), flags=re.M)


def check_command(tokens: List[str], repo: str = REPO) -> List[str]:
    found = []
    for token in tokens:
        if REPO_PATH.match(token) and not osp.exists(osp.join(repo, token)):
            found.append(f'no such file in the repository: {token}')
    head = tokens[0]
    if head in PYTHONS and len(tokens) > 1 and tokens[1].startswith('tools/') and tokens[1].endswith('.py'):
        script = osp.join(repo, tokens[1])
        if osp.isfile(script):
            complaint = check_tool_arguments(script, tokens[2:])
            if complaint:
                found.append(f'{tokens[1]} does not accept {" ".join(tokens[2:])!r}: {complaint}')
    elif head.startswith('tools/') or head.startswith('./tools/'):
        if head.endswith('.py'):
            found.append(f'{head} run without python (the tools have no run bit): write python {head}')
        elif not osp.isfile(osp.join(repo, head)):
            found.append(f'no such script: {head}')
    elif head == 'make':
        targets = make_targets(repo)
        found += [f'make: no target {t!r} in the Makefile' for t in tokens[1:]
                  if '=' not in t and not t.startswith('-') and t not in targets]
    elif head == '<unparsable>':
        found.append(f'cannot split the shell line {tokens[1]!r}')
    return found


def check_config_snippet(body: str) -> Optional[str]:
    """None if the snippet loads with ``Config.fromfile`` (written to a temporary file outside the
    repository, as a user's own config would be)."""
    from mmengine.config import Config
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'snippet_config.py')
        with open(path, 'w') as f:
            f.write(body)
        try:
            Config.fromfile(path)
        except Exception as error:  # noqa: BLE001 - any failure is the snippet's problem
            return f'{type(error).__name__}: {" ".join(str(error).split())[:300]}'
    return None


def problems(files: Optional[List[str]] = None, repo: str = REPO) -> List[str]:
    """Every problem of the commands and config snippets in ``files`` (default: README.md and
    docs/*.md), as ``<file>:<line>: <problem>``."""
    found = []
    for path in files or markdown_files(repo):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        where = osp.relpath(path, repo)
        for lang, line, body in fenced_blocks(text):
            if lang in SHELL_LANGS:
                for offset, tokens in shell_commands(body):
                    found += [f'{where}:{line + offset}: {p}' for p in check_command(tokens, repo)]
            elif lang == 'python':
                try:
                    tree = ast.parse(body)
                except SyntaxError as error:
                    found.append(f'{where}:{line}: python block does not parse: {error}')
                    continue
                sets_base = any(isinstance(n, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == '_base_' for t in n.targets) for n in tree.body)
                if sets_base:
                    complaint = check_config_snippet(body)
                    if complaint:
                        found.append(f'{where}:{line}: config snippet does not load: {complaint}')
    return found
