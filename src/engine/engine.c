/* engine.c - placeholder until its module lands. */
