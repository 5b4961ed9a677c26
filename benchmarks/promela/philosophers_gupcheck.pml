/* Dining philosophers, step for step the same as gupcheck's
 * Philosophers (gupcheck/classic/philosophers.py): 3 steps each,
 *
 *     take left fork  (test-and-set, blocks while it is taken)
 *     take right fork (the same)
 *     put both forks down (one step)
 *
 * Every step is one d_step, so it is one transition and, unlike
 * `atomic`, has no intermediate state even with -DBFS.  gupcheck
 * records the holder of each fork; here a fork is a bit, but the holder
 * is fixed by the philosophers' locations, so the states correspond
 * one to one.
 *
 * -DCLOCK adds gupcheck's `clock=True` actor: an independent process
 * that toggles a bit forever, so no state is ever stuck and pan never
 * reports an invalid end state.  The deadlock (every philosopher holds
 * its left fork, gupcheck's wait-for cycle) is then caught by an
 * assertion in the take-left step, through `hungry`, the number of
 * philosophers holding only their left fork.  `hungry` is a function of
 * the locations, so it adds no states.  Without CLOCK the same deadlock
 * is pan's "invalid end state".
 *
 * Reachable states (spin -o1 -o3, pan -DNOREDUCE, -c0): N=3 14,
 * N=4 34, N=5 82; with -DCLOCK twice that.  Equal to gupcheck's counts.
 * Override N with e.g.  spin -DN=4 -DCLOCK -a philosophers_gupcheck.pml
 */
#ifndef N
#define N 3
#endif

#define LEFT	_pid
#define RIGHT	((_pid + 1) % N)

bit fork[N];

#ifdef CLOCK
bit clk;
byte hungry;
#endif

active [N] proctype Phil()
{
	do
	:: d_step { fork[LEFT] == 0 -> fork[LEFT] = 1
#ifdef CLOCK
		    ; hungry++; assert(hungry < N)
#endif
		  };
	   d_step { fork[RIGHT] == 0 -> fork[RIGHT] = 1
#ifdef CLOCK
		    ; hungry--
#endif
		  };
	   /* eat */
	   d_step { fork[LEFT] = 0; fork[RIGHT] = 0 }
	od
}

#ifdef CLOCK
/* declared after Phil, so the philosophers keep pids 0..N-1 */

active proctype Clock()
{
	do
	:: clk = 1 - clk
	od
}
#endif
