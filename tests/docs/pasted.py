"""Pasted output in the docs, as a tested artefact: each block is the output of the command its
marker names, and ``python -m tests.docs.pasted`` (from the repository root) pastes it again.

A block is a fenced code block right after a marker comment::

    <!-- output: gupcheck check dio-vs-reclaim --design linux-6.1; exit 1; cut after: Coverage -->
    ```
    ...the output...
    ```

Marker options, after the command, separated by ``;``:

* ``exit N``: the command's exit code (default 0);
* ``cut after: TEXT``: keep the output up to the first line that starts with TEXT (spaces
  aside), then a line ``  ...``;
* ``excerpt: A -> B``: only the lines from the first one starting with A to the first one after
  it starting with B, with the lines indented under B (a trace step and what it changed);
* ``steps``: of those, only the step lines, not the changes indented under them.

Timings and memory figures change from run to run: :func:`normalise` masks them on both sides,
so the docs keep real figures from the run that pasted them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
REGENERATE = "python -m tests.docs.pasted"

MARKER = re.compile(r"^<!-- output: (?P<spec>.*?) -->\n```[a-z]*\n(?P<body>.*?)^```$",
                    re.MULTILINE | re.DOTALL)

#: what changes between two runs of the same command: masked before comparing
VOLATILE = [
    (re.compile(r"[\d,]+\.\d+ s \([\d,]+ distinct states/s\)"), "<time>"),
    (re.compile(r"memory: .*"), "memory: <volatile>"),
]


@dataclass(frozen=True)
class Block:
    """One pasted block: where it is, the command and how its output is cut."""

    path: Path
    start: int  # offset of the block's body in the file
    end: int
    command: str
    exit_code: int
    cut_after: str | None
    excerpt: tuple[str, str] | None
    steps_only: bool
    body: str

    @property
    def where(self) -> str:
        line = self.path.read_text(encoding="utf-8").count("\n", 0, self.start)
        return f"{self.path.relative_to(ROOT)}:{line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in MARKER.finditer(text):
        command, *options = [p.strip() for p in m.group("spec").split(";")]
        exit_code, cut, excerpt, steps = 0, None, None, False
        for opt in options:
            key, _, value = opt.partition(":")
            if opt.startswith("exit "):
                exit_code = int(opt.split()[1])
            elif key == "cut after":
                cut = value.strip()
            elif key == "excerpt":
                a, _, b = value.partition("->")
                excerpt = (a.strip(), b.strip())
            elif opt == "steps":
                steps = True
            else:
                raise ValueError(f"{path}: unknown option {opt!r} in an output marker")
        out.append(Block(path, m.start("body"), m.end("body"), command, exit_code, cut, excerpt,
                         steps, m.group("body")))
    return out


def all_blocks() -> list[Block]:
    return [b for path in DOCS for b in blocks(path)]


def run(block: Block) -> tuple[int, str]:
    """The command's exit code and its output, cut as the block says.  Run in-process, in an
    empty directory (a command may write a file such as ``--html f1.html``)."""
    from gupcheck.cli.app import app

    args = shlex.split(block.command)
    assert args[0] == "gupcheck", f"{block.where}: not a gupcheck command: {block.command}"
    runner = CliRunner()
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            result = runner.invoke(app, args[1:], env={"COLUMNS": "100"},
                                   catch_exceptions=False)
        finally:
            os.chdir(here)
    return result.exit_code, cut(block, result.stdout)


def cut(block: Block, output: str) -> str:
    lines = [ln.rstrip() for ln in output.splitlines()]
    if block.cut_after is not None:
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith(block.cut_after))
        lines = lines[: at + 1] + ["  ..."]
    if block.excerpt is not None:
        a, b = block.excerpt
        first = next(i for i, ln in enumerate(lines) if ln.strip().startswith(a))
        last = next(i for i in range(first, len(lines)) if lines[i].strip().startswith(b))
        indent = len(lines[last]) - len(lines[last].lstrip())
        end = last + 1
        while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent + 3:
            end += 1
        lines = lines[first:end]
        if block.steps_only:
            lines = [ln for ln in lines if len(ln) - len(ln.lstrip()) <= indent + 3]
    return "\n".join(lines) + "\n"


def normalise(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip("\n").splitlines()]
    out = "\n".join(lines)
    for pattern, mask in VOLATILE:
        out = pattern.sub(mask, out)
    return out


def regenerate() -> list[str]:
    """Paste every block's output again; returns the blocks that changed."""
    changed = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in reversed(blocks(path)):  # from the end: offsets stay valid
            code, output = run(block)
            if code != block.exit_code:
                print(f"{block.where}: `{block.command}` exited {code}, the marker says "
                      f"{block.exit_code}: fix the marker and the prose", file=sys.stderr)
            if normalise(output) != normalise(block.body):
                changed.append(f"{block.where}: {block.command}")
                text = text[: block.start] + output + text[block.end:]
        path.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "100")
    for where in regenerate():
        print(f"pasted again: {where}")
