/* Broken test-then-set mutex, step for step the same as gupcheck's
 * BrokenMutex (gupcheck/classic/mutex.py): 3 steps per process,
 *
 *     await lock == 0;  lock = 1;  lock = 0
 *
 * The critical section is the location after `lock = 1`.  `critical`
 * counts the processes there; it is updated and checked inside the
 * existing steps (d_step: one transition, no intermediate state), and it
 * is a function of the two locations, so it adds no states.  The
 * assertion is violated: both processes can pass the test before
 * either sets the lock.
 *
 * Reachable states (spin -o1 -o3, pan -DNOREDUCE, -c0 for the full
 * space): 13 = gupcheck's count.
 */
bit lock;
byte critical;

active [2] proctype P()
{
	do
	:: lock == 0;
	   d_step { lock = 1; critical++; assert(critical <= 1) };
	   /* critical section */
	   d_step { lock = 0; critical-- }
	od
}
