/* conftext.c - readies text for libconfuse 3.3 and reports what that parser would get wrong. */
#include "swarmflow/core/conftext.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"

/* The longest "${...}" quoted back in an error message. */
#define ENV_QUOTE_MAX 60

/*
 * The longest token libconfuse 3.3 is given. Its flex scanner reads its input in blocks of a few
 * KiB and matches a token again from its start after each block, so a token of n bytes costs
 * about n * n / 8 KiB steps: 2 MB of blanks on one line took 2.6 s, 5 MB 10 s (and the
 * scheduler's loop stops meanwhile). Tokens are runs of blanks (comments are blanked), unquoted
 * values and the part of a single-quoted string on one line; double-quoted strings are read a
 * byte at a time and are not limited. At 16 KiB, 10 MiB of such tokens cost about 0.5 s.
 */
#define TOKEN_MAX (16 * 1024)

/*
 * The most sections ("name { }" and "name title { }", not the lists "key = { }") one text may
 * hold. libconfuse compares every new titled section with all those before it and builds each with
 * all its options: 40,000 empty DAGs (0.5 MB) took 7.5 s and 650 MB, so 10 MiB of them would
 * stop the scheduler for an hour and run out of memory. 10,000 take about 0.5 s.
 */
#define SECTIONS_MAX 10000

/* Adds an error, after those on the same or earlier lines: the list stays in line order. */
__attribute__((format(printf, 3, 4))) static void add_error(struct conf_text *t, int line,
							    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	t->errors = xrealloc(t->errors, (t->n_errors + 1) * sizeof(*t->errors));
	size_t i = t->n_errors++;
	for (; i > 0 && t->errors[i - 1].line > line; i--)
		t->errors[i] = t->errors[i - 1];
	t->errors[i] = (struct conf_text_error){line, msg};
}

/* ---- the bytes ---- */

/* True when s holds valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF);
 * *bad gets the offset of the first invalid byte, or len. */
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

/* A NUL byte would cut the text short and invalid UTF-8 would reach the JSON we send. */
static bool check_bytes(const char *buf, size_t len, struct conf_text *t)
{
	const char *nul = memchr(buf, '\0', len);
	if (nul)
		add_error(t, line_at(buf, (size_t)(nul - buf)),
			  "NUL byte in the file (it must be UTF-8 text)");
	size_t bad;
	bool utf8_ok = utf8_valid((const unsigned char *)buf, len, &bad);
	if (!utf8_ok)
		add_error(t, line_at(buf, bad),
			  "invalid UTF-8 (byte 0x%02x; the file must be UTF-8 text)",
			  (unsigned char)buf[bad]);
	return !nul && utf8_ok;
}

/* ---- the lexer ---- */

/*
 * Follows libconfuse 3.3's lexer (lexer.l) closely enough to see what its parser gets wrong or
 * lets pass: where comments are (blanked out, newlines kept), a '{' or comment left open at the
 * end, strings never closed, and "${NAME}" outside single quotes, which it replaces by
 * getenv("NAME") of the parsing process.
 */
enum lex_state { LEX_CODE, LEX_DQ, LEX_SQ };

struct lexer {
	const char *p, *end;
	const char *base; /* start of the text */
	char *copy;       /* the same text, where comments are blanked out */
	int line;
	enum lex_state state;
	int depth;         /* of '{' outside strings and comments */
	int open_line;     /* line of the '{' that took depth from 0 to 1 */
	int comment_line;  /* line of a block comment that is never closed, or 0 */
	int string_line;   /* line where the current string started */
	bool after_equals; /* the last token was '=' (so a '{' opens a list, not a section) */
	int sections;      /* sections opened so far */
	int too_many_line; /* line of the section past SECTIONS_MAX, or 0 */
	struct conf_text *out;
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
	int n = (int)(close - lx->p + 1);
	add_error(lx->out, lx->line,
		  "'%.*s' would be replaced from the scheduler's environment by the parser; "
		  "write '\\${' inside double quotes or use single quotes",
		  n > ENV_QUOTE_MAX ? ENV_QUOTE_MAX : n, lx->p);
	lex_advance(lx, close + 1);
	return true;
}

/* At a '{': counts the sections (a '{' after '=' opens a list). */
static void lex_open(struct lexer *lx)
{
	if (!lx->after_equals && ++lx->sections == SECTIONS_MAX + 1)
		lx->too_many_line = lx->line;
	if (lx->depth++ == 0)
		lx->open_line = lx->line;
}

