/* dio-msync-reclaim: read(O_DIRECT) into a MAP_SHARED ext4 mapping, then
 * msync(MS_SYNC), while the flusher runs background writeback passes and
 * kswapd tries to reclaim the pages -- under Linux 6.12's rules.
 *
 * Step for step the same as gupcheck's KernelModel (gupcheck/kernel/*.py)
 * on the scenario that benchmarks/spin_kernel.py generates with the same
 * parameters, under the design linux-6.12:
 *
 *   CPU0 app  dio_read page 0, count NP, value B1;  msync
 *   flusher   writeback_pass x NW                     (daemon)
 *   kswapd    kswapd_reclaim page j % NP, j = 0..NR-1 (daemon)
 *   disk      transfers and completes bios  (one process per bio id)
 *   kworker   bio_dirty_work
 *
 * Every gupcheck step is one d_step (one transition, no intermediate
 * state, also under -DBFS); the comment on each names the Python function.
 * linux-6.12: FOLL_PIN direct I/O (dio_foll_pin), reclaim skips pinned
 * folios (reclaim_skips_pinned), ext4 has no ->writepage, writeback warns
 * on a folio without buffers (ext4_warn_no_buffers), no stable writes,
 * writeback_pinned "plain".
 *
 * Parameters (spin -DNP=2 -DNW=1 -DNR=1 ...): NP pages (1..4), NW
 * writeback passes, NR reclaim attempts.  Properties:
 *   -DCHECK_PIN  pin-accounting      (holds)   default on
 *   -DCHECK_DHB  dirty-has-backing   (holds)   default on
 *   -DCHECK_SW   stable-writeback    (violated on 6.12: DIO races writeback; only a DMA
 *                by a thread that held the page through GUP when the write bio was
 *                submitted counts, device.dma_write_check: b_early below)
 *   -DNO_PIN / -DNO_DHB switch the default ones off.
 * gupcheck's deadlock check (a stuck state that is not an end state,
 * KernelModel.is_end) is the Monitor's timeout assertion.
 *
 * State: the variables below are gupcheck's KState as KernelModel.view()
 * keeps it (the ghost history no checked property reads is left out), so
 * the reachable states correspond one to one with gupcheck's distinct
 * states under --reduce view.  -DHISTORY adds that ghost history (thread
 * results, nr_foll_pin_acquired/released, Folio.prepared, the recorded
 * violations with their messages and order, each write bio's b_early), for a one-to-one
 * correspondence with gupcheck's unreduced states.  Everything else
 * gupcheck keeps in a state is a function of these variables (see
 * README.md, "dio_msync_reclaim.pml").  The counts need `spin -o1 -o2 -o3` and
 * -DNOREDUCE: by default SPIN hides write-only variables (the folio index, the bio owner,
 * the history), which gupcheck's states include.
 */

#ifndef NP
#define NP 1
#endif
#ifndef NW
#define NW 1
#endif
#ifndef NR
#define NR 1
#endif
#ifndef NO_PIN
#define CHECK_PIN 1
#endif
#ifndef NO_DHB
#define CHECK_DHB 1
#endif

#define MAXBIO	(NP * (NW + 2))	/* reads: NP; writes: <= NP per pass and for msync */
#define NONE	255
#define BIAS	1024		/* GUP_PIN_COUNTING_BIAS */

/* lock holders (Folio.locked) and bio owners */
#define APP	1
#define FLUSHER	2
#define KSWAPD	3

/* buffers (Folio.buffers): none, both clean ("mapped"), both dirty */
#define B_NONE	0
#define B_CLEAN	1
#define B_DIRTY	2

/* app stages (Thread.stage) */
#define S_START		0	/* "" */
#define S_MKWRITE	1	/* fault:mkwrite */
#define S_INSTALL	2	/* fault:install */
#define S_GRAB		3	/* gup:grab */
#define S_GOT		4	/* dio:got */
#define S_SUBMIT	5	/* dio:submit */
#define S_WAIT		6	/* dio:wait */
#define S_RETURN	7	/* dio:return */
#define W_LOCK		8	/* wb:lock */
#define W_WAITWB	9	/* wb:waitwb */
#define W_MKCLEAN	10	/* wb:mkclean */
#define W_SUBMIT	11	/* wb:submit */
#define S_FSWAIT	12	/* fsync:wait */
#define S_GFAULT	13	/* gup:fault (its fault sleeps, mmap_read_lock held) */
#define S_LOCKWAIT	14	/* fault:lockwait (filemap_fault sleeps, mmap_read_lock dropped) */
#define S_GRETRY	15	/* gup:retry (after VM_FAULT_RETRY) */
#define S_MKSLEEP	16	/* fault:mkwrite, asleep on the folio lock holding invalidate_lock */
/* kswapd stages */
#define K_UNMAP		1	/* rc:unmap */
#define K_RELEASE	2	/* rc:release */
#define K_REMOVE	3	/* rc:remove */

/* ---- KState ------------------------------------------------------------ */
/* folios by id (a freed slot is all zeros); data: bit b = block b holds B1 (else A0) */
bit   fl_live[NP] = 1;	/* initially: page i cached in folio i, clean, buffers
				 * attached, mapped read-only (refcount 3) */
byte  fl_ixx[NP];
byte  fl_data[NP];
byte  fl_lock[NP];
bit   fl_dirty[NP];
bit   fl_wb[NP];
byte  fl_bufs[NP] = 1;
short fl_ref[NP] = 3;
byte  fl_map[NP] = 1;
bit   fl_iso[NP];
byte  fl_pins[NP];
/* the page cache (page -> folio id) and each folio's index, stored xor the page / slot
 * number so that the initial state (folio i cached at page i) is all-equal arrays */
