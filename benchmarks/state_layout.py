"""What nesting KState's page-cache fields in an AddressSpace value would cost per update:
the measurement behind keeping them flat (docs/scaling.md, "The state's layout")."""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gupcheck.kernel.fs.ext4 import EXT4
from gupcheck.kernel.state import Value, initial_state, replace


class AddressSpace(Value):
    """The page-cache fields, as a struct address_space would hold them."""

    folios: tuple
    cache: tuple
    i_size: int = 0
    wb_err: int = 0
    wb_errno: str = "EIO"
    dirty_work: tuple = ()

k = initial_state(2, 4, cached=True, mapped=True, fs=EXT4)
flat = lambda: replace(k, folios=k.folios, cache=k.cache)
a = AddressSpace(folios=k.folios, cache=k.cache)
GROUPED = ("folios", "cache", "i_size", "wb_err", "wb_errno", "dirty_work")
fields = [f for f in k.__struct_fields__ if f not in GROUPED]
Outer = msgspec.defstruct("Outer", [("mapping", AddressSpace)] + [(f, object) for f in fields],
                          bases=(Value,))
o = Outer(mapping=a, **{f: getattr(k, f) for f in fields})
nested = lambda: replace(o, mapping=replace(o.mapping, folios=k.folios))
n = 200000
tf = min(timeit.repeat(flat, number=n, repeat=5)) / n * 1e9
tn = min(timeit.repeat(nested, number=n, repeat=5)) / n * 1e9
enc = msgspec.msgpack.Encoder()
ef = min(timeit.repeat(lambda: enc.encode(k), number=20000, repeat=5)) / 20000 * 1e9
print(f"replace of one page-cache field: flat KState ({len(k.__struct_fields__)} fields) "
      f"{tf:.0f} ns; nested AddressSpace {tn:.0f} ns; msgpack encode of KState {ef:.0f} ns")
