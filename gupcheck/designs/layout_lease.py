"""layout-lease: a long-term pin of FS-DAX needs an exclusive layout lease; truncate then fails.

Ira Weiny et al., "[PATCH RFC 00/10] RDMA/FS DAX truncate proposal" (June 2019) and the "Lease
semantic proposal" (Sep 2019), after Dan Williams' DAX DMA-vs-truncate work (4.18,
5fac7408d828); never merged.  A process takes ``fcntl(fd, F_SETLEASE, F_LAYOUT)``; GUP with
FOLL_LONGTERM on an FS-DAX mapping is allowed only under such a lease (-EPERM without), and a
truncate or hole punch that would have to break the lease fails with -ETXTBSY (the errno the RFC's
description gives; not checked against its patches) instead of waiting forever in
``ext4_break_layouts``.  It says nothing about page-cache writeback, so on ext4 scenarios its
cells equal the base; its refused truncate is reported as ``refused`` with ETXTBSY.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="layout-lease", layout_lease=True)