byte  cachex[NP];
#define CACHE(p)	(cachex[p] == NONE -> NONE : cachex[p] ^ (p))
#define FIDX(f)		(fl_ixx[f] ^ (f))
bit   pte_p[NP] = 1;		/* the process's PTE: present, writable, dirty */
bit   pte_w[NP];
bit   pte_d[NP];
byte  disk[NP];			/* bit b: block b of the page on disk holds B1 */
/* bios by id (a removed bio is all zeros) */
bit   b_ex[MAXBIO];
bit   b_write[MAXBIO];
byte  b_page[MAXBIO];
byte  b_folio[MAXBIO];
byte  b_pend[MAXBIO];		/* pending blocks: 2 = (0,1), 1 = (1,), 0 = () */
byte  b_owner[MAXBIO];
bit   b_woken[MAXBIO];
bit   b_done[MAXBIO];
#if defined(HISTORY) || defined(CHECK_SW)
/* Bio.early of a write bio: the app (the only thread that takes GUP references here, slot 0)
 * held the folio through GUP at the bio's submit (KState.write_gup_holders).  The view keeps it
 * only when stable-writeback is checked; the unreduced state always has it */
bit   b_early[MAXBIO];
#define EARLY
#define EARLY_HOLDER(w)	(b_early[w] == 1)	/* the app is in write bio w's early set */
#else
#define EARLY_HOLDER(w)	1	/* not recorded: nothing reads it */
#endif
byte  next_bio;
byte  dw[NP];			/* bio_dirty_list (FIFO of bio ids) */
byte  dwn;
/* threads: CPU0 app */
byte  apc;			/* 0 dio_read, 1 msync, 2 done */
byte  ast;
byte  dcur;			/* locals of dio_read: dcur, dgot, gfid, gpage */
byte  ngot;
byte  gotfid[NP];
byte  gfid = NONE;
byte  gpage = NONE;
byte  fpg = NONE;		/* the fault's locals: fpage (set with fret, ffail, ffailstage), */
byte  fwait = NONE;		/* fwait (set with fretry: the folio filemap_fault sleeps on), */
byte  ftr;			/* ftried (0 unset, 1 true, 2 false) */
byte  awtodo;			/* msync's writeback: wtodo (bit mask), wpte (2 = unset) */
byte  awpte = 2;
/* flusher */
byte  fpc;
byte  fst;
byte  fwtodo;
byte  fwpte = 2;
/* kswapd */
byte  kpc;
byte  kst;

#if defined(CHECK_SW) && !defined(HISTORY)
/* the view keeps the names of the checked properties that were violated: with pan -c0 the
 * search goes on after the assertion, as gupcheck's keep_going does (-DHISTORY: vr_sw) */
bit   sw_seen;
#endif
#ifdef HISTORY
bit   fl_prep[NP];		/* Folio.prepared */
byte  kres;			/* kswapd's results: bit j = attempt j "reclaimed" */
byte  pacq;			/* ghost.pins_acquired / pins_released */
byte  prel;
byte  vr_sw;			/* rank in ghost.violations (0: not there) and its message */
byte  sw_rb; byte sw_page; byte sw_block; byte sw_wb;
byte  vr_mk;
byte  mk_who; byte mk_page;
byte  vr_nlw;
byte  nlw_page; byte nlw_block;
#define NEXT_RANK	(1 + (vr_sw > 0) + (vr_mk > 0) + (vr_nlw > 0))
#endif

/* scratch, not part of the state vector; SPIN's BFS does not allow hidden variables, so
 * with -DNOHIDDEN they are ordinary globals that every step resets to 0 (no extra states) */
#ifdef NOHIDDEN
#define SCRATCH byte
#else
#define SCRATCH hidden byte
#endif
SCRATCH t_f;
SCRATCH t_i;
SCRATCH t_j;
SCRATCH t_p;
SCRATCH t_m;
SCRATCH t_b;
SCRATCH t_e;
#define RESET_SCRATCH	t_f = 0; t_i = 0; t_j = 0; t_p = 0; t_m = 0; t_b = 0; t_e = 0

/* ---- expressions over all pages / folios (NP <= 4) ---------------------- */
#if NP > 4
#error "NP must be at most 4"
#endif
#if NP > 1
#define OR1(X)	|| X(1)
#define AND1(X)	&& X(1)
#else
#define OR1(X)
#define AND1(X)
#endif
#if NP > 2
#define OR2(X)	|| X(2)
#define AND2(X)	&& X(2)
#else
#define OR2(X)
#define AND2(X)
#endif
#if NP > 3
#define OR3(X)	|| X(3)
#define AND3(X)	&& X(3)
#else
#define OR3(X)
#define AND3(X)
#endif
#define ANY(X)	(X(0) OR1(X) OR2(X) OR3(X))
#define ALL(X)	(X(0) AND1(X) AND2(X) AND3(X))

#define CACHED(p)	(CACHE(p) != NONE)
#define WB_AT(p)	(CACHED(p) && fl_wb[CACHE(p)])
#define DIRTY_AT(p)	(CACHED(p) && fl_dirty[CACHE(p)])
#define ANY_WB		ANY(WB_AT)		/* some cached folio under writeback */
#define ANY_DIRTY	ANY(DIRTY_AT)		/* writeback.dirty_pages(k) non-empty */
#define NO_BIO(i)	(b_ex[i] == 0)

