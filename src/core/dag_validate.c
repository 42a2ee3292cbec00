/* dag_validate.c - checks of a .dag file's raw text before parsing, and of the task graph after. */
#include "swarmflow/core/dag.h"

#include <stdlib.h>
#include <string.h>

/* ---- the raw text ---- */

static bool utf8_valid(const unsigned char *s, size_t len, size_t *bad)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80                 ? 1
			   : c >= 0xC2 && c <= 0xDF ? 2
			   : c >= 0xE0 && c <= 0xEF ? 3
			   : c >= 0xF0 && c <= 0xF4 ? 4
						    : 0;
		if (n == 0 || i + n > len)
			break;
		unsigned char c1 = n > 1 ? s[i + 1] : 0x80;
		bool ok = (c != 0xE0 || c1 >= 0xA0) && (c != 0xED || c1 <= 0x9F) &&
			  (c != 0xF0 || c1 >= 0x90) && (c != 0xF4 || c1 <= 0x8F);
		for (size_t k = 1; k < n; k++)
			ok = ok && (s[i + k] & 0xC0) == 0x80;
		if (!ok)
			break;
		i += n;
	}
	*bad = i;
	return i == len;
}

static int line_at(const char *buf, size_t off)
{
	int line = 1;
	for (const char *p = buf; (p = memchr(p, '\n', off - (size_t)(p - buf))); p++)
		line++;
	return line;
}

/* NUL bytes would cut the text short and invalid UTF-8 would reach the JSON we send. */
static bool check_bytes(const char *buf, size_t len, const char *path, struct dag_errors *errs)
{
	bool ok = true;
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		dag_errors_add(errs, path, line_at(buf, (size_t)(nul - buf)),
			       "NUL byte in the file (a .dag file is UTF-8 text)");
		ok = false;
	}
	size_t bad;
	if (!utf8_valid((const unsigned char *)buf, len, &bad)) {
		dag_errors_add(errs, path, line_at(buf, bad),
			       "invalid UTF-8 (byte 0x%02x; a .dag file is UTF-8 text)",
			       (unsigned char)buf[bad]);
		ok = false;
	}
	return ok;
}

/*
 * A scanner that follows libconfuse 3.3's lexer (lexer.l) closely enough to see what the parser
 * gets wrong or lets pass:
 *  - comments: 3.3 counts three lines for every '#' or '//' comment and one too many for every
 *    block comment, so the scanner blanks comments out (newlines kept) before libconfuse runs;
 *  - an unclosed '{' or comment at the end of the file, which it accepts silently;
 *  - "${NAME}" outside single quotes, which it replaces by getenv("NAME") of the parsing process.
 */
enum lex_state { LEX_CODE, LEX_DQ, LEX_SQ };

struct lexer {
	const char *p, *end;
	const char *base; /* start of the text */
	char *copy;       /* the same text, where comments are blanked out */
	int line;
	enum lex_state state;
	int depth;        /* of '{' outside strings and comments */
	int open_line;    /* line of the '{' that took depth from 0 to 1 */
	int comment_line; /* line of a '/' '*' comment that is never closed, or 0 */
	int string_line;  /* line where the current string started */
	const char *path;
	struct dag_errors *errs;
};

/* Characters an unquoted libconfuse string is made of. It cannot start with "//" or "/" "*"
 * (comments), but "a//b" is one string. */
static bool unquoted_char(char c)
{
	return c != '\0' && !strchr(" #\"'\t\n\r={}()+,*", c);
}

static size_t unquoted_len(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && unquoted_char(p[n]))
		n++;
	return n;
}

/* Moves to q, counting the newlines on the way. */
static void lex_advance(struct lexer *lx, const char *q)
{
	for (; lx->p < q; lx->p++)
		if (*lx->p == '\n')
			lx->line++;
}

/* Replaces the comment from lx->p to q (exclusive) by spaces in the copy, keeping newlines. */
static void lex_blank(struct lexer *lx, const char *q)
{
	for (const char *c = lx->p; c < q; c++)
		if (*c != '\n')
			lx->copy[c - lx->base] = ' ';
}

