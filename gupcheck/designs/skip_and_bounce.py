"""skip-and-bounce: background writeback skips pinned folios, data-integrity writeback bounces.

Jan Kara, "[PATCH RFC 0/5] Writeback handling of pinned pages", 9 Feb 2023
(<20230209121046.25360-1-jack@suse.cz>): "skip page cleaning writeback for pinned pages and if
we cannot avoid writing the page (data integrity writeback), we bite the bullet and bounce the
page"; reclaim keeps their buffers (its patches 1-2 became 6.4's d824ec2a1546).  Not merged.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="skip-and-bounce", writeback_pinned="skip-bounce")