/* the folio lock is free or held by `me` (f.locked is None or == c.name) */
#define LK_FREE(f, me)	(fl_lock[f] == 0 || fl_lock[f] == me)
/* fault.fault_begin / _mkwrite_lock would not block on page p */
#define FAULT_OK(p)	(!CACHED(p) || LK_FREE(CACHE(p), APP))
/* gup.gup_begin on page p: GUP-fast (writable PTE) or the slow path */
#define PTE_RW(p)	(pte_p[p] && pte_w[p])
#define GUP_OK(p)	(PTE_RW(p) || FAULT_OK(p))
/* fault.filemap_lock_wait: no PTE (__do_fault first), the folio locked by another, and a
 * first attempt (not FAULT_FLAG_TRIED): filemap_fault drops mmap_read_lock to sleep */
#define DROP_OK(p)	(!pte_p[p] && !FAULT_OK(p) && ftr != 1)
/* fault.mkwrite_sleeps: a write fault on a read-only PTE (do_wp_page) finds the folio locked:
 * ->page_mkwrite sleeps, past ->fault */
#define MKW_SLEEP(p)	(pte_p[p] && !pte_w[p] && !FAULT_OK(p))
/* dio.stage_dirty: every grabbed folio's lock is free */
#define GOT_OK(j)	(ngot <= j || LK_FREE(gotfid[j], APP))
#define DIRTY_OK	(ALL(GOT_OK) && LK_FREE(gfid, APP))
/* the lowest page of a writeback's to-do mask */
#define LOWEST(m)	((m & 1) -> 0 : ((m & 2) -> 1 : ((m & 4) -> 2 : 3)))
/* writeback.stage_lock would not block */
#define WBLOCK_OK(m, me)	(!CACHED(LOWEST(m)) || LK_FREE(CACHE(LOWEST(m)), me))

/* ---- the properties ------------------------------------------------------ */
#ifdef CHECK_PIN
/* pin-accounting (properties._pin_accounting) in the state a step reaches */
#define STEP_END	t_i = 0; \
	do \
	:: t_i < NP -> \
		assert(!fl_live[t_i] || (fl_ref[t_i] >= 0 && \
			(fl_pins[t_i] == 0 || fl_ref[t_i] >= BIAS))); \
		t_i++ \
	:: else -> break \
	od; \
	RESET_SCRATCH
#else
#define STEP_END	RESET_SCRATCH
#endif



#ifdef DUMP
/* print the state a step reaches, from pan's own state vector, for comparing with
 * gupcheck's states (see README.md) */
#define DUMP_STATE	c_code { int j; \
	printf("S %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d |", now.apc, now.ast, \
		now.dcur, now.ngot, now.gfid, now.gpage, now.fpg, now.fwait, now.ftr, now.awtodo, \
		now.awpte, now.fpc, now.fst, now.fwtodo, now.fwpte, now.kpc, now.kst, now.next_bio, \
		now.dwn); \
	for (j = 0; j < NP; j++) \
		printf(" %d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d;%d;%d,%d,%d;%d;%d", now.fl_live[j], \
			now.fl_live[j] ? now.fl_ixx[j] ^ j : j, now.fl_data[j], now.fl_lock[j], \
			now.fl_dirty[j], now.fl_wb[j], now.fl_bufs[j], now.fl_ref[j], now.fl_map[j], \
			now.fl_iso[j], now.fl_pins[j], now.cachex[j] == 255 ? 255 : now.cachex[j] ^ j, \
			now.pte_p[j], now.pte_w[j], now.pte_d[j], now.disk[j], now.gotfid[j]); \
	printf(" |"); \
	for (j = 0; j < MAXBIO; j++) \
		printf(" %d,%d,%d,%d,%d,%d,%d,%d", now.b_ex[j], now.b_write[j], now.b_page[j], \
			now.b_folio[j], now.b_pend[j], now.b_owner[j], now.b_woken[j], now.b_done[j]); \
	printf(" |"); \
	for (j = 0; j < NP; j++) printf(" %d", now.dw[j]); \
	DUMP_EARLY \
	DUMP_HISTORY \
	printf("\n"); }
#ifdef EARLY
#define DUMP_EARLY	printf(" | early"); \
	for (j = 0; j < MAXBIO; j++) printf(" %d", now.b_early[j]); \
	DUMP_SW_SEEN
#else
#define DUMP_EARLY
#endif
#if defined(CHECK_SW) && !defined(HISTORY)
#define DUMP_SW_SEEN	printf(" sw %d", now.sw_seen);
#else
#define DUMP_SW_SEEN
#endif
#ifdef HISTORY
#define DUMP_HISTORY	printf(" | %d %d %d %d,%d,%d,%d,%d %d,%d,%d %d,%d,%d", now.kres, now.pacq, \
		now.prel, now.vr_sw, now.sw_rb, now.sw_page, now.sw_block, now.sw_wb, now.vr_mk, \
		now.mk_who, now.mk_page, now.vr_nlw, now.nlw_page, now.nlw_block); \
	for (j = 0; j < NP; j++) printf(" %d", now.fl_prep[j]);
#else
#define DUMP_HISTORY
#endif
#else
#define DUMP_STATE	skip
#endif

/* ---- helpers (inline: expanded inside the d_steps) ----------------------- */

/* state.add_to_cache via fault._filemap_fault: a new folio (no buffers, refcount 1)
 * in the lowest free slot, read from disk */
inline filemap_fault(p) {
	t_f = 0;
	do
	:: t_f < NP && fl_live[t_f] -> t_f++
	:: else -> break
	od;
	assert(t_f < NP);
	fl_live[t_f] = 1; fl_ixx[t_f] = p ^ t_f; fl_data[t_f] = disk[p]; fl_ref[t_f] = 1;
	cachex[p] = t_f ^ p
}

