"""Designs: the kernels that shipped, and the proposals of the 2018-2023 debate.

One module per design; each exports ``DESIGN`` (a :class:`~gupcheck.kernel.config.KernelConfig`)
and says in its docstring where it comes from (commit, mail or RFC).  Every behaviour that
changed between releases is one switch of ``KernelConfig`` naming the release that introduced
it; each shipped release is an overlay of the one before (4.20 -> 5.7 -> 6.1 -> 6.12), each
proposal an overlay of ``proposal_base``.
"""

from __future__ import annotations

from gupcheck.kernel.config import KernelConfig

from . import (
    block_writeback,
    bounce_writeback,
    bounce_writeback_mkwrite,
    layout_lease,
    legacy,
    linux_6_1,
    linux_6_12,
    odp,
    pin_counting,
    proposal_base,
    skip_and_bounce,
    skip_and_bounce_all,
)

_SHIPPED = (legacy, pin_counting, linux_6_1, linux_6_12)
_PROPOSALS = (bounce_writeback, bounce_writeback_mkwrite, skip_and_bounce, skip_and_bounce_all,
              block_writeback, layout_lease, odp)

#: design name -> config, shipped kernels first, then the proposals
DESIGNS: dict[str, KernelConfig] = {m.DESIGN.name: m.DESIGN for m in _SHIPPED + _PROPOSALS}

#: the overlay base of the proposals (6.12 without the 6.5 refusal), for "=base" marks
PROPOSAL_BASE: KernelConfig = proposal_base.DESIGN
PROPOSALS: frozenset[str] = frozenset(m.DESIGN.name for m in _PROPOSALS)

#: design name -> its docstring's first paragraph, whole (a summary may wrap)
SUMMARIES: dict[str, str] = {
    m.DESIGN.name: " ".join((m.__doc__ or "").strip().split("\n\n")[0].split())
    for m in _SHIPPED + _PROPOSALS + (proposal_base,)}

__all__ = ["DESIGNS", "PROPOSALS", "PROPOSAL_BASE", "SUMMARIES"]
