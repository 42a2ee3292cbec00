/* store.c - placeholder until its module lands. */