/* dirty.folio_mark_dirty -> ext4_dirty_folio (the folio always has its mapping here) */
inline folio_mark_dirty(f, who, transfer) {
#ifdef HISTORY
	if
	:: !fl_dirty[f] && !fl_prep[f] && !transfer && vr_mk == 0 ->
		vr_mk = NEXT_RANK; mk_who = who; mk_page = FIDX(f)
	:: else -> skip
	fi;
#endif
	if
	:: fl_bufs[f] == B_NONE ->
#ifdef CHECK_DHB
		assert(false);	/* dirty-has-backing: ext4_dirty_folio WARN, no buffers */
#endif
		fl_dirty[f] = 1
	:: else -> fl_dirty[f] = 1; fl_bufs[f] = B_DIRTY
	fi
}

/* gup.grab with FOLL_PIN on a small folio */
inline grab(f) {
	fl_ref[f] = fl_ref[f] + BIAS; fl_pins[f]++
#ifdef HISTORY
	; pacq++
#endif
}

/* gup.release with FOLL_PIN (the folio keeps its mapping, so it is never freed here;
 * end_held_writeback does nothing with writeback_pinned "plain") */
inline release_pin(f) {
	fl_ref[f] = fl_ref[f] - BIAS; fl_pins[f]--
#ifdef HISTORY
	; prel++
#endif
}

inline remove_bio(i) {
	b_ex[i] = 0; b_write[i] = 0; b_page[i] = 0; b_folio[i] = 0; b_pend[i] = 0;
	b_owner[i] = 0; b_woken[i] = 0; b_done[i] = 0
#ifdef EARLY
	; b_early[i] = 0
#endif
}

#ifdef EARLY
/* state.write_gup_holders(f) for this scenario, as a bit (t_e): the app holds folio f through
 * GUP -- its dio_read's gfid, one of the pages it has grabbed (dgot: gotfid[0..ngot-1]), or
 * the folio of one of its read bios (the waiter of every read bio is the app).  The flusher
 * and kswapd take no GUP references, and there is no NIC */
inline app_holds(f) {
	t_e = (gfid == f);
	t_m = 0;
	do
	:: t_m < NP -> t_e = t_e || (t_m < ngot && gotfid[t_m] == f); t_m++
	:: else -> break
	od;
	t_m = 0;
	do
	:: t_m < MAXBIO -> t_e = t_e || (b_ex[t_m] && !b_write[t_m] && b_folio[t_m] == f); t_m++
	:: else -> break
	od
}
#endif

/* fault._mkwrite_lock once the folio lock is free: ext4_page_mkwrite attaches buffers
 * (all mapped: the file has no holes), takes filemap_invalidate_lock_shared (a function
 * of the stage here), locks the folio and dirties it */
inline mkwrite_lock(p) {
	t_f = CACHE(p);
	if
	:: fl_bufs[t_f] == B_NONE -> fl_bufs[t_f] = B_CLEAN; fl_ref[t_f]++
	:: else -> skip
	fi;
	fl_lock[t_f] = APP;
#ifdef HISTORY
	fl_prep[t_f] = 1;
#endif
	folio_mark_dirty(t_f, 0, 0);
	ast = S_INSTALL
}

/* fault.fault_begin (ext4, inside i_size) on page p, the GUP slow path's fault
 * (ext4's mkwrite_fault records its locals) */
inline fault_begin(p) {
	fpg = p;
	if
	:: !CACHED(p) -> filemap_fault(p); fl_ref[CACHE(p)]++; ast = S_MKWRITE	/* fault_hold */
	:: else -> mkwrite_lock(p)
	fi
}

/* fault.fault_begin on a first attempt (fault.filemap_lock_wait): a page that is not cached
 * is read in by do_sync_mmap_readahead without mmap_read_lock, VM_FAULT_RETRY (gup:retry,
 * FAULT_FLAG_TRIED) */
inline fault_first(p) {
	if
	:: !CACHED(p) && ftr != 1 -> filemap_fault(p); ftr = 1; ast = S_GRETRY
	:: else -> fault_begin(p)
	fi
}

/* fault.mkwrite_sleeps: do_page_mkwrite sleeps on the folio lock holding a reference
 * (fault.fault_hold), mmap_read_lock and filemap_invalidate_lock_shared held */
inline mkwrite_sleep(p) {
	fpg = p; fl_ref[CACHE(p)]++; ast = S_MKSLEEP
}

/* fault.filemap_lock_wait: mmap_read_unlock, sleep on the folio holding a reference */
inline lock_wait(p) {
	fwait = CACHE(p); fl_ref[fwait]++; ast = S_LOCKWAIT
}

/* gup.gup_begin(write, FOLL_PIN) for the direct-I/O read of page p, back at dio:got (for a
 * page after the first, gup._next_page: the same, under the lock the range holds) */
inline gup_begin(p) {
	if
	:: PTE_RW(p) -> grab(CACHE(p)); gfid = CACHE(p); ast = S_GOT
	:: else -> gpage = p; fault_first(p)
	fi
}

/* ---- writeback (writeback.py), shared by the flusher (WB_SYNC_NONE) and msync
 *      (WB_SYNC_ALL); st, todo, wpte are the actor's own variables ----------------- */

/* writeback._next: the next tagged page, or the end of the pass */
inline wb_next(st, todo, finishing, pc, wpte) {
	if
	:: todo != 0 -> st = W_LOCK
	:: else ->
		if
		:: finishing -> pc++; st = S_START; wpte = 2	/* Ctx.finish */
		:: else -> st = S_FSWAIT			/* ret "fsync:wait" */
		fi
	fi
}

