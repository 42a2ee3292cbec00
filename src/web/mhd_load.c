/* mhd_load.c - libmicrohttpd, loaded when the web server first starts rather than when swarmflow
 * starts (see src/engine/curl_load.c: the same for libcurl, and why). Its TLS library and the
 * ones that one brings cost about 2 ms of every command's start-up. */
#include <microhttpd.h>

#include <pthread.h>
#include <stdarg.h>

#include "swarmflow/common/dynlib.h"
#include "swarmflow/common/util.h"

/* Every libmicrohttpd function swarmflow calls: X(name, return type, parameters).
 * MHD_start_daemon's options are passed on through the library's own MHD_start_daemon_va. */
#define MHD_FUNCTIONS(X)                                                                           \
	X(MHD_start_daemon_va, struct MHD_Daemon *,                                                \
	  (unsigned, uint16_t, MHD_AcceptPolicyCallback, void *, MHD_AccessHandlerCallback,        \
	   void *, va_list))                                                                       \
	X(MHD_stop_daemon, void, (struct MHD_Daemon *))                                            \
	X(MHD_lookup_connection_value, const char *,                                               \
	  (struct MHD_Connection *, enum MHD_ValueKind, const char *))                             \
	X(MHD_queue_response, enum MHD_Result,                                                     \
	  (struct MHD_Connection *, unsigned, struct MHD_Response *))                              \
	X(MHD_create_response_from_buffer, struct MHD_Response *,                                  \
	  (size_t, void *, enum MHD_ResponseMemoryMode))                                           \
	X(MHD_destroy_response, void, (struct MHD_Response *))                                     \
	X(MHD_add_response_header, enum MHD_Result,                                                \
	  (struct MHD_Response *, const char *, const char *))

#define MHD_POINTER(name, ret, params) ret(*name) params;
struct mhd_syms {
	MHD_FUNCTIONS(MHD_POINTER)
};
#undef MHD_POINTER

/* Written once under pthread_once, read-only after (as the dynamic linker's table would be). */
static struct mhd_syms real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void load(void)
{
#define MHD_SYM(name, ret, params) {#name, &real.name},
	static const struct dynlib_sym syms[] = {MHD_FUNCTIONS(MHD_SYM)};
#undef MHD_SYM
	dynlib_load("libmicrohttpd.so.12", "libmicrohttpd12", syms, ARRAY_LEN(syms));
}

static const struct mhd_syms *mhd_real(void)
{
	pthread_once(&real_once, load);
	return &real;
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
				    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	const struct mhd_syms *m = mhd_real();
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d = m->MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *d)
{
	mhd_real()->MHD_stop_daemon(d);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
					const char *key)
{
	return mhd_real()->MHD_lookup_connection_value(c, kind, key);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status,
				   struct MHD_Response *r)
{
	return mhd_real()->MHD_queue_response(c, status, r);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
						     enum MHD_ResponseMemoryMode mode)
{
	return mhd_real()->MHD_create_response_from_buffer(size, buffer, mode);
}

void MHD_destroy_response(struct MHD_Response *r)
{
	mhd_real()->MHD_destroy_response(r);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header,
					const char *content)
{
	return mhd_real()->MHD_add_response_header(r, header, content);
}
