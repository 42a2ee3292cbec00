/* web.h - the HTTP server inside `swarmflow scheduler` (libmicrohttpd, its own threads and
 * SQLite connections): the REST API under /api/v1, /metrics, /health and the web UI. */
#ifndef SWARMFLOW_WEB_WEB_H
#define SWARMFLOW_WEB_WEB_H

#include <stdbool.h>

#include "swarmflow/common/metrics.h"
#include "swarmflow/core/config.h"
#include "swarmflow/web/dags.h"

/* Largest request body accepted (413 above). */
#define WEB_MAX_BODY (64 * 1024)
/* Most log text one logs response carries; the client asks again from next_offset. */
#define WEB_MAX_LOG_CHUNK (1024 * 1024)
/* Threads serving requests; each has its own SQLite connection. */
#define WEB_THREADS 4

struct web;

/* Reads the bearer token from path: the file's text with surrounding whitespace trimmed. False
 * with *err (caller frees) when the file cannot be read, is empty, is larger than 4 KiB or holds
 * a control character inside the token. */
bool web_token_read(const char *path, char **token, char **err);

/* Starts serving on cfg->web_listen (the caller checks it is not "off"): binds the address, reads
 * cfg->api_token_file (none: every PATCH and POST is refused with 403), opens its own
 * connections to state_dir/swarmflow.db, and starts its threads with every signal blocked (the
 * scheduler's loop waits for them). Copies what it needs from cfg: cfg may change afterwards
 * (SIGHUP). m and dags must outlive the server. Returns NULL with *err (caller frees), e.g.
 * "web_listen 127.0.0.1:8080: cannot listen: Address already in use". Stop with web_stop(). */
struct web *web_start(const struct config *cfg, struct metrics *m, struct web_dags *dags,
		      char **err);

/* The port actually bound (web_listen may ask for port 0). */
int web_port(const struct web *w);

/* Stops accepting, waits for requests being served, frees everything (accepts NULL). */
void web_stop(struct web *w);

#endif
