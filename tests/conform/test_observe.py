"""Parsing the guest's result stream: robust to serial noise, exact about fields."""

from __future__ import annotations

from gupcheck.conform.observe import parse, parse_fields

STREAM = (
    "junk from the console\r\n"
    "BOOT release=6.1.0-56-amd64\r\n"
    "PROBE dio_into_mmap/beyond_eof read_ret=-1; read_errno=EFAULT; mem=B.1*8; "
    "touch_beyond_eof=SIGBUS\r\n"
    "PROBE iouring_register_filebacked/anon_rw ret=0; errno=0\n"
    "PROBE-ERROR unknown probe nope\n"
    "KMSG warnings=2 bugs=0\n"
    "KMSG-LINE WARNING: CPU: 0 PID: 1 at fs/ext4/inode.c:3629\n"
    "END\n"
)


def test_probe_lines_become_ordered_fields() -> None:
    run = parse(STREAM)
    assert run.release == "6.1.0-56-amd64"
    obs = run.observations["dio_into_mmap/beyond_eof"]
    assert list(obs.fields) == ["read_ret", "read_errno", "mem", "touch_beyond_eof"]
    assert obs.fields["mem"] == "B.1*8" and obs.fields["touch_beyond_eof"] == "SIGBUS"
    assert run.observations["iouring_register_filebacked/anon_rw"].fields == {
        "ret": "0", "errno": "0"}


def test_kernel_log_summary_errors_and_end_marker() -> None:
    run = parse(STREAM)
    assert (run.warnings, run.bugs) == (2, 0)
    assert run.kmsg == ["WARNING: CPU: 0 PID: 1 at fs/ext4/inode.c:3629"]
    assert run.errors == ["PROBE-ERROR unknown probe nope"]
    assert run.complete


def test_a_stream_cut_short_is_incomplete_and_keeps_what_arrived() -> None:
    run = parse(STREAM.split("PROBE iouring")[0] + "PROBE iouring_register_filebacked/anon_rw ret=")
    assert not run.complete and run.warnings is None
    assert "dio_into_mmap/beyond_eof" in run.observations
    assert run.observations["iouring_register_filebacked/anon_rw"].fields == {"ret": ""}


def test_fields_without_a_value_or_with_garbage_are_skipped() -> None:
    assert parse_fields("a=1; nonsense; =x; b=p*2 ") == {"a": "1", "b": "p*2"}
    assert parse("\x00\x00garbage PROBE x\n").observations == {}
