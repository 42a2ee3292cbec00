/* dynlib.c - a shared library loaded when it is first used, its functions resolved by name. */
#include "swarmflow/common/dynlib.h"

#include <dlfcn.h>
#include <string.h>

#include "swarmflow/common/log.h"

void dynlib_load(const char *soname, const char *package, const struct dynlib_sym *syms, size_t n)
{
	/* Never closed: the library keeps threads and handlers until the process ends. */
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		fatalx("cannot load %s (Debian package %s): %s", soname, package, dlerror());
	for (size_t i = 0; i < n; i++) {
		dlerror();
		void *p = dlsym(lib, syms[i].name);
		if (!p)
			fatalx("%s has no function %s: %s", soname, syms[i].name, dlerror());
		/* Object to function pointer through memcpy: what POSIX's dlsym requires to work.
		 */
		memcpy(syms[i].slot, &p, sizeof(p));
	}
}
