"""Every block of pasted output in the docs is what the program prints today."""

from __future__ import annotations

import re

import pytest

from .pasted import MARKER, REGENERATE, Block, all_blocks, cut, normalise, run

BLOCKS = all_blocks()


def test_the_quickstart_pastes_are_marked() -> None:
    commands = [b.command.split()[1] for b in BLOCKS if b.path.name == "quickstart.md"]
    assert commands.count("check") >= 1 and commands.count("matrix") >= 1


# a pasted matrix runs many exhaustive searches (15 s each here): the slow lane
@pytest.mark.parametrize("block", [
    pytest.param(b, id=b.where, marks=[pytest.mark.slow] if " matrix" in b.command else [])
    for b in BLOCKS])
def test_pasted_output_matches_the_program(block: Block) -> None:
    code, output = run(block)
    assert code == block.exit_code, (
        f"{block.where}: `{block.command}` exits {code}, the docs say {block.exit_code}")
    assert normalise(output) == normalise(block.body), (
        f"{block.where}: the output of `{block.command}` has changed. Paste it again with "
        f"`{REGENERATE}` (from the repository root), then reread the prose around it: "
        "it may quote figures from the old output.")


def test_timings_are_masked_but_counts_are_not() -> None:
    a = "  1,240 distinct states, 2,352 generated, depth 15, 0.07 s (16,727 distinct states/s)"
    b = "  1,240 distinct states, 2,352 generated, depth 15, 0.31 s (4,000 distinct states/s)"
    assert normalise(a) == normalise(b)
    assert normalise(a) != normalise(a.replace("1,240", "1,241"))


def test_an_excerpt_takes_the_steps_and_their_changes() -> None:
    out = "x\n   13  kswapd: a\n         f: 1 → 2\n   14  kswapd: b\n   15✗ CPU0: c\n" \
          "         g: - → 3\n\nSearch: bfs\n"
    block = Block(path=None, start=0, end=0, command="gupcheck", exit_code=1,  # type: ignore[arg-type]
                  cut_after=None, excerpt=("13", "15✗"), steps_only=False, body="")
    assert cut(block, out) == ("   13  kswapd: a\n         f: 1 → 2\n   14  kswapd: b\n"
                               "   15✗ CPU0: c\n         g: - → 3\n")
    steps = Block(**{**block.__dict__, "steps_only": True})
    assert cut(steps, out) == "   13  kswapd: a\n   14  kswapd: b\n   15✗ CPU0: c\n"


def test_cells_quoted_in_the_prose_are_in_the_pasted_output() -> None:
    """The quick start explains cells of its pasted matrix (`holds (158 states)`,
    `violated P2b@15`): each one it quotes must be in a pasted block of the same page."""
    for path in {b.path for b in BLOCKS if " matrix" in b.command}:
        text = path.read_text(encoding="utf-8")
        pasted = "".join(b.body for b in BLOCKS if b.path == path)
        prose = MARKER.sub("", text)
        for quoted in re.findall(r"`(holds \([\d,]+ states\)|P\d+[ab]?@\d+)`", prose):
            assert quoted in pasted, (
                f"{path.name} quotes `{quoted}`, which its pasted output no longer shows: "
                f"update the prose after `{REGENERATE}`")