/* writeback._after_lock on page p (locked by me) */
inline wb_after_lock(p, me, sync, st, todo, finishing, pc, wpte) {
	t_f = CACHE(p);
	if
	:: !fl_dirty[t_f] ->
		fl_lock[t_f] = 0; todo = todo & ~(1 << p); wb_next(st, todo, finishing, pc, wpte)
	:: fl_dirty[t_f] && fl_wb[t_f] && !sync ->
		fl_lock[t_f] = 0; todo = todo & ~(1 << p); wb_next(st, todo, finishing, pc, wpte)
	:: fl_dirty[t_f] && fl_wb[t_f] && sync -> st = W_WAITWB
	:: fl_dirty[t_f] && !fl_wb[t_f] && fl_bufs[t_f] == B_NONE ->
		/* _no_buffers (ext4_warn_no_buffers): ext4_warning, folio cleaned, skipped */
#ifdef CHECK_DHB
		assert(false);
#endif
		fl_lock[t_f] = 0; fl_dirty[t_f] = 0;
#ifdef HISTORY
		fl_prep[t_f] = 0;
#endif
		todo = todo & ~(1 << p); wb_next(st, todo, finishing, pc, wpte)
	:: fl_dirty[t_f] && !fl_wb[t_f] && fl_bufs[t_f] != B_NONE && pte_p[p] && (pte_w[p] || pte_d[p]) ->
		st = W_MKCLEAN; wpte = 0
	:: fl_dirty[t_f] && !fl_wb[t_f] && fl_bufs[t_f] != B_NONE && !(pte_p[p] && (pte_w[p] || pte_d[p])) ->
		st = W_SUBMIT; wpte = 0
	fi
}

/* writeback.stage_submit: folio_clear_dirty_for_io (+ the PTE's dirty bit), start_write */
inline wb_submit(p, me, st, todo, finishing, pc, wpte) {
	t_f = CACHE(p);
	if
	:: wpte == 1 -> folio_mark_dirty(t_f, me, 1)
	:: else -> skip
	fi;
	/* start_write: blocks = the dirty buffers (all of them without buffers) */
	t_b = (fl_bufs[t_f] != B_CLEAN);
	fl_dirty[t_f] = 0; fl_wb[t_f] = t_b; fl_lock[t_f] = 0; fl_bufs[t_f] = B_CLEAN;
#ifdef HISTORY
	fl_prep[t_f] = 0;
#endif
	if
	:: t_b ->
		b_ex[next_bio] = 1; b_write[next_bio] = 1; b_page[next_bio] = p;
		b_folio[next_bio] = t_f; b_pend[next_bio] = 2; b_owner[next_bio] = me;
#ifdef EARLY
		app_holds(t_f); b_early[next_bio] = t_e;	/* Bio(early=write_gup_holders(fid)) */
#endif
		next_bio++
	:: else -> skip
	fi;
	todo = todo & ~(1 << p);
	wb_next(st, todo, finishing, pc, wpte)
}

/* one writeback step of an actor at wb:lock / wb:waitwb / wb:mkclean / wb:submit */
inline wb_step(me, sync, st, todo, finishing, pc, wpte) {
	t_p = LOWEST(todo);
	if
	:: st == W_LOCK ->				/* stage_lock */
		if
		:: !CACHED(t_p) -> todo = todo & ~(1 << t_p); wb_next(st, todo, finishing, pc, wpte)
		:: else -> fl_lock[CACHE(t_p)] = me;
			wb_after_lock(t_p, me, sync, st, todo, finishing, pc, wpte)
		fi
	:: st == W_WAITWB ->				/* stage_waitwb */
		wb_after_lock(t_p, me, sync, st, todo, finishing, pc, wpte)
	:: st == W_MKCLEAN ->				/* stage_mkclean */
		if
		:: !pte_p[t_p] -> wb_submit(t_p, me, st, todo, finishing, pc, wpte)
		:: else -> wpte = pte_d[t_p]; pte_w[t_p] = 0; pte_d[t_p] = 0; st = W_SUBMIT
		fi
	:: st == W_SUBMIT ->				/* stage_submit */
		wb_submit(t_p, me, st, todo, finishing, pc, wpte)
	fi
}

#define WB_ENABLED(st, todo, me) \
	((st == W_LOCK && WBLOCK_OK(todo, me)) || \
	 (st == W_WAITWB && !fl_wb[CACHE(LOWEST(todo))]) || \
	 st == W_MKCLEAN || st == W_SUBMIT)

/* writeback.writeback_begin: tag the dirty pages */
inline tag_dirty(m) {
	m = 0; t_i = 0;
	do
	:: t_i < NP -> if :: DIRTY_AT(t_i) -> m = m | (1 << t_i) :: else -> skip fi; t_i++
	:: else -> break
	od
}

/* ---- the actors ------------------------------------------------------------ */

