"""An executable model of the Linux machinery the 2018 ``put_user_page()`` thread argues about.

One concept per module, each step named after the kernel function it models:

* :mod:`.state`     folios by id, the page cache, PTEs, disk, bios, threads, ghost bookkeeping
* :mod:`.config`    the kernel being modelled, as switches naming the version that introduced each
* :mod:`.env`       the scenario's environment: filesystem, mapping, device, NIC driver
* :mod:`.fsops`     a filesystem's operation tables (vm_operations_struct, address_space_operations)
* :mod:`.fs`        the filesystems, one module each: ext4, XFS, shmem, a btrfs-like COW fs, FS-DAX
* :mod:`.actor`     how a kernel path is written as atomic, named steps
* :mod:`.dirty`     folio_mark_dirty through ->dirty_folio; fs/buffer.c's buffer helpers
* :mod:`.fault`     write faults: do_wp_page / wp_page_shared -> ->page_mkwrite, MAP_PRIVATE
* :mod:`.blocks`    ext4's block map: buffer_heads, delayed allocation, holes, free space
* :mod:`.gup`       get_user_pages / pin_user_pages, GUP-fast, unpin
* :mod:`.vma`       check_vma_flags and io_uring's registration checks
* :mod:`.writeback` ->writepages' loop, folio_clear_dirty_for_io, folio_mkclean
* :mod:`.device`    the block device: bio transfers and completions, bio_dirty_work
* :mod:`.dio`       read(O_DIRECT) into a user mapping
* :mod:`.dio_write` write(O_DIRECT) with page-cache invalidation; process_vm_writev
* :mod:`.reclaim`   shrink_folio_list: unmap, try_to_free_buffers, __remove_mapping
* :mod:`.rmap`      clearing one PTE (shared by reclaim, truncate and munmap)
* :mod:`.truncate`  truncate, hole punch, regrow, munmap, loads
* :mod:`.dax`       FS-DAX: pmem blocks as pages, ext4_break_layouts, layout leases
* :mod:`.longterm`  RDMA and io_uring long-term pins, ODP devices
* :mod:`.anon`      anonymous memory across fork: copy-on-write, vmsplice, pins
* :mod:`.sync`      fsync / msync(MS_SYNC)
* :mod:`.system`    the actors put together as a checkable model
* :mod:`.properties` the properties (each defined in its summary, ``gupcheck list``)

The model knows nothing about how it is explored: it only offers states and transitions.
Memory model: every step is sequentially consistent and TLB shootdown is immediate.
"""
