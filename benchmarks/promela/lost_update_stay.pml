/* Lost update with finished processes that stay: the symmetric variant of lost_update.pml.
 * Each process ends at an end-labelled statement that never executes, so SPIN never removes
 * one and the processes are interchangeable (gupcheck's StayingLostUpdate, state for state).
 * Override the parameters with e.g.  spin -DN=4 -DK=2 -a lost_update_stay.pml
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
	od;
end:	false
}
