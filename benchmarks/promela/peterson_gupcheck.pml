/* Peterson's mutual exclusion, step for step the same as gupcheck's
 * classic model (gupcheck/classic/peterson.py): 4 steps per process,
 *
 *     flag[i] = 1;  turn = j;  await (flag[j] == 0 || turn == i);  flag[i] = 0
 *
 * The critical section is the location after the await.  `critical`
 * counts the processes there; it is updated and checked inside the
 * existing steps (d_step: one transition, no intermediate state), and it
 * is a function of the two locations, so it adds no states.
 * (SPIN forbids remote references such as P[j]@cs inside the same
 * proctype and inside d_step, hence the counter.)
 *
 * Reachable states (spin -o1 -o3, pan -DNOREDUCE): 20 = gupcheck's count.
 */
bit flag[2];
byte turn;
byte critical;

active [2] proctype P()
{
	do
	:: flag[_pid] = 1;
	   turn = 1 - _pid;
	   d_step { (flag[1 - _pid] == 0 || turn == _pid) ->
		    critical++; assert(critical <= 1) };
	   /* critical section */
	   d_step { flag[_pid] = 0; critical-- }
	od
}
