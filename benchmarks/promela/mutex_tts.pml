/* Broken "test-then-set" mutex for two processes: the test of the
 * lock and the setting of it are two separate steps, so both
 * processes can pass the test before either sets the lock.
 * The assertion (mutual exclusion) is violated.
 */
bit lock;
byte critical;

active [2] proctype P()
{
	do
	:: lock == 0;		/* test: wait until the lock looks free */
	   lock = 1;		/* then set it (not atomic with the test) */
	   critical++;
	   assert(critical <= 1);
	   critical--;
	   lock = 0
	od
}