static void lex_skip_line(struct lexer *lx)
{
	const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
	lex_blank(lx, nl ? nl : lx->end);
	lx->p = nl ? nl : lx->end;
}

static void lex_skip_comment(struct lexer *lx)
{
	int line = lx->line;
	const char *q = lx->p + 2;
	while (q + 1 < lx->end && !(q[0] == '*' && q[1] == '/'))
		q++;
	bool closed = q + 1 < lx->end;
	lex_blank(lx, closed ? q + 2 : lx->end);
	lex_advance(lx, closed ? q + 2 : lx->end);
	if (!closed)
		lx->comment_line = line;
}

/* At "${": reports it and skips to its '}' when there is one (else it is plain text). */
static bool lex_env(struct lexer *lx)
{
	size_t left = (size_t)(lx->end - lx->p);
	if (left < 3 || lx->p[1] != '{')
		return false;
	const char *close = memchr(lx->p + 2, '}', left - 2);
	if (!close)
		return false;
	dag_errors_add(lx->errs, lx->path, lx->line,
		       "'%.*s' would be replaced from the scheduler's environment by the parser; "
		       "write '\\${' inside double quotes or use single quotes",
		       (int)(close - lx->p + 1 > 60 ? 60 : close - lx->p + 1), lx->p);
	lex_advance(lx, close + 1);
	return true;
}

static void lex_code(struct lexer *lx)
{
	const char *p = lx->p;
	size_t left = (size_t)(lx->end - p);
	if (*p == '#') {
		lex_skip_line(lx);
	} else if (*p == '/' && left > 1 && p[1] == '*') {
		lex_skip_comment(lx);
	} else if (*p == '/' && left > 1 && p[1] == '/') {
		lex_skip_line(lx);
	} else if (*p == '/') {
		/* An unquoted string may start with '/' only when a string character follows. */
		if (left > 1 && unquoted_char(p[1]))
			lx->p += 1 + unquoted_len(p + 1, lx->end);
		else
			lex_advance(lx, p + 1);
	} else if (*p == '"' || *p == '\'') {
		lx->state = *p == '"' ? LEX_DQ : LEX_SQ;
		lx->string_line = lx->line;
		lx->p++;
	} else if (*p == '{') {
		if (lx->depth++ == 0)
			lx->open_line = lx->line;
		lx->p++;
	} else if (*p == '}') {
		lx->depth -= lx->depth > 0;
		lx->p++;
	} else if (*p == '$' && lex_env(lx)) {
		return;
	} else if (unquoted_char(*p)) {
		lx->p += unquoted_len(p, lx->end);
	} else {
		lex_advance(lx, p + 1);
	}
}

static void lex_string(struct lexer *lx)
{
	const char *p = lx->p;
	char quote = lx->state == LEX_DQ ? '"' : '\'';
	if (*p == '\\') {
		lex_advance(lx, p + ((lx->end - p) > 1 ? 2 : 1));
	} else if (*p == quote) {
		lx->state = LEX_CODE;
		lx->p++;
	} else if (!(*p == '$' && lx->state == LEX_DQ && lex_env(lx))) {
		lex_advance(lx, p + 1);
	}
}

static void lex_scan(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (lx->state == LEX_CODE)
			lex_code(lx);
		else
			lex_string(lx);
	}
	/* libconfuse reports it too, but at the end of the file. */
	if (lx->state != LEX_CODE)
		dag_errors_add(lx->errs, lx->path, lx->string_line,
			       "string is never closed (missing %s)",
			       lx->state == LEX_DQ ? "'\"'" : "\"'\"");
}

