"""Taking one PTE away from a folio: the part of unmapping that reclaim and truncate share.

mm/rmap.c ``try_to_unmap_one`` and mm/memory.c ``zap_pte_range`` both clear the PTE (firing the
mmu notifiers, so ODP devices drop their mappings), move a dirty PTE bit to the folio with
``folio_mark_dirty`` — a legal dirtying, since that PTE was made writable by ``->page_mkwrite``
— and drop the mapping's reference (``folio_remove_rmap_pte``).
"""

from __future__ import annotations

from .actor import Ctx
from .dirty import folio_mark_dirty
from .state import KState, replace


def clear_pte(c: Ctx, k: KState, page: int, *, who: str) -> tuple[KState, bool]:
    """Unmap ``page`` from the process; returns the new state and whether the PTE was dirty."""
    pte = k.ptes[page]
    assert pte is not None, f"page {page} is not mapped"
    if c.env.fs.dax:  # a DAX PTE maps the pfn and holds no page reference (until 6.15):
        # vm_normal_page() is NULL for it (pte_devmap), so zap_pte_range dirties nothing
        return k.with_pte(page, None).mmu_notifier_invalidate(page), False
    if pte.cow is not None:  # a MAP_PRIVATE copy: an anonymous folio, freed with its last ref
        f = k.folio_at(pte.cow)
        f = replace(f, mapcount=f.mapcount - 1, refcount=f.refcount - 1)
        k = k.with_folio_at(pte.cow, f if f.refcount else None)
        return k.with_pte(page, None).mmu_notifier_invalidate(page), False
    f = k.folio(page)
    k = k.with_folio(page, replace(f, mapcount=f.mapcount - 1, refcount=f.refcount - 1))
    k = k.with_pte(page, None).mmu_notifier_invalidate(page)
    if pte.dirty:
        k = folio_mark_dirty(c, k, k.fid(page), who=who, pte_transfer=True)
    return k, pte.dirty
