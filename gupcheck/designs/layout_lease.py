"""layout-lease: a long-term pin of FS-DAX needs an exclusive layout lease; truncate then fails.

Ira Weiny et al., "[PATCH RFC 00/10] RDMA/FS DAX truncate proposal" (June 2019) and the "Lease
semantic proposal" (Sep 2019), after Dan Williams' DAX DMA-vs-truncate work (4.18, 5fac7408d828);
never merged. A process takes ``fcntl(fd, F_SETLEASE, F_LAYOUT)``; GUP with FOLL_LONGTERM on an
FS-DAX mapping is allowed only under such a lease (-EPERM without), and a truncate or hole punch of
a page pinned under the lease fails with -ETXTBSY (patch 07/10: ``ext4_break_layouts`` returns it
for a ``page_gup_pinned`` page) instead of waiting forever in ``ext4_break_layouts``; "Truncation
of pages which are not actively pinned will succeed" (RFC 00/10, NOTE2). Whether that truncate
breaks the lease (SIGIO) is not modelled: it is kept. It says nothing about page-cache writeback,
so on ext4 scenarios its cells equal the base; its refused truncate is reported as ``refused`` with
ETXTBSY.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="layout-lease", layout_lease=True)