active proctype App()		/* CPU0 app: dio_read(0, B1, NP); msync */
{
end:	do
	/* dio.dio_read -> _gup(page 0): GUP-fast or the first step of the slow path */
	:: d_step { apc == 0 && ast == S_START && GUP_OK(0) ->
		dcur = 0; gup_begin(0); STEP_END; DUMP_STATE }
	/* ... whose fault must sleep in ->page_mkwrite (the PTE is read-only: do_wp_page) */
	:: d_step { apc == 0 && ast == S_START && MKW_SLEEP(0) ->
		dcur = 0; gpage = 0; mkwrite_sleep(0); STEP_END; DUMP_STATE }
	/* ... or drops it again to sleep on the folio (filemap_fault, no PTE) */
	:: d_step { apc == 0 && ast == S_START && DROP_OK(0) ->
		dcur = 0; gpage = 0; lock_wait(0); STEP_END; DUMP_STATE }
	/* gup.stage_fault: a retry's filemap_fault (no PTE, FAULT_FLAG_TRIED), once the folio lock
	 * is free */
	:: d_step { apc == 0 && ast == S_GFAULT && FAULT_OK(gpage) ->
		fault_first(gpage); STEP_END; DUMP_STATE }
	/* fault.stage_lock_wait: the folio lock is free: folio_put, VM_FAULT_RETRY */
	:: d_step { apc == 0 && ast == S_LOCKWAIT && LK_FREE(fwait, APP) ->
		fl_ref[fwait]--; ftr = 1; ast = S_GRETRY; STEP_END; DUMP_STATE }
	/* gup.stage_retry: mmap_read_lock, FOLL_TRIED, follow_page_mask, else the fault (one
	 * that must sleep takes the lock alone and sleeps holding it) */
	:: d_step { apc == 0 && ast == S_GRETRY ->
		if
		:: PTE_RW(gpage) -> grab(CACHE(gpage)); gfid = CACHE(gpage); ftr = 2; ast = S_GOT
		:: !PTE_RW(gpage) && FAULT_OK(gpage) -> ftr = 1; fault_begin(gpage)
		:: MKW_SLEEP(gpage) -> ftr = 1; mkwrite_sleep(gpage)
		:: !pte_p[gpage] && !FAULT_OK(gpage) -> ftr = 1; ast = S_GFAULT
		fi; STEP_END; DUMP_STATE }
	/* fault.locked_mkwrite once the folio lock is free (fault.fault_put: folio_put; the
	 * reference kept reclaim from freeing the folio), or a step into its sleep on it (taking
	 * filemap_invalidate_lock_shared first) */
	:: d_step { apc == 0 && (ast == S_MKWRITE || ast == S_MKSLEEP) && FAULT_OK(gpage) ->
		fl_ref[CACHE(gpage)]--; mkwrite_lock(gpage); STEP_END; DUMP_STATE }
	:: d_step { apc == 0 && ast == S_MKWRITE && !FAULT_OK(gpage) ->
		ast = S_MKSLEEP; STEP_END; DUMP_STATE }
	/* fault.stage_install: wp_page_reuse / finish_fault, folio_unlock; a first attempt then
	 * drops mmap_read_lock (fault_dirty_shared_page, VM_FAULT_COMPLETED): gup:retry */
	:: d_step { apc == 0 && ast == S_INSTALL ->
		t_f = CACHE(gpage);
		if
		:: !pte_p[gpage] -> fl_map[t_f]++; fl_ref[t_f]++
		:: else -> skip
		fi;
		fl_lock[t_f] = 0; pte_p[gpage] = 1; pte_w[gpage] = 1; pte_d[gpage] = 1;
		if
		:: ftr != 1 -> ast = S_GRETRY
		:: else -> ast = S_GRAB
		fi; STEP_END; DUMP_STATE }
	/* gup.stage_grab: follow_page_mask -> try_grab_folio (fault.fault_done: FOLL_TRIED was
	 * for this page), or fault again */
	:: d_step { apc == 0 && ast == S_GRAB && (PTE_RW(gpage) || FAULT_OK(gpage)) ->
		if
		:: PTE_RW(gpage) -> grab(CACHE(gpage)); gfid = CACHE(gpage); ast = S_GOT;
			if
			:: ftr == 1 -> ftr = 2
			:: else -> skip
			fi
		:: else -> fault_first(gpage)
		fi; STEP_END; DUMP_STATE }
	:: d_step { apc == 0 && ast == S_GRAB && DROP_OK(gpage) ->
		lock_wait(gpage); STEP_END; DUMP_STATE }
	:: d_step { apc == 0 && ast == S_GRAB && MKW_SLEEP(gpage) ->
		mkwrite_sleep(gpage); STEP_END; DUMP_STATE }
	/* dio.stage_got: GUP the next page, under the mmap_read_lock page 0's slow path kept
	 * (gup._next_page; page 0 is mapped read-only, so GUP-fast never takes it and the lock
	 * is always held here): follow_page_mask grabs a writable page, else the fault runs in
	 * this step; a fault that must sleep in filemap_fault sleeps here (no step), one in
	 * ->page_mkwrite takes a step into its sleep */
	:: d_step { apc == 0 && ast == S_GOT && dcur + 1 < NP && GUP_OK(dcur + 1) ->
		gotfid[ngot] = gfid; ngot++; dcur++; gup_begin(dcur); STEP_END; DUMP_STATE }
	:: d_step { apc == 0 && ast == S_GOT && dcur + 1 < NP && DROP_OK(dcur + 1) ->
		gotfid[ngot] = gfid; ngot++; dcur++; gpage = dcur; lock_wait(dcur);
		STEP_END; DUMP_STATE }
	:: d_step { apc == 0 && ast == S_GOT && dcur + 1 < NP && MKW_SLEEP(dcur + 1) ->
		gotfid[ngot] = gfid; ngot++; dcur++; gpage = dcur; mkwrite_sleep(dcur);
		STEP_END; DUMP_STATE }
	/* ... or, after the last, dio.stage_dirty: bio_set_pages_dirty */
	:: d_step { apc == 0 && ast == S_GOT && dcur + 1 >= NP && DIRTY_OK ->
		gotfid[ngot] = gfid; ngot++;
		t_j = 0;
		do
		:: t_j < ngot -> folio_mark_dirty(gotfid[t_j], 0, 0); t_j++
		:: else -> break
		od;
		ast = S_SUBMIT; STEP_END; DUMP_STATE }
	/* dio.stage_submit: one read bio per page */
	:: d_step { apc == 0 && ast == S_SUBMIT ->
		t_j = 0;
		do
		:: t_j < ngot ->
			b_ex[next_bio] = 1; b_page[next_bio] = t_j; b_folio[next_bio] = gotfid[t_j];
			b_pend[next_bio] = 2; b_owner[next_bio] = APP; next_bio++; t_j++
		:: else -> break
		od;
		ast = S_WAIT; STEP_END; DUMP_STATE }
	/* dio.stage_return: iomap_dio_complete, read() returns */
	:: d_step { apc == 0 && ast == S_RETURN ->
		apc = 1; ast = S_START; dcur = 0; ngot = 0; gfid = NONE; gpage = NONE;
		fpg = NONE; fwait = NONE; ftr = 0;
		t_j = 0;
		do
		:: t_j < NP -> gotfid[t_j] = 0; t_j++
		:: else -> break
		od; STEP_END; DUMP_STATE }
	/* sync.fsync: file_write_and_wait_range (WB_SYNC_ALL) */
	:: d_step { apc == 1 && ast == S_START ->
		tag_dirty(awtodo);
		if
		:: awtodo != 0 -> ast = W_LOCK
		:: else -> ast = S_FSWAIT
		fi; STEP_END; DUMP_STATE }
	:: d_step { apc == 1 && WB_ENABLED(ast, awtodo, APP) ->
		wb_step(APP, 1, ast, awtodo, 0, apc, awpte); STEP_END; DUMP_STATE }
	/* sync.stage_wait: filemap_fdatawait_range, msync returns 0 */
	:: d_step { apc == 1 && ast == S_FSWAIT && !ANY_WB ->
#ifdef HISTORY
		/* no-lost-write (_check_durable): every block must hold B1 */
		t_i = 0;
		do
		:: t_i < 2 * NP && vr_nlw == 0 ->
			if
			:: !(disk[t_i / 2] & (1 << (t_i % 2))) ->
				vr_nlw = NEXT_RANK; nlw_page = t_i / 2; nlw_block = t_i % 2
			:: else -> skip
			fi; t_i++
		:: else -> break
		od;
#endif
		apc = 2; ast = S_START; awtodo = 0; awpte = 2; STEP_END; DUMP_STATE }
	od
}

