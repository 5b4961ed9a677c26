"""Checkpoint and resume: a resumed BFS reaches exactly what an uninterrupted one does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gupcheck.classic import LostUpdate, Philosophers
from gupcheck.engine import CheckpointError, Limits, Result, Verdict, check
from gupcheck.engine.checkpoint import MAGIC, read

from .test_keep_going import Walk

ROOT = Path(__file__).resolve().parents[2]


class WholeSpace(LostUpdate):
    """Lost update without its property: the search has to explore everything."""

    def invariants(self) -> tuple:
        return ()


def outcome(r: Result) -> tuple:
    """What must not depend on whether the run was interrupted (timings and notes may)."""
    labels = r.trace.labels() if r.trace else None
    return (r.verdict, r.property, r.message, r.stats.distinct, r.stats.generated, r.stats.depth,
            labels, r.trace.init_index if r.trace else None, r.coverage, r.unfired,
            [(f.property, f.trace.labels() if f.trace else None) for f in r.findings])


@pytest.mark.parametrize("model", [LostUpdate(3, 2), WholeSpace(3, 2), Philosophers(4)],
                         ids=lambda m: m.name)
@pytest.mark.parametrize("stop", [1, 2_500, 20_000])
def test_resuming_after_a_limit_gives_the_uninterrupted_answer(model, stop, tmp_path) -> None:
    full = check(model)
    path = tmp_path / "run.ckpt"
    first = check(model, checkpoint=path, limits=Limits(max_states=stop))
    if first.verdict is not Verdict.INCOMPLETE:  # the model is smaller than the stop
        assert outcome(first) == outcome(full)
        return
    assert path.exists()
    resumed = check(model, resume=path)
    assert outcome(resumed) == outcome(full)
    assert any("resumed from a checkpoint" in n for n in resumed.notes)


def test_a_chain_of_resumes_with_a_checkpoint_after_every_chunk(tmp_path) -> None:
    model = WholeSpace(3, 2)
    full = check(model)
    path = tmp_path / "run.ckpt"
    r = check(model, checkpoint=path, checkpoint_every=0, limits=Limits(max_states=5_000))
    hops = 0
    while r.verdict is Verdict.INCOMPLETE:
        hops += 1
        r = check(model, checkpoint=path, checkpoint_every=0, resume=path,
                  limits=Limits(max_states=r.stats.distinct + 7_000))
    assert hops >= 4
    assert outcome(r) == outcome(full)


@pytest.mark.parametrize("kwargs", [{"exact": True}, {"bitstate": 2**16}, {"keep_going": True}],
                         ids=["exact", "bitstate", "keep-going"])
def test_every_visited_set_and_keep_going_resume_exactly(kwargs, tmp_path) -> None:
    model = Walk() if "keep_going" in kwargs else LostUpdate(3, 2)
    full = check(model, **kwargs)
    path = tmp_path / "run.ckpt"
    stop = 5 if "keep_going" in kwargs else 9_000
    first = check(model, checkpoint=path, limits=Limits(max_states=stop), **kwargs)
    assert first.verdict is Verdict.INCOMPLETE
    resumed = check(model, resume=path, **kwargs)
    assert outcome(resumed) == outcome(full)
    assert resumed.approximate == full.approximate


def test_resuming_another_model_or_search_is_refused(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    with pytest.raises(CheckpointError, match="another model or search.*the model .* differs"):
        check(LostUpdate(2, 3), resume=path)
    with pytest.raises(CheckpointError, match="settings differ: store: 'fingerprints' -> 'exact'"):
        check(LostUpdate(3, 2), resume=path, exact=True)
    with pytest.raises(CheckpointError, match="another model or search"):
        check(LostUpdate(3, 2), resume=path, bitstate=2**20)
    check(LostUpdate(3, 2), resume=path)  # the right one still resumes


def test_a_model_identity_separates_configurations_with_equal_names(tmp_path) -> None:
    class Tuned(LostUpdate):
        def __init__(self, knob: int) -> None:
            super().__init__(2, 2)
            self.knob = knob

        def identity(self) -> int:
            return self.knob

    path = tmp_path / "run.ckpt"
    check(Tuned(1), checkpoint=path, limits=Limits(max_states=10))
    with pytest.raises(CheckpointError):
        check(Tuned(2), resume=path)


def test_corrupt_truncated_and_foreign_files_are_refused(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match="corrupt"):
        check(LostUpdate(3, 2), resume=bad)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="corrupt"):
        check(LostUpdate(3, 2), resume=bad)
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="not a gupcheck checkpoint"):
        read(bad, "x")
    with pytest.raises(CheckpointError, match="cannot read"):
        read(tmp_path / "missing.ckpt", "x")


def test_a_checkpoint_that_cannot_be_written_leaves_the_search_going(tmp_path) -> None:
    """A checkpoint is a convenience: a failed write (here its folder is missing, as when it
    is deleted during the run) is a note naming the checkpoint, and the search's answer and
    counts are the uninterrupted run's, not lost."""
    path = tmp_path / "gone" / "run.ckpt"
    r = check(LostUpdate(3, 2), checkpoint=path, checkpoint_every=0)
    full = check(LostUpdate(3, 2))
    assert outcome(r) == outcome(full) and r.stats.distinct == full.stats.distinct
    assert any(n.startswith(f"checkpoint: could not write {path} (") for n in r.notes), r.notes


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_before_it_is_read() -> None:
    """/dev/zero never ends: it is refused as not a file, not read until memory runs out."""
    with pytest.raises(CheckpointError, match="not a regular file"):
        check(LostUpdate(2, 1), resume="/dev/zero")