static void lex_code(struct lexer *lx)
{
	const char *p = lx->p;
	size_t left = (size_t)(lx->end - p);
	bool blank = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
	bool comment = *p == '#' || (*p == '/' && left > 1 && (p[1] == '*' || p[1] == '/'));
	if (!blank && !comment) {
		if (*p == '{')
			lex_open(lx);
		lx->after_equals = *p == '=';
	}
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
		lx->p++; /* counted by lex_open() */
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
		add_error(lx->out, lx->string_line, "string is never closed (missing %s)",
			  lx->state == LEX_DQ ? "'\"'" : "\"'\"");
}

/* ---- tokens too long for libconfuse ---- */

enum run_kind { RUN_BLANKS, RUN_WORD, RUN_SQ };

/* The run of one kind of token being measured by check_tokens(). */
struct run {
	enum run_kind kind;
	size_t len;
};

static const char *const run_messages[] = {
    [RUN_BLANKS] = "more than 16 KiB of blanks or comment in a row on one line",
    [RUN_WORD] = "unquoted value longer than 16 KiB (write it in double quotes)",
    [RUN_SQ] = "single-quoted string with more than 16 KiB on one line (use double quotes)",
};

/* Extends the current run with one byte of kind k (starting a new run when the kind changes);
 * false when it just became too long. */
static bool run_grow(struct run *r, enum run_kind k)
{
	if (r->kind != k || r->len == 0)
		*r = (struct run){k, 0};
	return ++r->len != TOKEN_MAX + 1;
}

/*
 * Measures the tokens of the prepared text (comments already blanked) the way libconfuse's
 * scanner splits them; adds an error for the first one longer than TOKEN_MAX. Linear.
 */
static bool check_tokens(struct conf_text *t)
{
	enum lex_state state = LEX_CODE;
	struct run r = {RUN_BLANKS, 0};
	int line = 1;
	for (const char *p = t->text, *end = t->text + t->len; p < end; p++) {
		char c = *p;
		bool grew = true;
		if (c == '\n') {
			line++;
			r.len = 0;
		} else if (state == LEX_DQ) {
			if (c == '\\' && p + 1 < end && p[1] != '\n')
				p++; /* an escaped byte */
			else if (c == '"')
				state = LEX_CODE;
		} else if (state == LEX_SQ) {
			if (c == '\'') {
				state = LEX_CODE;
				r.len = 0;
			} else if (c == '\\') {
				r.len = 0; /* an escape is a token of its own */
				if (p + 1 < end && p[1] != '\n')
					p++;
			} else {
				grew = run_grow(&r, RUN_SQ);
			}
		} else if (c == ' ' || c == '\t') {
			grew = run_grow(&r, RUN_BLANKS);
		} else if (unquoted_char(c)) {
			grew = run_grow(&r, RUN_WORD);
		} else {
			r.len = 0;
			if (c == '"' || c == '\'')
				state = c == '"' ? LEX_DQ : LEX_SQ;
		}
		if (!grew) {
			add_error(t, line, "%s", run_messages[r.kind]);
			return false;
		}
	}
	return true;
}

/* ---- the text ---- */

bool conf_text_prepare(const char *buf, size_t len, struct conf_text *out)
{
	*out = (struct conf_text){0};
	if (!check_bytes(buf, len, out))
		return false;
	static const char bom[] = "\xEF\xBB\xBF";
	if (len >= 3 && memcmp(buf, bom, 3) == 0) {
		buf += 3;
		len -= 3;
	}
	out->text = xstrndup(buf, len);
	out->len = len;
	struct lexer lx = {
	    .p = buf, .end = buf + len, .base = buf, .copy = out->text, .line = 1, .out = out};
	lex_scan(&lx);
	out->end_line = lx.line;
	if (lx.state == LEX_CODE) {
		out->comment_line = lx.comment_line;
		out->open_line = lx.depth > 0 ? lx.open_line : 0;
	}
	if (lx.too_many_line)
		add_error(
		    out, lx.too_many_line,
		    "more than %d sections ({ } blocks other than lists) in one file: split it "
		    "into several files",
		    SECTIONS_MAX);
	if (lx.too_many_line || !check_tokens(out)) {
		free(out->text);
		out->text = NULL;
		return false;
	}
	return true;
}

void conf_text_finish(struct conf_text *t)
{
	for (size_t i = 0; i < t->n_errors; i++)
		free(t->errors[i].message);
	free(t->errors);
	free(t->text);
	*t = (struct conf_text){0};
}
