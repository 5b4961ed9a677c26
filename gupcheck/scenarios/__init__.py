"""Scenarios: small workloads in which pinned pages meet writeback, reclaim and fsync.

For now they are defined here in Python; the TOML scenario files of the matrix issue will replace
this module's table.
"""

from __future__ import annotations

from gupcheck.kernel.system import ActorSpec, Scenario

CPU0 = "CPU0 app"

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario(
        "control-cpu-mmap-write",
        "CPU stores through a shared ext4 mapping while background writeback runs, then fsync; "
        "no GUP. Every property must hold: it calibrates the property definitions.",
        actors=(
            ActorSpec(CPU0, (("store", 0, 0, "C1"), ("store", 0, 1, "C2"), ("fsync",))),
            ActorSpec("flusher", (("writeback_pass",),), daemon=True),
        ),
    ),
    Scenario(
        "dio-read-into-mmap",
        "read(O_DIRECT) from another file into a MAP_SHARED ext4 mapping while background "
        "writeback runs, then fsync (F2, and F3 on a stable-writes device).",
        actors=(
            ActorSpec(CPU0, (("dio_read", 0, "B1"), ("fsync",))),
            ActorSpec("flusher", (("writeback_pass",),), daemon=True),
        ),
    ),
    Scenario(
        "dio-vs-reclaim",
        "The same direct-I/O read while the flusher writes the page back and kswapd reclaims "
        "it, stripping its buffers (F1, the 2018 crash reports).",
        actors=(
            ActorSpec(CPU0, (("dio_read", 0, "B1"), ("fsync",))),
            ActorSpec("flusher", (("writeback_pass",),) * 2, daemon=True),
            ActorSpec("kswapd", (("kswapd_reclaim", 0),), daemon=True),
        ),
    ),
    Scenario(
        "deferred-redirty-vs-fsync",
        "fsync right after an O_DIRECT read into a shared mapping returns, while the flusher "
        "runs: the re-dirtying is deferred to bio_dirty_work (modeling-notes §1.1c).",
        actors=(
            ActorSpec(CPU0, (("dio_read", 0, "B1"), ("fsync",))),
            ActorSpec("flusher", (("writeback_pass",),), daemon=True),
        ),
        properties=("no-lost-write",),
    ),
    Scenario(
        "rdma-longterm-file",
        "An RDMA NIC registers a MAP_SHARED ext4 mapping (long-term writable pin) and writes it "
        "at will while the flusher writes it back; the application calls fsync while the "
        "memory is registered, then deregisters and calls fsync again (F5).",
        actors=(
            ActorSpec(CPU0, (("rdma_reg_mr", 0), ("fsync",), ("rdma_dereg_mr", 0), ("fsync",))),
            ActorSpec("flusher", (("writeback_pass",),) * 2, daemon=True),
        ),
        nic_writes=1,
    ),
)}
