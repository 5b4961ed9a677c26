"""ext4-bounce-pinned: Debian 13's 6.12.118 with the series patches/ext4-bounce-pinned/.

The best combination the design-space search (docs/design-space.md, class ext4-short-term)
found for ext4 with short-term pins, ``proposal-base+writeback=bounce+dio-dirty=completion``,
written as two kernel patches against ``linux-source-6.12`` 6.12.118-1 (docs/kernel-fix.md):

* 0001 "ext4: write a bounce copy of a maybe-DMA-pinned folio" (fs/ext4/page-io.c
  ``ext4_bio_write_folio``): a ``folio_maybe_dma_pinned()`` folio is written through a copy,
  as fscrypt writes its ciphertext; ``writeback_pinned="bounce"``.
* 0002 "iomap: dirty the pages of a synchronous direct read before it returns"
  (fs/iomap/direct-io.c): a synchronous direct read no longer dirties at submit; the waiting
  task dirties the pages after the DMA, before read() returns, as fs/direct-io.c's
  ``dio_bio_complete`` did; ``dio_dirty_in_task=True`` (the model's "dio-dirty=completion").

Over linux-6.12 rather than proposal-base: the patched kernel keeps the 6.5 refusal of
writable long-term pins of shared file mappings, which the ext4 short-term class never
reaches (the search fixes that axis).  Nothing is relaxed: ``mkwrite-before-dirty`` (P2a) is
still violated (the DMA's page is dirtied without ``->page_mkwrite``), as the search says.

The switch is the patch's own: iomap stays (a read whose GUP fails part-way still returns
-EFAULT, AIO reads keep iomap's completion); only when a synchronous read dirties changes.
(It was ``dio_iomap=False``, all of fs/direct-io.c, until conformance on the patched kernel
disagreed on ``dio_into_mmap/beyond_eof``: docs/kernel-fix.md.)

Not in ``DESIGNS`` (the matrix and its tests iterate every registered design): give the path,
``gupcheck conform --kernel <bzImage> --design gupcheck/designs/ext4_bounce_pinned.py``.
"""

from dataclasses import replace

from gupcheck.designs.linux_6_12 import DESIGN as LINUX_6_12

DESIGN = replace(LINUX_6_12, name="ext4-bounce-pinned", writeback_pinned="bounce",
                 dio_dirty_in_task=True)
