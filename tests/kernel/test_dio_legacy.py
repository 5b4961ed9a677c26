"""Direct-I/O reads on 4.20: fs/direct-io.c, not iomap (KernelConfig.dio_iomap).

ext4 went through ``__blockdev_direct_IO`` until 5.5 (b1b4705d54ab "ext4: introduce direct I/O
read using iomap infrastructure").  There a synchronous read dirties its pages only after the
DMA, in the reading task (``dio_await_completion`` -> ``dio_bio_complete``:
``set_page_dirty_lock``, ``put_page``), before read() returns; only an AIO read dirties at
submit (``dio_bio_submit``: ``bio_set_pages_dirty``) and checks at completion
(``dio_bio_end_aio`` -> ``bio_check_pages_dirty``, deferring to ``bio_dirty_work``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Label, Verdict
from gupcheck.kernel.fs.ext4 import EXT4_DIRTY_FOLIO_WARN
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, end_results, run

APP = "CPU0 app"


def _scenario(name: str, program: str, flusher: bool = True, pages: str = "") -> Scenario:
    flush = ('[[actor]]\nname = "flusher"\ndaemon = true\n'
             'program = [ { op = "writeback_pass" } ]\n') if flusher else ""
    return parse(f'name = "{name}"\ndescription = "test"\n{pages}[[actor]]\n'
                 f'name = "{APP}"\nprogram = [\n{program}\n]\n{flush}', f"<{name}>")


SYNC = _scenario("sync-read", '{ op = "dio_read", page = 0, value = "B1" }, { op = "fsync" },')
AIO = _scenario("aio-read", '{ op = "aio_read", page = 0, value = "B1" }, { op = "fsync" },')


def _transitions(sc: Scenario, design: str) -> Iterator[tuple[KState, Label, KState]]:
    """Every transition of the scenario's whole state graph."""
    model = KernelModel(sc, DESIGNS[design], ())
    seen, todo = set(model.init_states()), list(model.init_states())
    while todo:
        k = todo.pop()
        for label, nxt in model.successors(k):
            yield k, label, nxt
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)


def _reads_in_flight(k: KState) -> bool:
    return any(not b.write and not b.to_other for b in k.bios)


def test_only_legacy_runs_direct_io_through_fs_direct_io_c() -> None:
    assert {name for name, d in DESIGNS.items() if not d.dio_iomap} == {"legacy"}


@pytest.mark.parametrize(("scenario", "design", "path"), [
    ("dio-read-into-mmap-xfs", "legacy", "iomap_dio_bio_iter"),  # XFS: iomap since 4.10
    ("dio-read-into-mmap-btrfs", "pin-counting", "dio_bio_submit"),  # btrfs: iomap from 5.9
    ("dio-read-into-mmap-btrfs", "linux-6.1", "iomap_dio_bio_iter"),
    ("dio-read-into-mmap", "pin-counting", "iomap_dio_bio_iter"),  # ext4: iomap from 5.5
])
def test_each_filesystem_moved_to_iomap_direct_io_in_its_own_release(
        scenario: str, design: str, path: str) -> None:
    cover = run(scenario, design).coverage
    submits = {lab.split(": submit_bio")[0].split(": ")[-1] for lab in cover
               if "submit_bio (read bio" in lab}
    assert submits == {path}


def test_a_legacy_synchronous_read_dirties_in_the_reading_task_after_the_dma() -> None:
    """Over every transition: no bio_set_pages_dirty at submit, no bio_dirty_work; the only
    dirtying of the read is the app's own dio_bio_complete, with every DMA done and read() not
    yet returned."""
    dirtied = 0
    for k, label, nxt in _transitions(SYNC, "legacy"):
        assert "bio_set_pages_dirty" not in label.action, label
        assert "bio_dirty_fn" not in label.action, label
        if "set_page_dirty_lock" in label.action:
            dirtied += 1
            assert label.actor == APP and "dio_bio_complete" in label.action, label
            assert not _reads_in_flight(k), f"dirtied while the DMA is in flight: {label}"
            assert nxt.threads[0].pc == 0, "read() had already returned"
            assert nxt.folio(0).dirty
    assert dirtied > 0


def test_the_legacy_trace_orders_submit_dma_wakeup_dirtying_and_return() -> None:
    result = run("dio-read-into-mmap", "legacy", "stable-writeback")
    assert result.verdict is Verdict.VIOLATED  # the DMA still lands under writeback (O1)
    assert_steps_in_order(result, ["grabs page 0 (FOLL_GET)", "dio_bio_submit: submit_bio",
                                   "DMA of read bio"])
    full = run("dio-read-into-mmap", "legacy", "pin-accounting")  # holds: the whole graph
    assert full.verdict is Verdict.HOLDS
    fired = set(full.coverage)
    assert f"{APP}: dio_await_completion: dio_bio_complete: set_page_dirty_lock(page 0), " \
           "put_page(page 0)" in fired
    assert any(f.startswith("disk: dio_bio_end_io: read bio") and "wake_up_process" in f
               for f in fired)
    assert f"{APP}: dio_complete: read() returns ok" in fired
    assert not any("iomap" in f or "bio_set_pages_dirty" in f or "bio_check_pages_dirty" in f
                   for f in fired)


@pytest.mark.parametrize("design", ["pin-counting", "linux-6.1", "linux-6.12"])
def test_from_5_5_the_read_is_dirtied_at_submit_through_iomap(design: str) -> None:
    fired = set(run("dio-read-into-mmap", design, "pin-accounting").coverage)
    assert any("bio_set_pages_dirty: set_page_dirty_lock(page 0)" in f for f in fired)
    assert any("iomap_dio_bio_iter: submit_bio" in f for f in fired)
    assert not any("dio_bio_complete" in f for f in fired)


