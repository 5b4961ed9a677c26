"""The base every proposal is an overlay on: linux-6.12 without the 6.5 long-term refusal.

The proposals of 2018-2023 assumed every GUP user converted to FOLL_PIN (6.12's direct I/O pins,
since 6.5) and no refusal of long-term pins of shared file mappings, which is what they meant to
make safe.  A proposal's cell equal to this base's is marked ``=base``.
"""

from dataclasses import replace

from . import linux_6_12

DESIGN = replace(linux_6_12.DESIGN, name="proposal-base", longterm_file_refusal=False)
