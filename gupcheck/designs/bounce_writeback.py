"""bounce-writeback: page_mkclean() reports "is pinned" and writeback writes a bounce copy.

Jérôme Glisse, 13 Dec 2018 (<20181213020229.GN5037@redhat.com>), the final form of his
proposal in the thread: the filesystem writes a stable bounce copy of a pinned page, keeps the
buffers and blocks of pinned pages so that a plain ``set_page_dirty`` at ``put_user_page`` is
legal, and the device goes on writing the page during writeback.  Overlay on proposal-base:
writeback of a ``folio_maybe_dma_pinned`` folio submits a bounce copy; reclaim already keeps
the buffers of pinned folios (6.4).

Relaxed on purpose: ``mkwrite-before-dirty``.  The design dirties a pinned page at unpin without
``->page_mkwrite`` and argues that this is safe because the filesystem kept its buffers and
blocks; the matrix marks that violation as relaxed, and ``dirty-has-backing``, ``no-lost-write``,
``no-enospc-after-dma`` and ``crash-consistent`` judge whether the argument holds.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="bounce-writeback", writeback_pinned="bounce",
                 relaxes=frozenset({"mkwrite-before-dirty"}))
