"""Reading what the guest printed: one ``PROBE group/case key=value; ...`` line per probe case,
plus a boot line, a kernel-log summary and an end marker (see probes/gupprobe.c).

The serial line may add carriage returns and the console may be noisy, so anything that is not
one of our lines is ignored; a line cut off by a guest crash simply lacks its later fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PROBE = re.compile(r"^PROBE (\S+/\S+)(?: (.*))?$")
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class Observation:
    """What one probe case reported: its fields in the order printed."""

    probe: str  # group/case
    fields: dict[str, str]


@dataclass
class ProbeRun:
    """Everything one boot reported."""

    release: str | None = None
    observations: dict[str, Observation] = field(default_factory=dict)
    warnings: int | None = None  # dmesg lines with "WARNING:" after the probes ran
    bugs: int | None = None
    kmsg: list[str] = field(default_factory=list)  # those lines themselves (first 20)
    errors: list[str] = field(default_factory=list)  # BOOT-ERROR / PROBE-ERROR lines
    complete: bool = False  # the END marker arrived: every requested probe ran


def parse_fields(text: str) -> dict[str, str]:
    """``"a=1; b=x*2"`` -> ``{"a": "1", "b": "x*2"}``; a part without ``=`` is skipped."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        m = _FIELD.match(part.strip())
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def parse(output: str) -> ProbeRun:
    """The guest's result stream -> a ProbeRun (never raises on malformed input)."""
    run = ProbeRun()
    for raw in output.splitlines():
        line = raw.replace("\r", "").replace("\x00", "").strip()
        if m := _PROBE.match(line):
            run.observations[m.group(1)] = Observation(m.group(1), parse_fields(m.group(2) or ""))
        elif line.startswith("BOOT release="):
            run.release = line.removeprefix("BOOT release=").strip() or None
        elif line.startswith("KMSG warnings="):
            counts = parse_fields(line.removeprefix("KMSG ").replace(" ", ";"))
            run.warnings = _int(counts.get("warnings"))
            run.bugs = _int(counts.get("bugs"))
        elif line.startswith("KMSG-LINE "):
            run.kmsg.append(line.removeprefix("KMSG-LINE "))
        elif line.startswith(("BOOT-ERROR", "PROBE-ERROR")):
            run.errors.append(line)
        elif line == "END":
            run.complete = True
    return run


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