active proctype Flusher()	/* writeback.background_pass x NW */
{
end:	do
	:: d_step { fpc < NW && fst == S_START && ANY_DIRTY ->
		tag_dirty(fwtodo); fst = W_LOCK; STEP_END; DUMP_STATE }
	:: d_step { fpc < NW && WB_ENABLED(fst, fwtodo, FLUSHER) ->
		wb_step(FLUSHER, 0, fst, fwtodo, 1, fpc, fwpte); STEP_END; DUMP_STATE }
	od
}

#define KPAGE	(kpc % NP)

inline k_finish(reclaimed) {
#ifdef HISTORY
	kres = kres | (reclaimed << kpc);
#endif
	kpc++; kst = S_START
}

/* reclaim._putback */
inline k_putback(f) {
	fl_iso[f] = 0; fl_ref[f]--; fl_lock[f] = 0; k_finish(0)
}

/* reclaim.stage_remove */
inline k_remove(p) {
	t_f = CACHE(p);
	if
	:: fl_ref[t_f] == 2 ->	/* __remove_mapping: freed */
		fl_live[t_f] = 0; fl_ixx[t_f] = 0; fl_data[t_f] = 0; fl_lock[t_f] = 0;
		fl_dirty[t_f] = 0; fl_wb[t_f] = 0; fl_bufs[t_f] = 0; fl_ref[t_f] = 0;
		fl_map[t_f] = 0; fl_iso[t_f] = 0; fl_pins[t_f] = 0;
#ifdef HISTORY
		fl_prep[t_f] = 0;
#endif
		cachex[p] = NONE; k_finish(1)
	:: else -> k_putback(t_f)
	fi
}

active proctype Kswapd()	/* reclaim.shrink("kswapd_reclaim", j % NP) x NR */
{
end:	do
	/* shrink: folio_isolate_lru, folio_trylock (no step if the page is not cached) */
	:: d_step { kpc < NR && kst == S_START && CACHED(KPAGE) && !fl_iso[CACHE(KPAGE)] ->
		t_f = CACHE(KPAGE);
		if
		:: fl_lock[t_f] != 0 -> k_finish(0)
		:: fl_lock[t_f] == 0 && fl_wb[t_f] -> k_finish(0)
		:: fl_lock[t_f] == 0 && !fl_wb[t_f] ->
			fl_iso[t_f] = 1; fl_ref[t_f]++; fl_lock[t_f] = KSWAPD;
			if
			:: pte_p[KPAGE] -> kst = K_UNMAP
			:: else -> kst = K_RELEASE
			fi
		fi; STEP_END; DUMP_STATE }
	/* stage_unmap: try_to_unmap_one (rmap.clear_pte) */
	:: d_step { kpc < NR && kst == K_UNMAP ->
		t_f = CACHE(KPAGE);
		fl_map[t_f]--; fl_ref[t_f]--;
		t_b = pte_d[KPAGE];
		pte_p[KPAGE] = 0; pte_w[KPAGE] = 0; pte_d[KPAGE] = 0;
		if
		:: t_b -> folio_mark_dirty(t_f, KSWAPD, 1)
		:: else -> skip
		fi;
		kst = K_RELEASE; STEP_END; DUMP_STATE }
	/* stage_release: pinned / dirty -> keep; try_to_free_buffers; __remove_mapping */
	:: d_step { kpc < NR && kst == K_RELEASE ->
		t_f = CACHE(KPAGE);
		if
		:: fl_ref[t_f] >= BIAS -> k_putback(t_f)	/* folio_maybe_dma_pinned (6.4) */
		:: fl_ref[t_f] < BIAS && fl_dirty[t_f] -> k_putback(t_f)
		:: fl_ref[t_f] < BIAS && !fl_dirty[t_f] && fl_bufs[t_f] == B_DIRTY -> k_putback(t_f)
		:: fl_ref[t_f] < BIAS && !fl_dirty[t_f] && fl_bufs[t_f] == B_CLEAN ->
			fl_bufs[t_f] = B_NONE; fl_ref[t_f]--; kst = K_REMOVE
		:: fl_ref[t_f] < BIAS && !fl_dirty[t_f] && fl_bufs[t_f] == B_NONE -> k_remove(KPAGE)
		fi; STEP_END; DUMP_STATE }
	:: d_step { kpc < NR && kst == K_REMOVE -> k_remove(KPAGE); STEP_END; DUMP_STATE }
	od
}

