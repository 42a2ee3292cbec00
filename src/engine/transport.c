/* transport.c - placeholder until its module lands. */
