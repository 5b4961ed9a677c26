"""skip-and-bounce: Jan Kara's 2023 RFC as posted — iomap writeback skips or bounces pinned folios.

Jan Kara, "[PATCH RFC 0/5] Writeback handling of pinned pages", 9 Feb 2023
(<20230209121046.25360-1-jack@suse.cz>): "skip page cleaning writeback for pinned pages and if
we cannot avoid writing the page (data integrity writeback), we bite the bullet and bounce the
page".  Its first two patches (reclaim keeps the buffers of pinned folios) became 6.4's
d824ec2a1546 and are in the base already.  The rest is written for the writeback paths that
pass their ``writeback_control`` to ``folio_clear_dirty_for_io``, which decides to skip after
``folio_mkclean``: iomap writeback (XFS) and btrfs' ``extent_write_cache_pages`` (patch 3/5);
the bounce copy is made in iomap writeback only.  ext4's ``mpage_submit_folio`` calls it
without a wbc, so on ext4 the RFC changes nothing and every cell equals the base: that is the
RFC's own scope, not a verdict on the idea.  The idea applied to ext4, and the bounce to the
COW filesystem, is the design ``skip-and-bounce-all``.
Not merged.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="skip-and-bounce", writeback_pinned="skip-bounce-iomap")
