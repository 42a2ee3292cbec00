/* curl_load.c - libcurl, loaded when it is first used rather than when swarmflow starts.
 *
 * Debian's libcurl brings 30-odd libraries (TLS twice, Kerberos, LDAP, SSH, RTMP...): mapping
 * and relocating them took 5 to 6 ms of every command's start, most of the run of a command
 * that only reads the store (`runs list`, `tasks list`, `dags list`). So swarmflow is not
 * linked against libcurl: the functions it calls are defined here, with curl's own
 * prototypes, and each forwards to the real one, which the first call loads (dlopen of
 * libcurl.so.4, the library's ABI name). The callers keep curl's headers, and their compile-time
 * type checks of curl_easy_setopt().
 *
 * The table of the real functions is the process's only state of this kind: written once under
 * pthread_once (as the dynamic linker would have at start), read-only after. */
#define CURL_DISABLE_TYPECHECK /* the functions themselves are defined here */
#include <curl/curl.h>

#include <pthread.h>
#include <stdarg.h>

#include "swarmflow/common/dynlib.h"
#include "swarmflow/common/util.h"

/* Every libcurl function swarmflow (and its tests) calls: X(name, return type, parameters). */
#define CURL_FUNCTIONS(X)                                                                          \
	X(curl_global_init, CURLcode, (long))                                                      \
	X(curl_global_cleanup, void, (void))                                                       \
	X(curl_free, void, (void *))                                                               \
	X(curl_easy_init, CURL *, (void))                                                          \
	X(curl_easy_duphandle, CURL *, (CURL *))                                                   \
	X(curl_easy_cleanup, void, (CURL *))                                                       \
	X(curl_easy_perform, CURLcode, (CURL *))                                                   \
	X(curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))                                   \
	X(curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                                    \
	X(curl_easy_strerror, const char *, (CURLcode))                                            \
	X(curl_easy_escape, char *, (CURL *, const char *, int))                                   \
	X(curl_slist_append, struct curl_slist *, (struct curl_slist *, const char *))             \
	X(curl_slist_free_all, void, (struct curl_slist *))                                        \
	X(curl_multi_init, CURLM *, (void))                                                        \
	X(curl_multi_cleanup, CURLMcode, (CURLM *))                                                \
	X(curl_multi_add_handle, CURLMcode, (CURLM *, CURL *))                                     \
	X(curl_multi_remove_handle, CURLMcode, (CURLM *, CURL *))                                  \
	X(curl_multi_perform, CURLMcode, (CURLM *, int *))                                         \
	X(curl_multi_poll, CURLMcode, (CURLM *, struct curl_waitfd *, unsigned, int, int *))       \
	X(curl_multi_wakeup, CURLMcode, (CURLM *))                                                 \
	X(curl_multi_timeout, CURLMcode, (CURLM *, long *))                                        \
	X(curl_multi_info_read, CURLMsg *, (CURLM *, int *))                                       \
	X(curl_multi_strerror, const char *, (CURLMcode))

#define CURL_POINTER(name, ret, params) ret(*name) params;
struct curl_syms {
	CURL_FUNCTIONS(CURL_POINTER)
};
#undef CURL_POINTER

static struct curl_syms real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void load(void)
{
#define CURL_SYM(name, ret, params) {#name, &real.name},
	static const struct dynlib_sym syms[] = {CURL_FUNCTIONS(CURL_SYM)};
#undef CURL_SYM
	/* libcurl.so.4: the ABI the headers we build with describe. */
	dynlib_load("libcurl.so.4", "libcurl4", syms, ARRAY_LEN(syms));
}

static const struct curl_syms *curl_real(void)
{
	pthread_once(&real_once, load);
	return &real;
}

CURLcode curl_global_init(long flags)
{
	return curl_real()->curl_global_init(flags);
}

void curl_global_cleanup(void)
{
	curl_real()->curl_global_cleanup();
}

void curl_free(void *p)
{
	curl_real()->curl_free(p);
}

CURL *curl_easy_init(void)
{
	return curl_real()->curl_easy_init();
}

CURL *curl_easy_duphandle(CURL *h)
{
	return curl_real()->curl_easy_duphandle(h);
}

void curl_easy_cleanup(CURL *h)
{
	curl_real()->curl_easy_cleanup(h);
}

CURLcode curl_easy_perform(CURL *h)
{
	return curl_real()->curl_easy_perform(h);
}

/* The one argument after the option has the type curl documents for the option's range:
 * a long, an object pointer, a function pointer, a curl_off_t or a blob (a pointer). */
CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	const struct curl_syms *c = curl_real();
	va_list ap;
	va_start(ap, option);
	CURLcode rc;
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = c->curl_easy_setopt(h, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = c->curl_easy_setopt(h, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = c->curl_easy_setopt(h, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = c->curl_easy_setopt(h, option, va_arg(ap, curl_off_t));
	else
		rc = c->curl_easy_setopt(h, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the value goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	CURLcode rc = curl_real()->curl_easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *curl_easy_strerror(CURLcode code)
{
	return curl_real()->curl_easy_strerror(code);
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
	return curl_real()->curl_easy_escape(h, s, len);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return curl_real()->curl_slist_append(list, s);
}

void curl_slist_free_all(struct curl_slist *list)
{
	curl_real()->curl_slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
	return curl_real()->curl_multi_init();
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
	return curl_real()->curl_multi_cleanup(m);
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
	return curl_real()->curl_multi_add_handle(m, h);
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
	return curl_real()->curl_multi_remove_handle(m, h);
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	return curl_real()->curl_multi_perform(m, running);
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned n, int timeout_ms,
			  int *numfds)
{
	return curl_real()->curl_multi_poll(m, extra, n, timeout_ms, numfds);
}

CURLMcode curl_multi_wakeup(CURLM *m)
{
	return curl_real()->curl_multi_wakeup(m);
}

CURLMcode curl_multi_timeout(CURLM *m, long *ms)
{
	return curl_real()->curl_multi_timeout(m, ms);
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
	return curl_real()->curl_multi_info_read(m, left);
}

const char *curl_multi_strerror(CURLMcode code)
{
	return curl_real()->curl_multi_strerror(code);
}
