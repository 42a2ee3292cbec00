/* route.c - the route table, path parameters, the query string and the bearer token check: pure
 * functions of the request's text, unit-tested without a server. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "swarmflow/core/dag.h"
#include "swarmflow/web/control.h"

/* The highest try number a URL may name (far above any retries setting). */
#define TRY_MAX 1000000
/* Most path segments a route has ("/api/v1/dags/d/runs/r/tasks/t/logs/1"). */
#define MAX_SEGMENTS 12
/* The longest XCom key a URL may name (Airflow's column holds 512). */
#define XCOM_KEY_MAX 250

/* One row per (method, path): the API as a table. "{x}" segments are parameters. */
static const struct route_def {
	const char *method;
	const char *pattern;
	enum route_id id;
} routes[] = {
    /* The UI's own API (src/web/ui/app.js). */
    {"GET", "/ui/api/dags", R_DAGS},
    {"GET", "/ui/api/dags/{dag}", R_DAG},
    {"PATCH", "/ui/api/dags/{dag}", R_DAG_PATCH},
    {"GET", "/ui/api/dags/{dag}/runs", R_DAG_RUNS},
    {"POST", "/ui/api/dags/{dag}/runs", R_TRIGGER},
    {"GET", "/ui/api/runs", R_RUNS},
    {"GET", "/ui/api/dags/{dag}/runs/{run}", R_RUN},
    {"GET", "/ui/api/dags/{dag}/runs/{run}/tasks", R_RUN_TASKS},
    {"GET", "/ui/api/dags/{dag}/grid", R_GRID},
    {"GET", "/ui/api/dags/{dag}/runs/{run}/tasks/{task}/tries", R_TRIES},
    {"GET", "/ui/api/dags/{dag}/runs/{run}/tasks/{task}/logs/{try}", R_LOGS},
    {"POST", "/ui/api/dags/{dag}/runs/{run}/clear", R_CLEAR},
    {"GET", "/metrics", R_METRICS},
    {"GET", "/health", R_HEALTH},
    /* Airflow's stable REST API (v1). Rows with "~" come before those with a parameter. */
    {"GET", "/api/v1/health", R_AF_HEALTH},
    {"GET", "/api/v1/version", R_AF_VERSION},
    {"GET", "/api/v1/dags", R_AF_DAGS},
    {"GET", "/api/v1/importErrors", R_AF_IMPORT_ERRORS},
    {"GET", "/api/v1/pools", R_AF_POOLS},
    {"GET", "/api/v1/pools/{pool}", R_AF_POOL},
    {"GET", "/api/v1/dags/~/dagRuns", R_AF_RUNS},
    {"POST", "/api/v1/dags/~/dagRuns/list", R_AF_RUNS_LIST},
    {"POST", "/api/v1/dags/~/dagRuns/~/taskInstances/list", R_AF_TIS_LIST},
    {"GET", "/api/v1/dags/{dag}", R_AF_DAG},
    {"PATCH", "/api/v1/dags/{dag}", R_AF_DAG_PATCH},
    {"GET", "/api/v1/dags/{dag}/details", R_AF_DAG_DETAILS},
    {"GET", "/api/v1/dags/{dag}/tasks", R_AF_TASKS},
    {"POST", "/api/v1/dags/{dag}/clearTaskInstances", R_AF_CLEAR_TIS},
    {"GET", "/api/v1/dags/{dag}/dagRuns", R_AF_RUNS},
    {"POST", "/api/v1/dags/{dag}/dagRuns", R_AF_TRIGGER},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}", R_AF_RUN},
    {"PATCH", "/api/v1/dags/{dag}/dagRuns/{run}", R_AF_RUN_PATCH},
    {"DELETE", "/api/v1/dags/{dag}/dagRuns/{run}", R_AF_RUN_DELETE},
    {"POST", "/api/v1/dags/{dag}/dagRuns/{run}/clear", R_AF_RUN_CLEAR},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances", R_AF_TIS},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}", R_AF_TI},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}/logs/{try}", R_AF_LOGS},
    /* Fixed names before {map}, which would fit them too. */
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}/listMapped", R_AF_TIS_MAPPED},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}/xcomEntries", R_AF_XCOMS},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}/xcomEntries/{key}", R_AF_XCOM},
    {"GET", "/api/v1/dags/{dag}/dagRuns/{run}/taskInstances/{task}/{map}", R_AF_TI_MAPPED},
};

/* Airflow resources swarmflow has nothing to map onto: any path under /api/v1 naming one of
 * them answers 404 saying so (not "no such endpoint"). */