/* device.disk_moves: bio i's next transfer or its completion (one process per bio id,
 * so that the choice between bios is the choice between processes) */
active [MAXBIO] proctype Disk()
{
	byte i = _pid - 3;	/* App, Flusher, Kswapd have pids 0..2 */
end:	do
	:: d_step { b_ex[i] && (b_pend[i] > 0 || !b_done[i]) ->
		if
		:: b_pend[i] > 0 && b_write[i] ->	/* _transfer: the device reads the page */
			t_j = 2 - b_pend[i];
			if
			:: fl_data[b_folio[i]] & (1 << t_j) -> disk[b_page[i]] = disk[b_page[i]] | (1 << t_j)
			:: else -> disk[b_page[i]] = disk[b_page[i]] & ~(1 << t_j)
			fi;
			b_pend[i]--
		:: b_pend[i] > 0 && !b_write[i] ->	/* _transfer: DMA into the folio */
			t_j = 2 - b_pend[i];
			/* dma_write_check: a write bio of the folio has yet to transfer the block, and
			 * the writer (the app, the read bio's waiter) is in its early set: it held the
			 * folio through GUP when the write bio was submitted (no checksums here) */
			t_m = 0;
			do
			:: t_m < MAXBIO ->
				if
				:: b_ex[t_m] && b_write[t_m] && b_folio[t_m] == b_folio[i] &&
				   t_j >= 2 - b_pend[t_m] && b_pend[t_m] > 0 && EARLY_HOLDER(t_m) ->
#if defined(CHECK_SW) && !defined(HISTORY)
					sw_seen = 1;
#endif
#ifdef CHECK_SW
					assert(false);	/* stable-writeback */
#endif
#ifdef HISTORY
					if
					:: vr_sw == 0 -> vr_sw = NEXT_RANK; sw_rb = i;
						sw_page = FIDX(b_folio[i]); sw_block = t_j; sw_wb = t_m
					:: else -> skip
					fi;
#endif
					skip
				:: else -> skip
				fi; t_m++
			:: else -> break
			od;
			fl_data[b_folio[i]] = fl_data[b_folio[i]] | (1 << t_j);
			b_pend[i]--
		:: b_pend[i] == 0 && b_write[i] ->	/* _complete: folio_end_writeback */
			fl_wb[b_folio[i]] = 0; remove_bio(i)
		:: b_pend[i] == 0 && !b_write[i] && !b_woken[i] ->	/* wake the read() */
			b_woken[i] = 1;
			t_b = 1; t_m = 0;
			do
			:: t_m < MAXBIO ->
				if
				:: b_ex[t_m] && !b_write[t_m] && !b_woken[t_m] -> t_b = 0
				:: else -> skip
				fi; t_m++
			:: else -> break
			od;
			if
			:: t_b -> ast = S_RETURN
			:: else -> skip
			fi
		:: b_pend[i] == 0 && !b_write[i] && b_woken[i] && fl_dirty[b_folio[i]] ->
			/* bio_check_pages_dirty: still dirty, bio_release_pages */
			release_pin(b_folio[i]); remove_bio(i)
		:: b_pend[i] == 0 && !b_write[i] && b_woken[i] && !fl_dirty[b_folio[i]] ->
			/* cleaned meanwhile: queue on bio_dirty_list */
			b_done[i] = 1; dw[dwn] = i; dwn++
		fi; STEP_END; DUMP_STATE }
	od
}

/* device.bio_dirty_work: bio_dirty_fn re-dirties (set_page_dirty_lock), then unpins */
active proctype Kworker()
{
end:	do
	:: d_step { dwn > 0 && fl_lock[b_folio[dw[0]]] == 0 ->
		t_m = dw[0]; t_f = b_folio[t_m];
		folio_mark_dirty(t_f, 1, 0);
		release_pin(t_f);
		remove_bio(t_m);
		t_j = 0;
		do
		:: t_j + 1 < dwn -> dw[t_j] = dw[t_j + 1]; t_j++
		:: else -> break
		od;
		dwn--; dw[dwn] = 0; STEP_END; DUMP_STATE }
	od
}

/* KernelModel.is_end: every user program done, daemons between operations, no I/O */
active proctype Monitor()	/* gupcheck's deadlock: a stuck state that is not an end */
{
end:	do
	:: d_step { timeout ->
		t_b = (apc == 2 && ast == S_START && fst == S_START && kst == S_START && dwn == 0);
		t_m = 0;
		do
		:: t_m < MAXBIO -> t_b = t_b && !b_ex[t_m]; t_m++
		:: else -> break
		od;
		assert(t_b); RESET_SCRATCH }
	od
}
