/* dag_validate.c - placeholder until its module lands. */