static const struct unserved {
	const char *segment;
	const char *why;
} unserved[] = {
    {"variables", "swarmflow has no Airflow variables: put values in the DAG file or a run's conf"},
    {"connections", "swarmflow has no Airflow connections: use Docker secrets (task key secrets)"},
    {"datasets", "swarmflow has no datasets"},
    {"plugins", "swarmflow has no plugins"},
    {"providers", "swarmflow has no providers"},
    {"eventLogs", "swarmflow keeps no event log: see the scheduler's log"},
    {"config", "the configuration is not served over the API"},
    {"users", "swarmflow has no users: one API token"},
    {"roles", "swarmflow has no roles: one API token"},
    {"permissions", "swarmflow has no permissions: one API token"},
    {"dagSources", "DAG sources are not served over the API"},
    {"dagWarnings", "swarmflow has no DAG warnings: see importErrors"},
    {"dagStats", "DAG stats are not served: see /metrics"},
};

/* The parameters a pattern may name, in enum order (ARG_DAG ...). */
static const char *const arg_names[ROUTE_MAX_ARGS] = {"{dag}",  "{run}", "{task}", "{try}",
						      "{pool}", "{map}", "{key}"};

/* A path cut at '/': pointers into a copy, without the leading empty segment. */
struct segments {
	char *copy;
	char *v[MAX_SEGMENTS];
	size_t n;
	bool too_many;
};

static void split(const char *path, size_t len, struct segments *s)
{
	*s = (struct segments){.copy = xstrndup(path, len)};
	char *p = s->copy + (s->copy[0] == '/');
	while (p) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (s->n == MAX_SEGMENTS) {
			s->too_many = true;
			break;
		}
		s->v[s->n++] = p;
		p = slash ? slash + 1 : NULL;
	}
}

static int arg_index(const char *segment)
{
	for (int i = 0; i < ROUTE_MAX_ARGS; i++)
		if (strcmp(segment, arg_names[i]) == 0)
			return i;
	return -1;
}

/* True when the path's segments fit the pattern; raw[] gets the parameter segments. */
static bool pattern_fits(const char *pattern, const struct segments *path,
			 const char *raw[ROUTE_MAX_ARGS])
{
	struct segments pat;
	split(pattern, strlen(pattern), &pat);
	bool ok = pat.n == path->n;
	for (size_t i = 0; ok && i < pat.n; i++) {
		int arg = arg_index(pat.v[i]);
		if (arg >= 0 && !*path->v[i])
			ok = false; /* "//": a parameter is never empty */
		else if (arg >= 0)
			raw[arg] = path->v[i];
		else
			ok = strcmp(pat.v[i], path->v[i]) == 0;
	}
	free(pat.copy);
	return ok;
}

__attribute__((format(printf, 3, 4))) static bool fail(struct route_match *m, int status,
						       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	m->status = status;
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	return false;
}

/* Decodes and checks one path parameter into m. */
static bool take_arg(struct route_match *m, int arg, const char *raw)
{
	static const char *const what[ROUTE_MAX_ARGS] = {
	    "DAG id", "run id", "task id", "try number", "pool name", "map index", "XCom key"};
	char *v = url_decode(raw, strlen(raw), false);
	bool ok = v != NULL;
	if (ok && (arg == ARG_DAG || arg == ARG_TASK || arg == ARG_POOL))
		ok = dag_id_valid(v);
	else if (ok && arg == ARG_RUN)
		ok = control_run_id_valid(v);
	else if (ok && arg == ARG_TRY)
		ok = v[0] >= '0' && v[0] <= '9' && parse_int64(v, 1, TRY_MAX, &m->try_number);
	else if (ok && arg == ARG_MAP)
		ok = ((v[0] >= '0' && v[0] <= '9') || v[0] == '-') &&
		     parse_int64(v, -1, INT32_MAX, &m->map_index);
	else if (ok && arg == ARG_KEY)
		ok = v[0] && strlen(v) <= XCOM_KEY_MAX;
	if (!ok) {
		char shown[128];
		snprintf(shown, sizeof(shown), "%.100s", raw);
		snprintf(m->error, sizeof(m->error), "invalid %s '%s'", what[arg], shown);
		m->status = 400;
		free(v);
		return false;
	}
	m->args[arg] = v;
	return true;
}

static bool method_is(const char *method, const char *want)
{
	/* HEAD is GET without the body (libmicrohttpd drops it). */
	return strcmp(method, want) == 0 || (strcmp(want, "GET") == 0 && !strcmp(method, "HEAD"));
}