def test_checkpoints_are_written_atomically_leaving_no_temporary_files(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    check(WholeSpace(3, 2), checkpoint=path, checkpoint_every=0)
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]


def test_checkpoints_need_bfs() -> None:
    with pytest.raises(ValueError, match="breadth-first"):
        check(LostUpdate(2, 1), strategy="dfs", checkpoint="x")


CHILD = textwrap.dedent("""
    import sys
    from gupcheck.classic import LostUpdate
    from gupcheck.engine import check
    check(LostUpdate(3, 3), checkpoint=sys.argv[1], checkpoint_every=0.2)
    print("finished")
""")


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_answer(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not path.exists():  # wait for a first checkpoint, then for a later one
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        first = path.stat().st_mtime_ns
        while path.stat().st_mtime_ns == first and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, (out, err)
    assert "finished" not in out
    resumed = check(LostUpdate(3, 3), resume=path)
    full = check(LostUpdate(3, 3))
    assert any("resumed from a checkpoint" in n for n in resumed.notes)
    assert outcome(resumed) == outcome(full)
    assert full.verdict is Verdict.VIOLATED and len(full.trace) > 10


@pytest.mark.parametrize("reduce", [("por",), ("por", "symmetry")], ids="+".join)
def test_a_partial_order_reduced_run_resumes_to_the_uninterrupted_answer(reduce, tmp_path) -> None:
    """The cycle proviso looks states up in the *restored* visited set, and the note's counts
    of reduced and fully expanded states cover the run before the interruption too."""
    from gupcheck.classic import StayingLostUpdate

    class Whole(StayingLostUpdate):
        def invariants(self) -> tuple:
            return ()

    full = check(Whole(3, 2), reduce=reduce)
    path = tmp_path / "run.ckpt"
    r = check(Whole(3, 2), reduce=reduce, checkpoint=path, checkpoint_every=0,
              limits=Limits(max_states=300))
    hops = 0
    while r.verdict is Verdict.INCOMPLETE:
        hops += 1
        r = check(Whole(3, 2), reduce=reduce, checkpoint=path, checkpoint_every=0, resume=path,
                  limits=Limits(max_states=r.stats.distinct + 300))
    assert hops >= 2
    assert outcome(r) == outcome(full)
    note = next(n for n in full.notes if n.startswith("reduction por:"))
    assert note in r.notes


def test_a_por_checkpoint_from_before_local_steps_is_refused(tmp_path, monkeypatch) -> None:
    """A por search of a model that takes local steps keeps parent records that skip them;
    one written before the model took them (here: the same model without ``local_steps``)
    names other successors, so resuming it with local steps is refused, not misread."""
    from gupcheck.engine.model import Model

    from .test_por import LocalCounter

    path = tmp_path / "old.ckpt"
    with monkeypatch.context() as m:
        m.setattr(LocalCounter, "local_steps", Model.local_steps)
        old = check(LocalCounter(), reduce="por", checkpoint=path, limits=Limits(max_states=2))
    assert old.verdict is Verdict.INCOMPLETE and path.exists()
    with pytest.raises(CheckpointError, match="another model or search"):
        check(LocalCounter(), reduce="por", resume=path)


# --- checkpoints are plain data: loading one never runs code ---------------------------------

class _Touch:
    """A pickle payload: unpickling it creates ``marker`` (a stand-in for any code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _rewrite(path: Path, change) -> None:
    """Decode a checkpoint's body, let ``change`` edit it, and write it with a valid checksum
    (what an attacker who crafts a file can do)."""
    import msgspec
    import xxhash
    raw = path.read_bytes()
    body = msgspec.msgpack.decode(raw[len(MAGIC) + 8:])
    change(body)
    new = msgspec.msgpack.encode(body)
    path.write_bytes(MAGIC + xxhash.xxh3_64_digest(new) + new)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_pickle_payload_in_a_checkpoint_is_refused_and_runs_nothing(version, tmp_path) -> None:
    import pickle
    path = tmp_path / "run.ckpt"
    marker = tmp_path / "pwned"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    payload = pickle.dumps(_Touch(marker))
    pickle.loads(payload)  # the payload works ...
    assert marker.exists()
    marker.unlink()

    def plant(body: dict) -> None:
        body.update(version=version, findings=payload, frontier=payload, frontier_next=payload)

    _rewrite(path, plant)
    with pytest.raises(CheckpointError) as err:
        check(LostUpdate(3, 2), resume=path)
    assert not marker.exists()  # ... but loading the checkpoint did not run it
    assert "\n" not in str(err.value)
    bare = tmp_path / "bare.ckpt"  # a raw pickle, not even dressed as a checkpoint
    bare.write_bytes(payload)
    with pytest.raises(CheckpointError, match="not a gupcheck checkpoint"):
        check(LostUpdate(3, 2), resume=bare)
    assert not marker.exists()


def test_a_checkpoint_naming_a_class_outside_the_model_is_refused(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    _rewrite(path, lambda body: body.update(classes=["os.system"]))
    with pytest.raises(CheckpointError, match="class 'os.system'"):
        check(LostUpdate(3, 2), resume=path)


def _swap_ordinals(body: dict) -> None:
    """Every parent record of the deepest level names its parent's other successor."""
    import numpy as np

    ordinals = np.frombuffer(body["ordinal"][-1], dtype=np.uint16) ^ 1
    body["ordinal"][-1] = ordinals.astype(np.uint16).tobytes()


@pytest.mark.parametrize(("change", "words"), [
    (_swap_ordinals, "do not lead to the saved states"),
    (lambda body: body.update(seconds=float("nan")), "seconds nan"),
    (lambda body: body.update(seconds=-1e12), r"seconds -1000000000000\.0"),
])
def test_a_checkpoint_whose_parts_do_not_fit_is_refused_before_searching(change, words,
                                                                         tmp_path) -> None:
    """Hand-edited parent records or time: a checkpoint error (exit 7), not a model error
    when a trace is rebuilt, nor a negative or NaN time in the report."""
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    _rewrite(path, change)
    with pytest.raises(CheckpointError, match=words):
        check(LostUpdate(3, 2), resume=path)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_format_version_is_refused_with_its_reason(version, tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    _rewrite(path, lambda body: body.update(version=version))
    with pytest.raises(CheckpointError,
                       match=f"format version {version}; this gupcheck reads versions 3 to 4"):
        check(LostUpdate(3, 2), resume=path)


def _demos() -> list:
    from gupcheck.classic import DEMOS
    return [DEMOS[name][0]() for name in sorted(DEMOS)]


def _kernel_models() -> list:
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios import SCENARIOS
    return [KernelModel(SCENARIOS[sc], DESIGNS[d]) for sc, d in [
        ("dio-vs-reclaim", "linux-6.1"), ("rdma-longterm-file", "linux-6.12"),
        ("deferred-redirty-vs-fsync", "skip-and-bounce")]]


@pytest.mark.parametrize("model", _demos() + _kernel_models(), ids=lambda m: m.name)
def test_every_reached_state_round_trips_through_plain_data_exactly(model) -> None:
    """Classic (tuples, named tuples) and kernel (msgspec Structs) states come back equal,
    of the same classes, with the same fingerprints."""
    import msgspec

    from gupcheck.engine.checkpoint import Plain, state_classes
    from gupcheck.engine.fingerprint import fingerprint

    inits = list(model.init_states())
    seen, todo = set(inits), list(inits)
    while todo and len(seen) < 3_000:
        for _, t in model.successors(todo.pop()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    states = sorted(seen, key=fingerprint)
    out = Plain(state_classes(inits))
    nodes = [out.node(s) for s in states]
    objects, nodes = msgspec.msgpack.decode(msgspec.msgpack.encode([out.objects, nodes]))
    back = Plain(state_classes(inits))
    back.load(out.table, objects)
    again = [back.value(t) for t in nodes]
    assert again == states
    assert [type(s) for s in again] == [type(s) for s in states]
    assert list(map(fingerprint, again)) == list(map(fingerprint, states))


def test_a_kernel_scenario_resumes_to_the_uninterrupted_answer(tmp_path) -> None:
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios import SCENARIOS
    model = KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"])
    full = check(model, liveness=False, keep_going=True)
    path = tmp_path / "k.ckpt"
    first = check(model, liveness=False, keep_going=True, checkpoint=path,
                  limits=Limits(max_states=full.stats.distinct // 2))
    assert first.verdict is Verdict.INCOMPLETE
    resumed = check(model, liveness=False, keep_going=True, resume=path)
    assert outcome(resumed) == outcome(full)
    assert [f.stats.distinct for f in resumed.findings] == [f.stats.distinct
                                                             for f in full.findings]


class SelfInterrupting(WholeSpace):
    """Sends itself Ctrl-C (SIGINT) from inside the search, after ``after`` expansions."""

    def __init__(self, after: int) -> None:
        super().__init__(3, 2)
        self.after = after
        self.calls = 0

    def successors(self, s):
        self.calls += 1
        if self.calls == self.after:
            os.kill(os.getpid(), signal.SIGINT)
        return super().successors(s)


def test_ctrl_c_ends_a_search_as_interrupted_with_a_checkpoint_that_resumes(tmp_path) -> None:
    from gupcheck.engine.limits import interruptible
    path = tmp_path / "run.ckpt"
    with interruptible():
        stopped = check(SelfInterrupting(3_000), checkpoint=path)
    assert (stopped.verdict, stopped.bound) == (Verdict.INCOMPLETE, "interrupted")
    assert stopped.message.startswith("interrupted (Ctrl-C) before every reachable state")
    assert 0 < stopped.stats.distinct < check(WholeSpace(3, 2)).stats.distinct
    resumed = check(SelfInterrupting(10**9), resume=path)  # the same model, not stopped
    assert outcome(resumed) == outcome(check(WholeSpace(3, 2)))
    # the handler is gone afterwards: Ctrl-C outside is a KeyboardInterrupt again
    with pytest.raises(KeyboardInterrupt):
        check(SelfInterrupting(10))


def _body(path: Path) -> dict:
    import msgspec
    return msgspec.msgpack.decode(path.read_bytes()[len(MAGIC) + 8:])


def test_a_checkpoint_keeps_only_the_states_its_level_has_yet_to_expand(tmp_path) -> None:
    """The expanded part of the level is not needed to go on (only its size, for the parent
    records), and keeping it held a whole level in memory until the file was written."""
    path = tmp_path / "run.ckpt"
    first = check(WholeSpace(3, 2), checkpoint=path, limits=Limits(max_states=15_000))
    assert first.verdict is Verdict.INCOMPLETE
    body = _body(path)
    level = len(body["parent"][body["depth"]]) // 4  # uint32 parent records
    assert 0 < body["position"] < level  # stopped inside a level
    assert len(body["frontier"]) == level - body["position"]


def test_a_version_3_checkpoint_holding_the_whole_level_still_resumes(tmp_path) -> None:
    full = check(WholeSpace(3, 2))
    path = tmp_path / "run.ckpt"
    check(WholeSpace(3, 2), checkpoint=path, limits=Limits(max_states=15_000))

    def as_version_3(body: dict) -> None:  # the expanded states were kept (any valid nodes)
        body.update(version=3, frontier=[body["frontier"][0]] * body["position"]
                    + body["frontier"])
    _rewrite(path, as_version_3)
    assert outcome(check(WholeSpace(3, 2), resume=path)) == outcome(full)


def test_parts_are_shared_by_shape_across_blocks_and_typed_scalars_are_not_confused() -> None:
    from gupcheck.engine.checkpoint import Plain

    plain = Plain({})
    first = plain.node((1, tuple(range(2, 4))))  # built at run time: new objects
    plain.forget()  # the next block: equal parts, other objects
    assert plain.node((1, tuple(range(2, 4)))) == first
    assert len(plain.objects) == 2
    nodes = [plain.node((v,)) for v in (1, True, 1.0, 0.0, -0.0)]
    assert len({n[0] for n in nodes}) == 5


#: read(O_DIRECT) of two pages into a shared mapping and msync, beside a writeback pass and a
#: reclaim attempt (benchmarks/spin_kernel.py's 2,1,1): levels of several frontier blocks
WIDE_KERNEL_SCENARIO = """
name = "dio-msync-reclaim"
description = "read(O_DIRECT) into a shared mapping, msync, beside writeback and reclaim"
pages = 2
properties = ["dirty-has-backing", "pin-accounting"]

[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1", count = 2 }, { op = "msync" } ]

[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]

[[actor]]
name = "kswapd"
daemon = true
program = [ { op = "kswapd_reclaim", page = 0 } ]
"""


@pytest.mark.slow
def test_a_checkpoint_of_a_kernel_search_shares_the_parts_of_its_states(tmp_path) -> None:
    """Each saved state adds about one entry, its own: its folios, threads and ghost are
    shared with other states, also across blocks of an encoded frontier, which decode into
    objects of their own (shared by identity only, every state's parts became entries of
    their own, and a 3x3x3 kernel search's first checkpoint grew past 24 GiB)."""
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios.loader import parse
    model = KernelModel(parse(WIDE_KERNEL_SCENARIO, "<wide>"), DESIGNS["linux-6.12"])
    full = check(model, liveness=False, reduce="view,symmetry")
    for budget in (None, 0):  # a live frontier, and every block encoded
        path = tmp_path / f"k{budget}.ckpt"
        limits = Limits(max_states=full.stats.distinct * 2 // 3, frontier_memory_bytes=budget)
        first = check(model, liveness=False, reduce="view,symmetry", checkpoint=path,
                      limits=limits)
        assert first.verdict is Verdict.INCOMPLETE
        body = _body(path)
        saved = len(body["frontier"]) + len(body["frontier_next"])
        assert saved > 2_048  # more than a block
        assert len(body["objects"]) < 2 * saved
        resumed = check(model, liveness=False, reduce="view,symmetry", resume=path,
                        limits=Limits(frontier_memory_bytes=budget))
        assert outcome(resumed) == outcome(full)


def test_states_rebuilt_on_demand_refer_only_to_earlier_entries() -> None:
    """A state's entry is rebuilt when asked for (``roots``): a crafted entry that refers to
    itself or to a later one is refused, not followed round a cycle."""
    from gupcheck.engine.checkpoint import Plain

    plain = Plain({})
    plain.node((1, tuple(range(2, 4))))
    good = Plain({})
    good.load([], plain.objects, roots={1})
    assert good.value([1]) == (1, (2, 3))
    bad = Plain({})
    bad.load([], [plain.objects[0], [plain.objects[1][0], 1, [1]]], roots={1})
    with pytest.raises(CheckpointError, match="earlier object"):
        bad.value([1])


def test_a_checkpoint_body_written_in_parts_is_exactly_its_one_piece_encoding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer streams the body (dicts key by key, long lists in chunks, buffers without a
    copy) so that a big search's checkpoint never holds its whole encoding in memory; the
    bytes must still be those one msgpack encoding gives, numpy arrays as their bytes."""
    import msgspec
    import numpy as np

    from gupcheck.engine import checkpoint

    monkeypatch.setattr(checkpoint, "_PART", 8)  # small, so every branch is taken
    monkeypatch.setattr(checkpoint, "_FEW", 3)
    table = np.arange(1, 40, dtype=np.uint64)
    value = {
        "store": {"kind": "fingerprints", "table": table, "count": 39},
        "parent": [np.arange(5, dtype=np.uint32), b"", np.arange(70000, dtype=np.uint32)],
        "objects": [[1, [i], "x" * i] for i in range(300)],
        "frontier": list(range(20)) + [[3], None, 1.5],
        "few": [[0], 1],
        "small": b"abc",
    }
    plain = {**value, "store": {**value["store"], "table": table.tobytes()},
             "parent": [a.tobytes() if isinstance(a, np.ndarray) else a
                        for a in value["parent"]]}
    streamed = b"".join(bytes(p) for p in checkpoint._parts(value))
    assert streamed == msgspec.msgpack.encode(plain)
    assert msgspec.msgpack.decode(streamed)["objects"][299] == [1, [299], "x" * 299]


@pytest.mark.parametrize("active", [[], ["nope"]])
def test_a_checkpoint_edited_to_check_fewer_properties_is_refused(active, tmp_path) -> None:
    """With its checksum recomputed, an emptied or renamed list of properties still to check
    turned a violated lost update into HOLDS on resume (found by fuzzing)."""
    path = tmp_path / "run.ckpt"
    check(LostUpdate(3, 2), checkpoint=path, limits=Limits(max_states=1_000))
    _rewrite(path, lambda body: body.update(active=active))
    with pytest.raises(CheckpointError, match="properties still to check"):
        check(LostUpdate(3, 2), resume=path)
