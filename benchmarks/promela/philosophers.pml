/* Dining philosophers: N philosophers, N forks.  Each philosopher
 * takes its left fork, then its right fork (each pickup is one atomic
 * test-and-set step that blocks until the fork is free), eats, puts
 * both forks down and starts again.  When every philosopher holds its
 * left fork the system deadlocks (SPIN: "invalid end state").
 * Override N with e.g.  spin -DN=4 -a philosophers.pml
 */
#ifndef N
#define N 3
#endif

#define LEFT	_pid
#define RIGHT	((_pid + 1) % N)

bit fork[N];

active [N] proctype Phil()
{
	do
	:: atomic { fork[LEFT] == 0 -> fork[LEFT] = 1 };
	   atomic { fork[RIGHT] == 0 -> fork[RIGHT] = 1 };
	   /* eat */
	   fork[LEFT] = 0;
	   fork[RIGHT] = 0
	od
}
