"""block-writeback: a pinned page stays under writeback until unpinned; writers wait.

Dave Chinner, 13 Dec 2018 (<20181213005119.GD29416@dastard>), supported by Christopher Lameter:
mark GUP'd pages PageWriteback so that writers block in ``wait_on_page_writeback`` and rely on
stable pages (``wait_for_stable_page`` in every ``->page_mkwrite``).  Overlay on proposal-base:
the completion of a pinned folio's writeback keeps PG_writeback until the last unpin, and
``->page_mkwrite`` waits for it as on a stable-writes device; fsync waits on the WRITEBACK tag.
Jérôme's objection: long-term pins "can last days, weeks, months, years".
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="block-writeback", writeback_pinned="block")
