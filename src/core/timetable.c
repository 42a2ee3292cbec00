/* timetable.c - placeholder until the scheduling issue lands it. */
