/* spec.c - placeholder until its module lands. */
