"""The verdict matrix: every cell comes from the checker, and each matches the kernel's history."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app
from gupcheck.designs import DESIGNS
from gupcheck.lab import run_cell, run_matrix
from gupcheck.scenarios import SCENARIOS

runner = CliRunner()


def test_the_control_scenario_holds_under_every_design() -> None:
    cells = run_matrix([SCENARIOS["control-cpu-mmap-write"]], list(DESIGNS.values()))
    assert [c.verdict for c in cells] == ["holds"] * len(DESIGNS)
    assert all(c.states > 50 for c in cells)


def test_a_refused_request_is_its_own_verdict_with_the_errno() -> None:
    cell = run_cell(SCENARIOS["rdma-longterm-file"], DESIGNS["linux-6.12"])
    assert (cell.verdict, cell.errno, cell.violated) == ("refused", "EFAULT", ())
    cell = run_cell(SCENARIOS["rdma-longterm-file"], DESIGNS["linux-6.1"])
    assert cell.verdict == "violated"
    # the lost write is lost across a power failure too (crash-consistent)
    assert cell.violated == ("stable-writeback", "mkwrite-before-dirty", "no-lost-write",
                             "crash-consistent")


def test_a_cell_lists_every_property_the_design_breaks_each_with_its_own_trace() -> None:
    old = run_cell(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"])
    new = run_cell(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.12"])
    assert "dirty-has-backing" in old.violated and "dirty-has-backing" not in new.violated
    assert "mkwrite-before-dirty" in new.violated  # the unsolved short-term DIO race
    for p in old.violated:
        assert old.results[p].trace is not None


def test_matrix_command_writes_markdown_and_json(tmp_path) -> None:
    md = tmp_path / "m.md"
    result = runner.invoke(app, ["matrix",
                                 "--scenarios", "control-cpu-mmap-write,rdma-longterm-file",
                                 "--designs", "linux-6.1,linux-6.12", "--format", "markdown",
                                 "--out", str(md)])
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert "| scenario | linux-6.1 | linux-6.12 |" in text
    assert "refused: EFAULT" in text
    result = runner.invoke(app, ["matrix", "--scenarios", "rdma-longterm-file", "--format", "json"])
    data = json.loads(result.output)
    assert {(c["design"], c["verdict"]) for c in data} >= {("linux-6.12", "refused")}
    assert all({"scenario", "design", "verdict", "property", "errno", "states"} <= set(c)
               for c in data)


def test_matrix_with_an_unknown_design_lists_the_valid_ones() -> None:
    result = runner.invoke(app, ["matrix", "--designs", "linux-9"])
    assert result.exit_code == 2 and "linux-6.12" in result.output


def test_matrix_refuses_a_scenario_or_design_named_twice() -> None:
    for args in (["--scenarios", "dio-vs-reclaim,dio-vs-reclaim"],
                 ["--designs", "legacy,legacy"]):
        result = runner.invoke(app, ["matrix", *args])
        assert result.exit_code == 2 and "named twice" in result.output, args


def test_check_exits_4_when_the_design_refuses_the_request() -> None:
    result = runner.invoke(app, ["check", "rdma-longterm-file"])
    assert result.exit_code == 4
    assert "REFUSED" in result.output and "-EFAULT" in result.output


def test_a_scenario_file_given_by_path_is_checked(tmp_path) -> None:
    f = tmp_path / "x.toml"
    f.write_text(SCENARIOS_TEXT)
    result = runner.invoke(app, ["check", str(f), "--design", "linux-6.1"])
    assert result.exit_code == 1 and "my-race" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIOS_TEXT.replace("page = 0, value", "page = 9, value"))
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:7: actor[0].program[0].page" in result.output.replace("\n", "")


SCENARIOS_TEXT = '''\
name = "my-race"
description = "mine"

[[actor]]
name = "CPU0 app"
program = [
  { op = "dio_read", page = 0, value = "B1" },
]

[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
'''


def test_skip_and_bounce_all_closes_the_deferred_redirty_race_that_bounce_writeback_leaves(
) -> None:
    sc = SCENARIOS["deferred-redirty-vs-fsync"]
    assert run_cell(sc, DESIGNS["skip-and-bounce-all"]).verdict == "holds"
    cell = run_cell(sc, DESIGNS["bounce-writeback"])
    assert cell.violated == ("no-lost-write", "crash-consistent")  # lost across a power failure
    # the RFC as posted does not touch ext4's writeback: the race stays
    assert run_cell(sc, DESIGNS["skip-and-bounce"]).violated == cell.violated


def test_a_pin_taken_through_page_mkwrite_after_writeback_started_is_tolerated() -> None:
    """stable-writeback as defined: the late pin came through a write fault after the submit,
    like a CPU store, which a plain device tolerates (the page is dirty again)."""
    from gupcheck.engine import Verdict, check
    from gupcheck.kernel.system import KernelModel

    r = check(KernelModel(SCENARIOS["dio-read-into-mmap"], DESIGNS["bounce-writeback"],
                          ["stable-writeback"]))
    assert r.verdict is Verdict.HOLDS
    r = check(KernelModel(SCENARIOS["dio-read-into-mmap"], DESIGNS["linux-6.12"],
                          ["stable-writeback"]))
    assert r.verdict is Verdict.VIOLATED  # without the bounce copy, an earlier pin tears it


def test_block_writeback_deadlocks_an_fsync_behind_a_long_term_pin() -> None:
    cell = run_cell(SCENARIOS["rdma-longterm-file"], DESIGNS["block-writeback"])
    assert "deadlock" in cell.violated and "writeback-progress" in cell.violated
    dead = cell.results["deadlock"]
    assert dead.trace is not None
    assert any("PG_writeback set until unpin" in lab for lab in dead.trace.labels())
    assert any("folio_wait_writeback" in w.on or "fdatawait" in w.on for w in dead.waits)
    assert cell.results["writeback-progress"].trace.stutters  # fsync never returns


def test_proposal_cells_equal_to_their_base_are_marked() -> None:
    cells = run_matrix([SCENARIOS["control-cpu-mmap-write"]],
                       [DESIGNS["linux-6.12"], DESIGNS["bounce-writeback"]])
    assert [c.same_as_base for c in cells] == [False, True]


def test_a_scenario_that_needs_io_uring_is_not_applicable_to_v4_20() -> None:
    cell = run_cell(SCENARIOS["iouring-fixed-file-buffer"], DESIGNS["legacy"])
    assert (cell.verdict, cell.errno) == ("n/a", "io_uring appeared in 5.1")


def test_odp_leaves_io_uring_fixed_buffers_pinned() -> None:
    from gupcheck.designs import PROPOSAL_BASE

    sc = SCENARIOS["iouring-fixed-file-buffer"]
    odp, base = run_cell(sc, DESIGNS["odp"]), run_cell(sc, PROPOSAL_BASE)
    assert odp.outcome() == base.outcome() and "no-lost-write" in odp.violated


def test_page_mkwrite_at_unpin_deadlocks_against_truncate_as_dave_chinner_objected() -> None:
    sc = SCENARIOS["dio-unpin-vs-truncate"]
    cell = run_cell(sc, DESIGNS["bounce-writeback-mkwrite"])
    assert "wait-for-cycle" in cell.violated
    cycle = cell.results["wait-for-cycle"]
    assert {(w.actor, w.on) for w in cycle.waits} == {
        ("CPU1 truncate", "folio lock of page 0"),
        ("kworker bio_dirty_work", "filemap_invalidate_lock_shared")}
    from .kernel.helpers import assert_steps_in_order

    assert_steps_in_order(cycle, ["ext4_setattr: filemap_invalidate_lock",
                                  "queue on bio_dirty_list",
                                  "put_user_page(page 0, dirty): folio_lock"])
    # the same workload without ->page_mkwrite at unpin has no lock cycle
    assert "wait-for-cycle" not in run_cell(sc, DESIGNS["bounce-writeback"]).violated


def test_check_writes_a_trace_that_replay_reproduces_and_another_design_does_not(tmp_path) -> None:
    out = tmp_path / "f1.json"
    result = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                                 "--property", "dirty-has-backing", "--trace-out", str(out)])
    assert result.exit_code == 1
    again = runner.invoke(app, ["replay", str(out)])
    assert again.exit_code == 1 and "REPRODUCED" in again.output
    other = runner.invoke(app, ["replay", str(out), "--design", "linux-6.12"])
    assert other.exit_code == 6 and "NOT REPRODUCED" in other.output
    assert "(FOLL_GET), mmap_read_unlock') is not enabled" in other.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert runner.invoke(app, ["replay", str(bad)]).exit_code == 2


def test_the_matrix_is_the_same_computed_by_two_processes() -> None:
    scs = [SCENARIOS["vmsplice-fork-leak"], SCENARIOS["rdma-longterm-file"]]
    ds = [DESIGNS["legacy"], DESIGNS["linux-6.12"], DESIGNS["odp"]]
    one = run_matrix(scs, ds)
    two = run_matrix(scs, ds, workers=2)
    assert [(c.scenario, c.design, c.outcome(), c.states, c.same_as_base) for c in one] == [
        (c.scenario, c.design, c.outcome(), c.states, c.same_as_base) for c in two]


def test_page_mkwrite_at_unpin_never_runs_in_bio_completion() -> None:
    """A still-dirty page is only released in end_io (bio_release_pages(bio, false)); a cleaned
    one goes to the bio_dirty_work kworker, which may sleep."""
    cell = run_cell(SCENARIOS["dio-read-into-mmap"], DESIGNS["bounce-writeback-mkwrite"])
    assert "no-sleep-in-atomic" not in cell.violated
    assert "no-sleep-in-atomic" in SCENARIOS["dio-read-into-mmap"].properties


def test_page_mkwrite_at_unpin_closes_a_cycle_through_a_queued_mmap_write_lock() -> None:
    """docs/failures.md: a fault holds mmap_read and wants the folio lock; the unpin holds
    the folio lock and wants mmap_read, which a queued munmap (writer preference) withholds."""
    sc = SCENARIOS["mkwrite-unpin-vs-munmap"]
    cell = run_cell(sc, DESIGNS["bounce-writeback-mkwrite"])
    cycle = cell.results["wait-for-cycle"]
    assert {(w.actor, w.on) for w in cycle.waits} == {
        ("CPU1 app", "folio lock of page 0"),
        ("kworker bio_dirty_work", "mmap_read_lock (a writer is queued: writer preference)"),
        ("CPU2 app", "mmap_write_lock (waiting for the holders)")}
    from .kernel.helpers import assert_steps_in_order

    assert_steps_in_order(cycle, ["CPU1 app: do_user_addr_fault(page 0): lock_vma_under_rcu",
                                  "munmap: mmap_write_lock: queued behind the readers",
                                  "queue on bio_dirty_list",
                                  "put_user_page(page 0, dirty): folio_lock"])
    assert run_cell(sc, DESIGNS["bounce-writeback"]).verdict == "holds"


def test_page_mkwrite_at_unpin_meets_enospc_after_the_dma_on_a_cow_filesystem() -> None:
    """Dave Chinner's "Think ENOSPC": ->page_mkwrite at put_user_page time reserves space
    only after the device wrote the data."""
    cell = run_cell(SCENARIOS["enospc-after-dma"], DESIGNS["bounce-writeback-mkwrite"])
    assert "no-enospc-after-dma" in cell.violated
    from .kernel.helpers import assert_steps_in_order

    assert_steps_in_order(cell.results["no-enospc-after-dma"],
                          ["btrfs_page_mkwrite: folio_lock, btrfs_delalloc_reserve_space",
                           "DMA of read bio #0 writes B1",
                           "put_user_page(page 0, dirty): folio_lock",
                           "btrfs_delalloc_reserve_space fails (-ENOSPC)"])
    assert "no-enospc-after-dma" not in run_cell(SCENARIOS["enospc-after-dma"],
                                                 DESIGNS["bounce-writeback"]).violated


def test_check_says_a_scenario_does_not_apply_to_a_kernel_without_io_uring() -> None:
    result = runner.invoke(app, ["check", "fork-after-pin", "--design", "legacy"])
    assert result.exit_code == 9, result.output
    assert "NOT APPLICABLE — io_uring appeared in 5.1" in result.output
    assert run_cell(SCENARIOS["fork-after-pin"], DESIGNS["legacy"]).verdict == "n/a"


# --- matrix exit codes, limits named, counts from one search, a table that fits ------------

def test_matrix_exit_codes_say_whether_every_cell_is_complete() -> None:
    from gupcheck.cli.exitcodes import matrix_exit
    assert matrix_exit(["holds", "violated", "deadlock", "starves", "refused", "n/a"]) == 0
    assert matrix_exit(["holds", "incomplete"]) == 3
    assert matrix_exit(["not run", "violated"]) == 3
    assert matrix_exit(["incomplete", "error", "holds"]) == 5


def test_an_incomplete_matrix_exits_3_and_names_the_limit_in_every_format() -> None:
    args = ["matrix", "--scenarios", "control-cpu-mmap-write,rdma-longterm-file",
            "--designs", "linux-6.1", "--max-states", "500", "--workers", "1"]
    table = runner.invoke(app, args)
    assert table.exit_code == 3, table.output
    assert "incomplete: max-states" in table.output
    assert "holds (152 states)" in table.output  # the complete cell keeps its verdict
    markdown = runner.invoke(app, [*args, "--format", "markdown"])
    assert markdown.exit_code == 3 and "| incomplete: max-states |" in markdown.output
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)
    cell = next(c for c in data if c["scenario"] == "rdma-longterm-file")
    assert (cell["verdict"], cell["bound"]) == ("incomplete", "max-states (500)")
    complete = runner.invoke(app, ["matrix", "--scenarios", "rdma-longterm-file",
                                   "--designs", "linux-6.1,linux-6.12", "--workers", "1"])
    assert complete.exit_code == 0, complete.output  # violated and refused are results


def test_matrix_json_counts_come_from_one_search() -> None:
    """states, transitions, depth and seconds are the safety search's, not the states of one
    search beside the transitions of a finding's or a liveness run's."""
    result = runner.invoke(app, ["matrix", "--scenarios", "dio-vs-reclaim", "--designs",
                                 "linux-6.1", "--format", "json", "--workers", "1"])
    [item] = json.loads(result.output)
    run = run_cell(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"]).results[""].stats
    assert (item["states"], item["transitions"], item["depth"]) == (
        run.distinct, run.generated, run.depth)
    assert "safety search" in item["counts_from"]
    assert item["trace_length"] == len(item["trace"]) - 1 > 0


def test_the_terminal_matrix_fits_the_terminal_width() -> None:
    args = ["matrix", "--scenarios", "control-cpu-mmap-write,rdma-longterm-file",
            "--workers", "1"]
    for columns in (80, 120, 200):
        result = runner.invoke(app, args, env={"COLUMNS": str(columns)})
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert max(map(len, lines)) <= columns
        for design in DESIGNS:  # every design is still there, each in some table
            assert any(design in line for line in lines), design
        assert "refused: EFAULT" in result.output


def test_matrix_and_check_warn_when_workers_exceed_the_cores() -> None:
    from gupcheck.cli.search_options import available_cores
    many = str(available_cores() + 3)
    result = runner.invoke(app, ["matrix", "--scenarios", "control-cpu-mmap-write",
                                 "--designs", "linux-6.1", "--workers", many])
    assert result.exit_code == 0
    assert f"--workers {many} is more than the {available_cores()} core" in result.output
    result = runner.invoke(app, ["check", "control-cpu-mmap-write", "--workers", many])
    assert result.exit_code == 0
    assert "is more than the" in result.output
    quiet = runner.invoke(app, ["check", "control-cpu-mmap-write", "--workers", "1"])
    assert "is more than the" not in quiet.output


def _count_searches(monkeypatch) -> list[str]:
    import importlib
    cli = importlib.import_module("gupcheck.cli.app")  # the module, not the Typer app
    calls: list[str] = []
    real = cli.check

    def counted(model, **kwargs):
        calls.append(type(model).__name__)
        return real(model, **kwargs)

    monkeypatch.setattr(cli, "check", counted)
    return calls


@pytest.mark.parametrize("scenario,design,code", [
    ("control-cpu-mmap-write", "linux-6.12", 0),  # holds
    ("rdma-longterm-file", "linux-6.12", 4),  # refused
    ("fork-after-pin", "legacy", 9),  # not applicable
])
def test_check_finds_the_verdict_and_any_refusal_in_one_search(monkeypatch, scenario, design,
                                                               code) -> None:
    calls = _count_searches(monkeypatch)
    result = runner.invoke(app, ["check", scenario, "--design", design])
    assert result.exit_code == code, result.output
    assert calls == ["Refusable"]


def test_check_looks_for_a_refusal_after_an_early_counterexample(monkeypatch) -> None:
    """A violation found first does not hide a refusal reachable later: the cell's verdict
    would be "refused", and so is check's (a search for the refusal alone, bounded by the
    same limits)."""
    calls = _count_searches(monkeypatch)
    result = runner.invoke(app, ["check", "rdma-longterm-file", "--design", "linux-6.1"])
    assert result.exit_code == 1, result.output
    assert calls == ["Refusable", "RefusalProbe"]


@pytest.mark.parametrize("strategy", ["dfs", "random"])
def test_a_refusal_found_by_another_strategy_is_reported_with_the_shortest_trace(strategy) -> None:
    bfs = json.loads(runner.invoke(app, ["check", "rdma-longterm-file", "--design",
                                         "linux-6.12", "--json"]).output)
    other = runner.invoke(app, ["check", "rdma-longterm-file", "--design", "linux-6.12",
                                "--json", "--strategy", strategy])
    assert other.exit_code == 4, other.output
    data = json.loads(other.output)
    assert (data["verdict"], data["errno"]) == ("refused", "EFAULT")
    assert [s["label"] for s in data["trace"]] == [s["label"] for s in bfs["trace"]]


def test_a_liveness_run_that_fails_makes_the_cell_an_error(monkeypatch) -> None:
    """The model failing in a liveness run is the cell's answer (error), never a 'holds'
    the safety run alone would give."""
    from dataclasses import replace

    from gupcheck import lab
    from gupcheck.engine import Verdict

    real = lab.check_liveness
    monkeypatch.setattr(lab, "check_liveness", lambda model, limits: replace(
        real(model, limits=limits), verdict=Verdict.ERROR, message="the model failed"))
    sc = SCENARIOS["dio-vs-reclaim"]
    assert any(p in lab.LIVENESS for p in sc.properties)
    assert run_cell(sc, DESIGNS["linux-6.12"]).verdict == "error"