bool dag_text_prepare(const char *buf, size_t len, const char *path, struct dag_text *out,
		      struct dag_errors *errs)
{
	*out = (struct dag_text){0};
	if (!check_bytes(buf, len, path, errs))
		return false;
	static const char bom[] = "\xEF\xBB\xBF";
	if (len >= 3 && memcmp(buf, bom, 3) == 0) {
		buf += 3;
		len -= 3;
	}
	out->text = xstrndup(buf, len);
	out->len = len;
	struct lexer lx = {.p = buf,
			   .end = buf + len,
			   .base = buf,
			   .copy = out->text,
			   .line = 1,
			   .path = path,
			   .errs = errs};
	lex_scan(&lx);
	if (lx.state == LEX_CODE) {
		out->comment_line = lx.comment_line;
		out->open_line = lx.depth > 0 ? lx.open_line : 0;
	}
	return true;
}

/* ---- the task graph ---- */

/* Task pointers sorted by id (then by position), for duplicate checks and lookups. */
struct id_index {
	const struct task **v;
	size_t n;
};

static int cmp_task_id(const void *a, const void *b)
{
	const struct task *x = *(const struct task *const *)a;
	const struct task *y = *(const struct task *const *)b;
	int c = strcmp(x->task_id, y->task_id);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int cmp_key_task(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct task *const *)elem)->task_id);
}

/* Builds the index and reports every task id defined more than once. */
static bool index_build(struct dag *dag, struct id_index *ix, struct dag_errors *errs)
{
	bool ok = true;
	ix->n = dag->n_tasks;
	ix->v = xcalloc(ix->n, sizeof(*ix->v));
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i] = &dag->tasks[i];
	qsort(ix->v, ix->n, sizeof(*ix->v), cmp_task_id);
	for (size_t i = 1; i < ix->n; i++) {
		const struct task *first = ix->v[i - 1], *t = ix->v[i];
		if (strcmp(first->task_id, t->task_id) != 0)
			continue;
		dag_errors_add(errs, dag->file, t->line,
			       "dag '%s': task '%s' defined twice (first at line %d)", dag->dag_id,
			       t->task_id, first->line);
		ok = false;
	}
	return ok;
}

/* Returns the index of the first task with that id, or -1. */
static long index_find(const struct dag *dag, const struct id_index *ix, const char *id)
{
	const struct task **hit = bsearch(id, ix->v, ix->n, sizeof(*ix->v), cmp_key_task);
	if (!hit)
		return -1;
	while (hit > ix->v && strcmp(hit[-1]->task_id, id) == 0)
		hit--;
	return (long)(*hit - dag->tasks);
}

static bool has_index(const size_t *v, size_t n, size_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void links_reset(struct dag *dag)
{
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct task *t = &dag->tasks[i];
		free(t->up_idx);
		free(t->down_idx);
		t->up_idx = t->down_idx = NULL;
		t->n_up = t->n_down = 0;
	}
	free(dag->topo);
	dag->topo = NULL;
}

/* Resolves one task's upstream names into up_idx; counts downstream links in *n_down. */
static bool link_upstreams(struct dag *dag, const struct id_index *ix, size_t i,
			   struct dag_errors *errs)
{
	struct task *t = &dag->tasks[i];
	bool ok = true;
	t->up_idx = xcalloc(t->upstream.len, sizeof(*t->up_idx));
	for (size_t k = 0; k < t->upstream.len; k++) {
		const char *name = t->upstream.v[k];
		long j = index_find(dag, ix, name);
		if (j < 0) {
			dag_errors_add(errs, dag->file, t->line,
				       "dag '%s' task '%s': unknown upstream '%s'", dag->dag_id,
				       t->task_id, name);
			ok = false;
		} else if ((size_t)j == i) {
			dag_errors_add(errs, dag->file, t->line,
				       "dag '%s' task '%s': depends on itself (dependency cycle: "
				       "%s -> %s)",
				       dag->dag_id, t->task_id, t->task_id, t->task_id);
			ok = false;
		} else if (!has_index(t->up_idx, t->n_up, (size_t)j)) {
			t->up_idx[t->n_up++] = (size_t)j;
			dag->tasks[j].n_down++;
		}
	}
	return ok;
}

