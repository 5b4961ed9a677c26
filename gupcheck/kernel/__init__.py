"""An executable model of the Linux machinery the 2018 ``put_user_page()`` thread argues about.

One concept per module, each step named after the kernel function it models:

* :mod:`.state`     struct folio, PTEs, block map, disk, bios, threads, ghost bookkeeping
* :mod:`.config`    the kernel release being modelled, as switches naming the version
* :mod:`.dirty`     folio_mark_dirty and the ->dirty_folio of ext4 (with its warnings)
* :mod:`.fault`     the write-fault path: do_wp_page / wp_page_shared / ext4_page_mkwrite
* :mod:`.gup`       get_user_pages / pin_user_pages, GUP-fast, unpin
* :mod:`.writeback` ext4_writepages, folio_clear_dirty_for_io, folio_mkclean
* :mod:`.device`    the block device: bio transfers and completions, bio_dirty_work
* :mod:`.dio`       read(O_DIRECT) into a user mapping
* :mod:`.reclaim`   shrink_folio_list: unmap, try_to_free_buffers, __remove_mapping
* :mod:`.sync`      fsync / msync(MS_SYNC)
* :mod:`.system`    the actors put together as a checkable model
* :mod:`.properties` the safety properties (modeling-notes §3)

The model knows nothing about how it is explored: it only offers states and transitions.
Memory model: every step is sequentially consistent and TLB shootdown is immediate.
"""
