/* sched.c - placeholder until its module lands. */
