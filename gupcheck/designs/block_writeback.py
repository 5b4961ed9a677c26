"""block-writeback: a page pinned for writing is under writeback until it is unpinned.

Dave Chinner, 13 Dec 2018 (<20181213005119.GD29416@dastard>), quoted in
<20181213020229.GN5037@redhat.com>: "you need to mark pages being written to by a GUP as
PageWriteback, so all attempts to write the page will block on wait_on_page_writeback() before
trying to write the dirty page", relying on stable pages ("wait_for_stable_page() calls in
all ->page_mkwrite implementations so that new mmap writes block until writeback IO is complete
on the devices that require stable pages"); supported by Christopher Lameter.  Overlay on
proposal-base:

* a FOLL_WRITE pin of a file's page-cache folio first waits for a writeback bio in flight
  (``folio_wait_writeback``), then sets PG_writeback (``gup.holds_writeback``);
* while it is set, background writeback skips the folio, data-integrity writeback, fsync's
  ``filemap_fdatawait_range``, truncate and direct-I/O invalidation wait for it, and, on a
  device that needs stable pages, ``->page_mkwrite`` and ``write_begin`` wait in
  ``folio_wait_stable`` (on any other a CPU store goes on: no device is reading the page);
* the last unpin dirties the folio (still dirty: nobody could clean it) and ends the writeback.

So DMA never lands in a page the device is writing out, and a page is never dirtied behind the
filesystem's back.  The cost is liveness, the objection Jérôme Glisse answered with: long-term
pins "can last days, weeks, months, years", and every fsync, msync and truncate of the page waits
for them (``writeback-progress``).  Simplification: GUP-fast cannot sleep, so a real
implementation would fall back to the slow path to wait; here the pin waits where it is.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="block-writeback", writeback_pinned="block")