/* Adds method to the Allow list once (listMapped fits the {map} row as well). */
static void allow_add(struct route_match *m, const char *method)
{
	size_t n = strlen(m->allow), len = strlen(method);
	for (const char *p = m->allow; (p = strstr(p, method)) != NULL; p += len)
		if ((p == m->allow || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0'))
			return;
	snprintf(m->allow + n, sizeof(m->allow) - n, "%s%s", n ? ", " : "", method);
	if (strcmp(method, "GET") == 0)
		allow_add(m, "HEAD");
}

/* Finds the row for method among the patterns that fit the path. */
static bool match_api(const char *method, const struct segments *path, struct route_match *m)
{
	const char *raw[ROUTE_MAX_ARGS] = {0};
	const struct route_def *hit = NULL;
	bool fits = false;
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		const char *r[ROUTE_MAX_ARGS] = {0};
		if (path->too_many || !pattern_fits(routes[i].pattern, path, r))
			continue;
		fits = true;
		allow_add(m, routes[i].method);
		if (!hit && method_is(method, routes[i].method)) {
			hit = &routes[i];
			memcpy(raw, r, sizeof(raw));
		}
	}
	if (!hit && fits)
		return fail(m, 405, "method %s is not allowed here", method);
	if (!hit)
		return false;
	m->id = hit->id;
	m->mutating = strcmp(hit->method, "GET") != 0;
	m->airflow = strncmp(hit->pattern, "/api/v1/", 8) == 0;
	for (int a = 0; a < ROUTE_MAX_ARGS; a++)
		if (raw[a] && !take_arg(m, a, raw[a]))
			return false;
	return true;
}

/* The 404 of an Airflow resource swarmflow does not serve, when the path names one. */
static bool match_unserved(const struct segments *path, struct route_match *m)
{
	if (path->n < 3 || strcmp(path->v[0], "api") != 0 || strcmp(path->v[1], "v1") != 0)
		return false;
	for (size_t i = 2; i < path->n; i++)
		for (size_t u = 0; u < ARRAY_LEN(unserved); u++)
			if (strcmp(path->v[i], unserved[u].segment) == 0) {
				m->airflow = true;
				return fail(m, 404, "%s", unserved[u].why);
			}
	return false;
}

static bool is_api(const char *path, size_t len)
{
	return (len == 4 && strncmp(path, "/api", 4) == 0) || strncmp(path, "/api/", 5) == 0 ||
	       (len == 7 && strncmp(path, "/ui/api", 7) == 0) ||
	       strncmp(path, "/ui/api/", 8) == 0 ||
	       (len >= 8 && strncmp(path, "/metrics", 8) == 0 && (len == 8 || path[8] == '/')) ||
	       (len >= 7 && strncmp(path, "/health", 7) == 0 && (len == 7 || path[7] == '/'));
}

void route_match(const char *method, const char *target, struct route_match *m)
{
	*m = (struct route_match){.id = R_NONE};
	size_t len = strcspn(target, "?#");
	if (target[0] != '/') {
		fail(m, 400, "request target must be a path, got '%.100s'", target);
		return;
	}
	if (!is_api(target, len)) {
		if (method_is(method, "GET")) {
			m->id = R_UI;
			return;
		}
		allow_add(m, "GET");
		fail(m, 405, "method %s is not allowed here", method);
		return;
	}
	if (len > 1 && target[len - 1] == '/')
		len--;
	struct segments path;
	split(target, len, &path);
	bool matched = match_api(method, &path, m);
	if (!matched && m->status == 0)
		match_unserved(&path, m);
	if (m->status == 0 && !matched && path.n >= 2 && strcmp(path.v[0], "api") == 0)
		m->airflow = true;
	free(path.copy);
	if (!matched && m->status == 0)
		fail(m, 404, "no such endpoint: %.200s", target);
	if (!matched) {
		for (int i = 0; i < ROUTE_MAX_ARGS; i++) {
			free(m->args[i]);
			m->args[i] = NULL;
		}
		m->id = R_NONE;
	}
}

void route_match_finish(struct route_match *m)
{
	for (int i = 0; i < ROUTE_MAX_ARGS; i++)
		free(m->args[i]);
	*m = (struct route_match){0};
}

/* ---- percent-encoding ---- */

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *url_decode(const char *s, size_t len, bool plus_space)
{
	char *out = xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < len ? hex(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex(s[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = plus_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

void url_encode_segment(struct buf *out, const char *s)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789-._~";
	for (; *s; s++) {
		if (strchr(unreserved, *s))
			buf_append(out, s, 1);
		else
			buf_printf(out, "%%%02X", (unsigned char)*s);
	}
}

/* ---- the query ---- */

static bool query_add(struct query *q, const char *piece, size_t len, bool repeat, char **err)
{
	size_t klen = strcspn(piece, "=");
	if (klen > len)
		klen = len;
	char *key = url_decode(piece, klen, true);
	char *value = klen < len ? url_decode(piece + klen + 1, len - klen - 1, true) : xstrdup("");
	bool ok = key && value;
	if (!ok)
		set_err(err, "bad percent-encoding in the query");
	else if (!repeat && query_get(q, key))
		ok = set_err(err, "parameter '%.100s' given twice", key);
	if (ok) {
		strv_push_owned(&q->keys, key);
		strv_push_owned(&q->values, value);
		return true;
	}
	free(key);
	free(value);
	return false;
}

bool query_parse(const char *target, bool repeat, struct query *out, char **err)
{
	*out = (struct query){0};
	const char *p = strchr(target, '?');
	if (!p)
		return true;
	p++;
	size_t end = strcspn(p, "#");
	while (end > 0) {
		size_t n = strcspn(p, "&");
		if (n > end)
			n = end;
		if (n > 0 && !query_add(out, p, n, repeat, err)) {
			query_finish(out);
			return false;
		}
		size_t step = n < end ? n + 1 : n;
		p += step;
		end -= step;
	}
	return true;
}

void query_finish(struct query *q)
{
	strv_finish(&q->keys);
	strv_finish(&q->values);
}

const char *query_get(const struct query *q, const char *key)
{
	for (size_t i = 0; i < q->keys.len; i++)
		if (strcmp(q->keys.v[i], key) == 0)
			return q->values.v[i];
	return NULL;
}

void query_get_all(const struct query *q, const char *key, struct strv *out)
{
	for (size_t i = 0; i < q->keys.len; i++)
		if (strcmp(q->keys.v[i], key) == 0)
			strv_push(out, q->values.v[i]);
}

const char *query_unknown(const struct query *q, const char *const *allowed)
{
	for (size_t i = 0; i < q->keys.len; i++) {
		size_t k = 0;
		while (allowed[k] && strcmp(allowed[k], q->keys.v[i]) != 0)
			k++;
		if (!allowed[k])
			return q->keys.v[i];
	}
	return NULL;
}

bool query_int(const struct query *q, const char *key, int64_t def, int64_t min, int64_t max,
	       int64_t *out, char **err)
{
	const char *v = query_get(q, key);
	if (!v) {
		*out = def;
		return true;
	}
	if (parse_int64(v, min, max, out))
		return true;
	return set_err(err, "%s: expected an integer from %lld to %lld, got '%.50s'", key,
		       (long long)min, (long long)max, v);
}

/* ---- the bearer token ---- */

/* Compares in time that depends only on the length of the expected token, so that a client
 * cannot find the token byte by byte from response times. */
static bool token_equal(const char *given, const char *token)
{
	size_t n = strlen(token), m = strlen(given);
	volatile unsigned char diff = (unsigned char)(n != m);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(token[i] ^ (i < m ? given[i] : 0));
	return diff == 0;
}

/* Decodes standard base64 (with padding) into out (at most cap - 1 bytes, NUL-terminated).
 * False for anything else, a NUL byte included. */
static bool base64_decode(const char *in, char *out, size_t cap)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	if (n == 0 || n % 4 != 0)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (size_t j = 0; j < 4; j++) {
			const char *hit = in[i + j] ? strchr(alphabet, in[i + j]) : NULL;
			bool is_pad = in[i + j] == '=' && i + 4 == n && j >= 2;
			if (!hit && !is_pad)
				return false;
			if (pad && !is_pad)
				return false;
			pad += is_pad;
			v = v << 6 | (hit ? (uint32_t)(hit - alphabet) : 0);
		}
		for (int k = 0; k < 3 - pad; k++) {
			char c = (char)(v >> (16 - 8 * k) & 0xff);
			if (o + 1 >= cap || c == '\0')
				return false;
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return true;
}

/* The token of an Authorization header: "Bearer T", or the password of "Basic ..."; NULL. */
static const char *given_token(const char *header, char *basic, size_t cap)
{
	if (!header)
		return NULL;
	bool bearer = strncasecmp(header, "Bearer ", 7) == 0;
	if (!bearer && strncasecmp(header, "Basic ", 6) != 0)
		return NULL;
	const char *v = header + (bearer ? 7 : 6);
	while (*v == ' ')
		v++;
	if (bearer)
		return v;
	const char *colon = base64_decode(v, basic, cap) ? strchr(basic, ':') : NULL;
	return colon ? colon + 1 : NULL;
}

int auth_check(const char *header, const char *token, const char **why)
{
	if (!token) {
		*why = "read-only: no api_token_file configured";
		return 403;
	}
	char basic[8192];
	const char *given = given_token(header, basic, sizeof(basic));
	int status = 0;
	*why = NULL;
	if (!given) {
		*why = "missing bearer token (send Authorization: Bearer <token>, or HTTP Basic "
		       "auth with the token as the password)";
		status = 401;
	} else if (!token_equal(given, token)) {
		*why = "invalid bearer token or Basic auth password";
		status = 401;
	}
	explicit_bzero(basic, sizeof(basic));
	return status;
}
