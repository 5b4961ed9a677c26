"""The two test lanes: ``pytest`` runs everything (CI, the README's command); ``pytest -m "not
slow"`` is the fast lane, about a minute on two cores, which still exercises every module.

Slow are: the exhaustive runs over every cell of the matrix, the real-kernel boots under QEMU,
the SPIN cross-checks, the browser tests (Chromium) and Ray.  They are marked here, by path and
test name, so that the test files stay as they are and one list says what the fast lane leaves
out; a test may also carry ``@pytest.mark.slow`` itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

#: whole modules: an outside tool or service, or nothing but exhaustive runs
SLOW_MODULES = {
    "tests/conform/test_boot.py": "boots real kernels under QEMU",
    "tests/classic/test_spin_crosscheck.py": "compiles and runs SPIN models",
    "tests/benchmarks/test_spin_kernel.py": "compiles and runs SPIN models",
    "tests/benchmarks/test_spin_symmetry.py": "compiles and runs SPIN models",
    "tests/engine/test_ray.py": "starts a Ray cluster",
    "tests/reports/test_html_browser.py": "drives headless Chromium",
}

#: single tests (every parametrisation of them): each one exhaustive runs of many scenarios
SLOW_TESTS = {
    "tests/kernel/test_view.py": {"test_renumbering_bios_keeps_every_cell",
                                  "test_the_view_keeps_every_cell"},
    "tests/engine/test_checkpoint.py": {
        "test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_answer"},
    "tests/engine/test_parallel.py": {
        "test_a_kernel_scenario_gives_the_same_verdicts_and_traces_in_parallel"},
    "tests/cli/test_search_options.py": {
        "test_check_resume_against_another_design_exits_7_without_a_traceback",
        "test_workers_give_the_one_process_answer_on_the_command_line"},
    "tests/conform/test_cli.py": {  # waits for an unreachable archive to time out
        "test_an_unreachable_archive_without_cache_is_an_environment_error"},
    "tests/test_lab.py": {
        "test_a_cell_lists_every_property_the_design_breaks_each_with_its_own_trace",
        "test_matrix_command_writes_markdown_and_json",
        "test_the_matrix_is_the_same_computed_by_two_processes"},
}

#: fixtures that compute a (part of the) matrix: any test using one is slow
SLOW_FIXTURES = {
    "tests/test_matrix_cells.py": {"matrix"},  # the whole shipped matrix
    "tests/reports/test_html.py": {"matrix"},
}

#: single parametrisations, by node id (an id that no longer exists marks nothing)
SLOW_IDS = {
    ("tests/engine/test_por.py::"
     "test_every_final_counter_is_found_or_refuted_as_without_it[3-2]"),
    ("tests/engine/test_por.py::"
     "test_with_symmetry_every_final_counter_is_found_or_refuted_as_without_either[3-2]"),
    ("tests/kernel/test_view.py::test_without_a_property_that_reads_data_values_the_view_drops_"
     "them_soundly[vm-writev-vs-dio-invalidate-designs4]"),
    ("tests/kernel/test_view.py::test_without_a_property_that_reads_data_values_the_view_drops_"
     "them_soundly[dio-read-into-mmap-btrfs-designs12]"),
}


def is_slow(path: str, name: str, nodeid: str, fixtures: list[str]) -> bool:
    """Whether a test belongs to the slow lane: ``path`` relative to the repository, ``name``
    the test function's name (without parameters)."""
    return (path in SLOW_MODULES or name in SLOW_TESTS.get(path, ())
            or bool(SLOW_FIXTURES.get(path, set()) & set(fixtures)) or nodeid in SLOW_IDS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        try:
            rel = path.relative_to(ROOT).as_posix()
        except ValueError:
            continue
        name = getattr(item, "originalname", item.name)
        if is_slow(rel, name, item.nodeid, list(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
