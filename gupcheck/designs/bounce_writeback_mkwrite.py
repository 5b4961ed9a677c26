"""bounce-writeback-mkwrite: put_user_page(page, dirty) runs ->page_mkwrite before dirtying.

Jérôme Glisse, 12 Dec 2018 (the earlier form of the bounce design, answered by Dave Chinner in
<20181213005119.GD29416@dastard>): ``put_user_page(page, dirty)`` does "the whole dance ie
page_mkwrite" so that the filesystem can prepare the page again.  Dave Chinner: it is "too late -
it's after the DMA has completed", and it is "not a fault path, you can't safely lock pages, you
can't take fault-path only locks in the IO path".  Overlay on bounce-writeback:

* where a direct-I/O completion finds its page still dirty it only releases it
  (``bio_release_pages(bio, false)``: ``put_user_page(page, false)``), so nothing runs in
  interrupt context;
* a page cleaned while the DMA ran goes, as today, to ``bio_dirty_work``, which locks the folio
  and runs the ``->page_mkwrite`` path: ``mmap_read_lock`` and ``filemap_invalidate_lock_shared``,
  the lock truncate holds while it waits for folio locks (the inversion Dave objected to);
* every other GUP user that wrote a page releases it the same way ("User of GUP have their
  put_user_page in tearing down code"): RDMA deregistration and process_vm_writev, in their own
  task (``gupcheck.kernel.gup.put_user_page_mkwrite``);
* ``->page_mkwrite`` after the DMA can fail with ENOSPC ("Think ENOSPC"): the data is not
  dirtied and only a later fsync learns it (``mapping_set_error``), on ext4 and on the COW
  filesystem alike.

Not modelled: the 12 Dec form's GUP that waits for a page under writeback (or fails with
-EBUSY); it matters only for a pin taken after a writeback's submit.
"""

from dataclasses import replace

from .bounce_writeback import DESIGN as BOUNCE

DESIGN = replace(BOUNCE, name="bounce-writeback-mkwrite", unpin_mkwrite=True,
                 relaxes=frozenset())
