"""bounce-writeback: page_mkclean() reports "is pinned" and writeback writes a bounce copy.

Jérôme Glisse, 13 Dec 2018 (<20181213020229.GN5037@redhat.com>, kernel-facts §1.2), the seed
email's final form: the filesystem writes a stable bounce copy of a pinned page, keeps the
buffers and blocks of pinned pages so that a plain ``set_page_dirty`` at ``put_user_page`` is
legal, and the device goes on writing the page during writeback.  Overlay on proposal-base:
writeback of a ``folio_maybe_dma_pinned`` folio submits a bounce copy; reclaim already keeps
the buffers of pinned folios (6.4).
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="bounce-writeback", writeback_pinned="bounce")
