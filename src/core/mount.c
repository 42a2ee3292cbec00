/* mount.c - placeholder until its module lands. */
