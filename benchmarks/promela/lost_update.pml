/* Lost update: N processes each increment a shared counter K times
 * with a non-atomic read / modify / write sequence.
 * Override the parameters with e.g.  spin -DN=3 -DK=2 -a lost_update.pml
 */
#ifndef N
#define N 2
#endif
#ifndef K
#define K 2
#endif

byte counter;

active [N] proctype P()
{
	byte i, tmp;
	do
	:: i < K ->
		tmp = counter;
		tmp = tmp + 1;
		counter = tmp;
		i++
	:: else -> break
	od
}
