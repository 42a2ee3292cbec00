/* template.c - placeholder until its module lands. */
