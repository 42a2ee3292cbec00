/* units.c - placeholder until its module lands. */
