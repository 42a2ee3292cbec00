/* dag.c - placeholder until its module lands. */