def test_fsync_after_a_legacy_synchronous_read_finds_the_page_dirty() -> None:
    """The deferred re-dirtying that fsync can miss on 5.5+ (deferred-redirty-vs-fsync) does
    not exist for a synchronous read on 4.20: the page is dirtied before read() returns."""
    assert run("deferred-redirty-vs-fsync", "legacy").verdict is Verdict.HOLDS
    assert run("deferred-redirty-vs-fsync", "linux-6.1").verdict is Verdict.VIOLATED


def test_a_legacy_aio_read_dirties_at_submit_and_can_defer_to_bio_dirty_work() -> None:
    fired = {label.action for _, label, _ in _transitions(AIO, "legacy")}
    assert "dio_bio_submit: bio_set_pages_dirty: set_page_dirty_lock(page 0)" in fired
    assert any(f.startswith("dio_bio_end_aio: ") and "bio_check_pages_dirty: page 0 was cleaned"
               in f and "ki_complete" in f for f in fired)
    assert "bio_dirty_fn: set_page_dirty_lock(page 0), put_page" in fired
    assert not any("dio_bio_complete: set_page_dirty_lock" in f for f in fired)


def test_a_legacy_aio_read_loses_the_write_to_an_fsync_before_bio_dirty_work() -> None:
    """dio_bio_end_aio checks the pages, defers the cleaned one and posts the completion;
    io_getevents returns and fsync finds the page clean before bio_dirty_fn re-dirties it."""
    from gupcheck.engine import check

    result = check(KernelModel(AIO, DESIGNS["legacy"], ["no-lost-write"]))
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "dio_bio_submit: bio_set_pages_dirty", "folio_clear_dirty_for_io", "DMA of read bio",
        "queue on bio_dirty_list", "io_getevents", "fsync returns 0"])
    assert not any("bio_dirty_fn" in lab for lab in result.trace.labels())
    sync = check(KernelModel(SYNC, DESIGNS["legacy"], ["no-lost-write"]))
    assert sync.verdict is Verdict.HOLDS


def test_f1_on_4_20_the_reading_task_dirties_the_stripped_page() -> None:
    """The 2018 crash with a synchronous O_DIRECT read: writeback cleans the page and reclaim
    strips its buffers between GUP and the waiter's dio_bio_complete — the shortest trace does
    it after the DMA, while the woken task has yet to run."""
    result = run("dio-vs-reclaim", "legacy", "dirty-has-backing")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "grabs page 0 (FOLL_GET)", "folio_clear_dirty_for_io", "try_to_free_buffers",
        "folio_ref_freeze(page 0, 2) fails",
        f"{APP}: dio_await_completion: dio_bio_complete: set_page_dirty_lock(page 0)"])
    # the reading task runs dio_bio_complete itself, after dio_bio_end_io has woken it
    assert_steps_in_order(result, ["DMA of read bio", "dio_bio_end_io", "dio_bio_complete"])
    assert EXT4_DIRTY_FOLIO_WARN in result.trace.steps[-1].state.ghost.events


def test_a_legacy_read_that_faults_part_way_returns_a_short_count() -> None:
    """dio_complete: "ignore EFAULT if some IO has been done" (iomap returns -EFAULT)."""
    assert end_results("dio-beyond-eof", "legacy") == {
        ("read=short", "msync=0", "load=B1|B1", "SIGBUS")}


def test_a_legacy_two_page_read_dirties_each_page_as_the_waiter_reaps_its_bio() -> None:
    sc = _scenario("two-pages", '{ op = "dio_read", page = 0, value = "B1", count = 2 },',
                   flusher=False, pages="pages = 2\n")
    reaps = [(k, label) for k, label, _ in _transitions(sc, "legacy")
             if "dio_bio_complete" in label.action]
    assert {label.action.rsplit("(", 1)[1] for _, label in reaps} == {"page 0)", "page 1)"}
    # the waiter may reap the first bio while the second is still in flight
    assert any(_reads_in_flight(k) for k, _ in reaps)
    assert end_results(sc, "legacy") == {("read=ok",)}


def test_aio_read_is_a_scenario_operation_with_a_count() -> None:
    sc = _scenario("aio", '{ op = "aio_read", page = 0, value = "B1", count = 2 },',
                   pages="pages = 2\n")
    assert sc.actors[0].program == (("aio_read", 0, "B1", 2),)


def test_an_iomap_aio_read_completes_through_ki_complete_and_io_getevents() -> None:
    """iomap_dio_bio_end_io: iomap_dio_complete_work (ki_complete) before
    bio_check_pages_dirty, as for the synchronous wake-up."""
    fired = {label.action for _, label, _ in _transitions(AIO, "linux-6.12")}
    assert any("iomap_dio_complete_work: ki_complete" in f for f in fired)
    assert any(f.startswith("io_getevents") for f in fired)
    assert "bio_set_pages_dirty: set_page_dirty_lock(page 0)" in fired
    assert end_results(AIO, "linux-6.12") == {("read=ok", "fsync=0")}


def test_a_legacy_read_into_a_compound_page_is_not_dirtied() -> None:
    """dio_bio_complete: ``!PageCompound(page)`` before set_page_dirty_lock (a shmem THP)."""
    sc = parse('name = "thp"\ndescription = "test"\nfilesystem = "shmem"\n'
               'large_folios = true\n[[actor]]\nname = "CPU0 app"\n'
               'program = [ { op = "dio_read", page = 0, value = "B1" } ]\n', "<thp>")
    fired = {label.action for _, label, _ in _transitions(sc, "legacy")}
    assert "dio_await_completion: dio_bio_complete: put_page(page 0)" in fired
    assert not any("set_page_dirty_lock" in f for f in fired)
