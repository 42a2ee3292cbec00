/* logstream.c - placeholder until its module lands. */
