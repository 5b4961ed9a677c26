"""skip-and-bounce-all: Jan Kara's 2023 rule applied to ext4 and the COW filesystem too.

This project's extension of ``skip-and-bounce`` (the RFC <20230209121046.25360-1-jack@suse.cz>
skips in iomap and btrfs writeback and bounces in iomap's only): as if ext4's
``mpage_submit_folio`` passed its writeback_control to ``folio_clear_dirty_for_io`` and ext4's and
the COW filesystem's bio submission bounced a pinned folio. ``folio_clear_dirty_for_io`` first runs
``folio_mkclean`` (the PTE is write-protected and cleaned, its dirty bit moved to the folio); then,
for a ``folio_maybe_dma_pinned`` folio in background (WB_SYNC_NONE) writeback, it keeps the folio
dirty and skips it; data-integrity (WB_SYNC_ALL) writeback writes a stable bounce copy. Rationale:
it shows what the RFC's mechanism buys where the races of this model live; it is not what was
posted.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="skip-and-bounce-all", writeback_pinned="skip-bounce")
