"""bounce-writeback-mkwrite: put_user_page(page, dirty) runs ->page_mkwrite before dirtying.

Jérôme Glisse, 12 Dec 2018 16:59 (the earlier form of the seed design, kernel-facts §1.2;
modeling-notes §1.5): "put_user_page(page, dirty)" does "the whole dance ie page_mkwrite" so the
filesystem can prepare the page again.  Dave Chinner (<20181213005119.GD29416@dastard>): it is
"too late - it's after the DMA has completed", it is "not a fault path, you can't safely lock
pages, you can't take fault-path only locks in the IO path".  Overlay on bounce-writeback: the
release in ``bio_dirty_work`` locks the folio and then runs the ``->page_mkwrite`` path, which
takes ``filemap_invalidate_lock_shared`` — the lock truncate holds while it waits for folio
locks.  ->page_mkwrite after the DMA may also fail with ENOSPC (Chinner: "Think ENOSPC"):
the data is not dirtied and only a later fsync learns it (``mapping_set_error``), on ext4 and
on the COW filesystem alike.
"""

from dataclasses import replace

from .bounce_writeback import DESIGN as BOUNCE

DESIGN = replace(BOUNCE, name="bounce-writeback-mkwrite", unpin_mkwrite=True)