/* Fills down_idx from the up_idx lists, in file order. */
static void link_downstreams(struct dag *dag)
{
	size_t *fill = xcalloc(dag->n_tasks, sizeof(*fill));
	for (size_t i = 0; i < dag->n_tasks; i++)
		dag->tasks[i].down_idx = xcalloc(dag->tasks[i].n_down, sizeof(size_t));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct task *t = &dag->tasks[i];
		for (size_t k = 0; k < t->n_up; k++) {
			size_t j = t->up_idx[k];
			dag->tasks[j].down_idx[fill[j]++] = i;
		}
	}
	free(fill);
}

/* Reports the cycle path[from..len-1] -> path[from], starting at its first task in file order. */
static void report_cycle(const struct dag *dag, const size_t *path, size_t from, size_t len,
			 struct dag_errors *errs)
{
	size_t n = len - from, start = 0;
	for (size_t k = 1; k < n; k++)
		if (path[from + k] < path[from + start])
			start = k;
	struct buf b;
	buf_init(&b, 0);
	for (size_t k = 0; k <= n; k++) {
		size_t idx = path[from + (start + k) % n];
		buf_printf(&b, "%s%s", k ? " -> " : "", dag->tasks[idx].task_id);
	}
	const struct task *first = &dag->tasks[path[from + start]];
	dag_errors_add(errs, dag->file, first->line, "dag '%s': dependency cycle: %s", dag->dag_id,
		       b.data);
	buf_finish(&b);
}

enum { WHITE, GREY, BLACK };

/* Iterative depth-first search along downstream links from root; reports every back edge. */
static bool dfs(const struct dag *dag, size_t root, unsigned char *color, size_t *path,
		size_t *next, struct dag_errors *errs)
{
	bool ok = true;
	size_t len = 0;
	path[len] = root;
	next[len++] = 0;
	color[root] = GREY;
	while (len) {
		size_t u = path[len - 1];
		const struct task *t = &dag->tasks[u];
		if (next[len - 1] == t->n_down) {
			color[u] = BLACK;
			len--;
			continue;
		}
		size_t v = t->down_idx[next[len - 1]++];
		if (color[v] == GREY) {
			size_t from = len - 1;
			while (path[from] != v)
				from--;
			report_cycle(dag, path, from, len, errs);
			ok = false;
		} else if (color[v] == WHITE) {
			color[v] = GREY;
			path[len] = v;
			next[len++] = 0;
		}
	}
	return ok;
}

static bool check_cycles(const struct dag *dag, struct dag_errors *errs)
{
	size_t n = dag->n_tasks;
	unsigned char *color = xcalloc(n, 1);
	size_t *path = xcalloc(n, sizeof(*path));
	size_t *next = xcalloc(n, sizeof(*next));
	bool ok = true;
	for (size_t i = 0; i < n; i++)
		if (color[i] == WHITE && !dfs(dag, i, color, path, next, errs))
			ok = false;
	free(color);
	free(path);
	free(next);
	return ok;
}

/* Kahn's algorithm, first-in first-out from the roots in file order. */
static void topo_sort(struct dag *dag)
{
	size_t n = dag->n_tasks, head = 0, tail = 0;
	size_t *indeg = xcalloc(n, sizeof(*indeg));
	size_t *order = xcalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		indeg[i] = dag->tasks[i].n_up;
		if (indeg[i] == 0)
			order[tail++] = i;
	}
	while (head < tail) {
		const struct task *t = &dag->tasks[order[head++]];
		for (size_t k = 0; k < t->n_down; k++)
			if (--indeg[t->down_idx[k]] == 0)
				order[tail++] = t->down_idx[k];
	}
	free(indeg);
	if (tail == n)
		dag->topo = order;
	else
		free(order);
}

bool dag_graph_validate(struct dag *dag, struct dag_errors *errs)
{
	struct id_index ix;
	links_reset(dag);
	bool ok = index_build(dag, &ix, errs);
	for (size_t i = 0; i < dag->n_tasks; i++)
		if (!link_upstreams(dag, &ix, i, errs))
			ok = false;
	free(ix.v);
	link_downstreams(dag);
	if (!check_cycles(dag, errs))
		ok = false;
	topo_sort(dag);
	return ok;
}
