/* dynlib.h - a shared library loaded when it is first used, its functions resolved by name. */
#ifndef SWARMFLOW_COMMON_DYNLIB_H
#define SWARMFLOW_COMMON_DYNLIB_H

#include <stddef.h>

/* One function to resolve: its name, and the function pointer it is written to. */
struct dynlib_sym {
	const char *name;
	void *slot; /* the address of a function pointer */
};

/* Loads `soname` and writes each symbol's address to its slot. Fatal, naming the library and
 * the Debian package that brings it, when either is missing: swarmflow cannot go on without
 * them, as it could not have started had it been linked against them. */
void dynlib_load(const char *soname, const char *package, const struct dynlib_sym *syms, size_t n);

#endif
