/* dagbag.c - placeholder until its module lands. */
