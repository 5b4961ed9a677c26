"""Designs: the kernels that shipped, and (to come) the proposals of the 2018 debate.

One module per design; each exports ``DESIGN`` (a :class:`~gupcheck.kernel.config.KernelConfig`)
and says in its docstring where it comes from.  Every behaviour that changed between releases is
one switch of ``KernelConfig`` naming the release that introduced it.
"""

from __future__ import annotations

from gupcheck.kernel.config import KernelConfig

from . import legacy, linux_6_1, linux_6_12, pin_counting

#: design name -> (config, one-line summary)
DESIGNS: dict[str, KernelConfig] = {m.DESIGN.name: m.DESIGN for m in (
    legacy, pin_counting, linux_6_1, linux_6_12)}

SUMMARIES: dict[str, str] = {m.DESIGN.name: (m.__doc__ or "").strip().splitlines()[0] for m in (
    legacy, pin_counting, linux_6_1, linux_6_12)}

__all__ = ["DESIGNS", "SUMMARIES"]
