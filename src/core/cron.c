/* cron.c - placeholder until its module lands. */
