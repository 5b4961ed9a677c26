/* Peterson's mutual exclusion algorithm for two processes,
 * looping forever.  `critical` counts the processes inside the
 * critical section; the assertion checks mutual exclusion.
 */
bool flag[2];
byte turn;
byte critical;

active [2] proctype P()
{
	do
	:: flag[_pid] = true;
	   turn = 1 - _pid;
	   (flag[1 - _pid] == false || turn == _pid);
	   critical++;
	   assert(critical <= 1);
	   critical--;
	   flag[_pid] = false
	od
}
