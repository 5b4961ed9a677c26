"""Run SPIN on a Promela model and parse the verifier's report.

Standard library only.  Used to cross-check gupcheck's reachable-state
counts against SPIN with its reductions turned off.

    from benchmarks.spin_runner import spin_available, run_spin
    r = run_spin("benchmarks/promela/lost_update.pml", {"N": 3, "K": 2},
                 reductions=False, search="dfs")
    r["states_stored"]   # -> 46953

Pipeline (all inside a fresh temporary directory):

1. ``spin [-DNAME=VALUE ...] [-o1 -o3] -a model.pml``  generates pan.c.
   ``-D`` options are handed to the C preprocessor by spin itself, so
   the models use ``#ifndef N / #define N ...`` defaults.
2. ``gcc -O2 [-DNOREDUCE] [-DBFS] -DMEMLIM=... [-DVECTORSZ=...] -o pan pan.c``
3. ``./pan -mDEPTH -wHASHBITS [extra flags]`` and the text report is parsed.

With ``reductions=False``: spin gets ``-o1`` (no dataflow optimisation)
and ``-o3`` (no statement merging), gcc gets ``-DNOREDUCE`` (no
partial-order reduction).  ``-o2`` ("don't hide write-only variables")
can be added with ``spin_flags=("-o2",)``; it made no difference on any
of the models in benchmarks/promela (see README there).

Command line:  python benchmarks/spin_runner.py MODEL.pml [NAME=VALUE ...]
               [--bfs] [--reductions] [--pan=-c0 ...]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

__all__ = ["SpinError", "parse_pan_output", "run_spin", "spin_available"]


class SpinError(RuntimeError):
    """spin -a or the C compilation failed (the message holds the output)."""


def spin_available() -> bool:
    """True when both ``spin`` and a C compiler (``gcc``) are on PATH."""
    return shutil.which("spin") is not None and shutil.which("gcc") is not None


# --------------------------------------------------------------------------
# parsing

_INT = r"([0-9]+(?:\.[0-9]+)?(?:e\+?[0-9]+)?)"


def _num(s: str):
    """pan prints large counts as e.g. 2.1e+07 with some builds; be lenient."""
    if re.fullmatch(r"[0-9]+", s):
        return int(s)
    return int(float(s))


_PATTERNS = {
    "states_stored": re.compile(r"^\s*" + _INT + r" states, stored", re.MULTILINE),
    "nominal_states": re.compile(r"^\s*" + _INT + r" nominal states", re.MULTILINE),
    "states_matched": re.compile(r"^\s*" + _INT + r" states, matched", re.MULTILINE),
    "transitions": re.compile(r"^\s*" + _INT + r" transitions", re.MULTILINE),
    "atomic_steps": re.compile(r"^\s*" + _INT + r" atomic steps", re.MULTILINE),
    "hash_conflicts": re.compile(r"^hash conflicts:\s*" + _INT, re.MULTILINE),
}


def parse_pan_output(text: str) -> dict:
    """Parse the report printed by a pan verifier run.

    Returns a dict with (missing items are None):
      states_stored, states_matched, transitions, atomic_steps,
      nominal_states (BFS only: stored minus intermediate atomic states),
      hash_conflicts, depth_reached, state_vector_bytes, errors (int),
      error_messages (list of 'pan:1: ...' lines), search_completed (bool),
      total_memory_mb, pan_elapsed_s, depth_limit_hit, memory_limit_hit.
    """
    out: dict = {}
    for key, pat in _PATTERNS.items():
        m = pat.search(text)
        out[key] = _num(m.group(1)) if m else None

    m = re.search(r"State-vector ([0-9]+) byte, depth reached ([0-9]+), errors: ([0-9]+)", text)
    if m:
        out["state_vector_bytes"] = int(m.group(1))
        out["depth_reached"] = int(m.group(2))
        out["errors"] = int(m.group(3))
    else:
        out["state_vector_bytes"] = out["depth_reached"] = out["errors"] = None

    m = re.search(r"^\s*([0-9.]+)\s+total actual memory usage", text, re.MULTILINE)
    out["total_memory_mb"] = float(m.group(1)) if m else None

    # "pan: elapsed time X seconds" appears once per run (the last one is
    # the search; `./pan -d` style runs print a bogus one first).
    times = re.findall(r"^pan: elapsed time ([0-9.e+-]+) seconds", text, re.MULTILINE)
    out["pan_elapsed_s"] = float(times[-1]) if times else None

    out["error_messages"] = re.findall(r"^pan:[0-9]+: .*$", text, re.MULTILINE)
    out["search_completed"] = "Warning: Search not completed" not in text
    out["depth_limit_hit"] = "max search depth too small" in text
    out["memory_limit_hit"] = ("out of memory" in text) or ("reached -DMEMLIM bound" in text)
    out["errors_found"] = bool(out["errors"]) or bool(out["error_messages"])
    return out


# --------------------------------------------------------------------------
# running

def _run(cmd, cwd, timeout):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)


def run_spin(pml_path, defines: dict | None = None, *, reductions: bool, search: str = "dfs",
             extra_pan_flags=(), spin_flags=(), cc_flags=(), max_depth: int = 10_000_000,
             hash_bits: int = 24, memlim_mb: int = 16384, vectorsz: int | None = None,
             timeout: float | None = None, keep_dir: str | None = None) -> dict:
    """Generate, compile and run a SPIN verifier for ``pml_path``.

    defines         {"N": 3, "K": 2} -> ``spin -DN=3 -DK=2``
    reductions      False: ``spin -o1 -o3`` and ``gcc -DNOREDUCE``;
                    True: SPIN defaults (statement merging, dataflow, POR).
    search          'dfs' (default) or 'bfs' (``-DBFS``).
    extra_pan_flags extra ./pan run-time flags, e.g. ("-c0",) to keep going
                    after errors (full state space), ("-E",) to ignore
                    invalid end states, ("-A",) to ignore assertions.
    spin_flags      extra spin -a flags, e.g. ("-o2",).
    cc_flags        extra gcc flags, e.g. ("-DCOLLAPSE",).
    max_depth       ./pan -m (DFS stack depth bound).
    hash_bits       ./pan -w (hash table of 2**hash_bits slots).
    memlim_mb       -DMEMLIM (MB).
    vectorsz        -DVECTORSZ if given (pan's default is 1024 bytes).
    timeout         seconds for the ./pan run (subprocess.TimeoutExpired).
    keep_dir        if given, work in this directory and leave files there.

    Returns the dict of :func:`parse_pan_output` plus: model, defines,
    reductions, search, commands (list of str), wall_s (./pan wall time),
    compile_s, output (full ./pan text).
    """
    if search not in ("dfs", "bfs"):
        raise ValueError("search must be 'dfs' or 'bfs'")
    pml_path = os.path.abspath(pml_path)
    defines = dict(defines or {})

    spin_cmd = ["spin"] + [f"-D{k}={v}" for k, v in defines.items()]
    if not reductions:
        spin_cmd += ["-o1", "-o3"]
    spin_cmd += list(spin_flags) + ["-a", os.path.basename(pml_path)]

    cc_cmd = ["gcc", "-O2", f"-DMEMLIM={int(memlim_mb)}"]
    if not reductions:
        cc_cmd.append("-DNOREDUCE")
    if search == "bfs":
        cc_cmd.append("-DBFS")
    if vectorsz:
        cc_cmd.append(f"-DVECTORSZ={int(vectorsz)}")
    cc_cmd += list(cc_flags) + ["-o", "pan", "pan.c"]

    pan_cmd = ["./pan", f"-m{int(max_depth)}", f"-w{int(hash_bits)}"] + list(extra_pan_flags)

    if keep_dir:
        os.makedirs(keep_dir, exist_ok=True)
        work, cleanup = keep_dir, None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="spin_")
        work = cleanup.name
    try:
        shutil.copy(pml_path, os.path.join(work, os.path.basename(pml_path)))
        p = _run(spin_cmd, work, 300)
        if p.returncode != 0 or not os.path.exists(os.path.join(work, "pan.c")):
            raise SpinError(f"{' '.join(spin_cmd)} failed:\n{p.stdout}")
        t0 = time.perf_counter()
        p = _run(cc_cmd, work, 600)
        compile_s = time.perf_counter() - t0
        if p.returncode != 0:
            raise SpinError(f"{' '.join(cc_cmd)} failed:\n{p.stdout}")
        t0 = time.perf_counter()
        p = _run(pan_cmd, work, timeout)
        wall_s = time.perf_counter() - t0
        text = p.stdout
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    res = parse_pan_output(text)
    res.update(model=os.path.basename(pml_path), defines=defines, reductions=reductions,
               search=search, commands=[" ".join(spin_cmd), " ".join(cc_cmd), " ".join(pan_cmd)],
               wall_s=wall_s, compile_s=compile_s, returncode=p.returncode, output=text)
    if res["states_stored"] is None:
        raise SpinError(f"could not parse pan output (rc={p.returncode}):\n{text}")
    return res


def _main(argv):
    import json
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    model, defines, pan_flags = argv[0], {}, []
    reductions, search = False, "dfs"
    for a in argv[1:]:
        if a == "--bfs":
            search = "bfs"
        elif a == "--reductions":
            reductions = True
        elif a.startswith("--pan="):
            pan_flags.append(a[len("--pan="):])
        elif "=" in a:
            k, v = a.split("=", 1)
            defines[k] = v
        else:
            raise SystemExit(f"unknown argument {a!r}")
    r = run_spin(model, defines, reductions=reductions, search=search,
                 extra_pan_flags=pan_flags, hash_bits=26)
    r.pop("output")
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
