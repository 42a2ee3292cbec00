/* test_conftext.c - the scanner that readies .dag and swarmflow.conf text for libconfuse 3.3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/conftext.h"

#define BOM "\xEF\xBB\xBF"
#define ENV_MSG(var)                                                                               \
	"'" var                                                                                    \
	"' would be replaced from the scheduler's environment by the parser; write '\\${' "        \
	"inside double quotes or use single quotes"
#define NUL_MSG "NUL byte in the file (it must be UTF-8 text)"
#define UTF8_MSG(byte) "invalid UTF-8 (byte " byte "; the file must be UTF-8 text)"
#define NUL_TEXT "a = 1\nb\0 = 2\n"
#define NUL_AFTER_BAD "\xff\n\0"
#define NUL_BEFORE_BAD "\0\n\xff"

struct want_error {
	int line; /* 0 ends the list */
	const char *message;
};

struct tcase {
	const char *name;
	const char *in;
	size_t len;        /* 0: strlen(in) */
	bool refused;      /* conf_text_prepare() returns false */
	const char *text;  /* the prepared text; NULL: the input unchanged (none when refused) */
	int open, comment; /* open_line and comment_line */
	struct want_error errs[3];
};

#define ROW(name_, in_, text_)                                                                     \
	{                                                                                          \
		.name = name_, .in = in_, .text = text_                                            \
	}
#define ERR1(name_, in_, line, msg)                                                                \
	{                                                                                          \
		.name = name_, .in = in_, .errs = { {line, msg} }                                  \
	}
#define ERR2(name_, in_, l1, m1, l2, m2)                                                           \
	{                                                                                          \
		.name = name_, .in = in_, .errs = { {l1, m1}, {l2, m2} }                           \
	}
#define BAD(name_, in_, line, msg)                                                                 \
	{                                                                                          \
		.name = name_, .in = in_, .refused = true, .errs = { {line, msg} }                 \
	}

static const struct tcase cases[] = {
    /* comments are blanked, their newlines kept */
    ROW("hash comment", "a = 1 # c\nb = 2\n", "a = 1    \nb = 2\n"),
    ROW("slash comment", "a = 1 // c\nb = 2\n", "a = 1     \nb = 2\n"),
    ROW("block comment over lines", "a = 1 /* c\n d\n*/ b = 2\n", "a = 1     \n  \n   b = 2\n"),
    ROW("comments inside a list", "l = {\n  x, # one\n  y // two\n}\n",
	"l = {\n  x,      \n  y       \n}\n"),
    ROW("comment-only file", "# only\n/* block */", "      \n           "),
    ROW("BOM dropped", BOM "# c\na = 1\n", "   \na = 1\n"),
    {.name = "mixed, with a '{' left open",
     .in = BOM "a = x//y # c\n/* b\n*/ c = \"#\" // d\ne { f = '/*' {\n",
     .text = "a = x//y    \n    \n   c = \"#\"     \ne { f = '/*' {\n",
     .open = 4},
    /* what is not a comment stays */
    ROW("markers inside strings", "a = \"#x//y/*z*/\"\nb = '#x//y/*z*/'\n", NULL),
    ROW("slashes inside an unquoted string", "a = x//y\nb = unix:///run/d.sock // c\n",
	"a = x//y\nb = unix:///run/d.sock     \n"),
    ROW("escaped quotes", "a = 'b\\'#c' # d\nb = \"b\\\"#c\" # d\n",
	"a = 'b\\'#c'    \nb = \"b\\\"#c\"    \n"),
    ROW("empty text", "", NULL),
    /* ${NAME}: refused where libconfuse would read the environment */
    ERR1("${X} unquoted", "a = 1\nb = ${HOME}\n", 2, ENV_MSG("${HOME}")),
    ERR1("${X} in double quotes", "a = \"x ${HOME} y\"\n", 1, ENV_MSG("${HOME}")),
    ERR2("each ${X} reported", "a = ${A}\nb = {\"${B}\",\n  c}\n", 1, ENV_MSG("${A}"), 2,
	 ENV_MSG("${B}")),
    ROW("${X} in single quotes", "a = '${HOME}'\n", NULL),
    ROW("\\${X} in double quotes", "a = \"\\${HOME}\"\n", NULL),
    ROW("${X} in a comment", "# ${HOME}\n", "         \n"),
    ROW("$ without braces", "a = \"$HOME ${\"\nb = x$y\n", NULL),
    /* bytes: the text is refused */
    {.name = "NUL byte",
     .in = NUL_TEXT,
     .len = sizeof(NUL_TEXT) - 1,
     .refused = true,
     .errs = {{2, NUL_MSG}}},
    BAD("invalid UTF-8 at its line", "a\n\n\xc3\x28", 3, UTF8_MSG("0xc3")),
    BAD("overlong UTF-8", "a = \"\xC0\xAF\"\n", 1, UTF8_MSG("0xc0")),
    BAD("UTF-16 surrogate", "\n\xED\xA0\x80", 2, UTF8_MSG("0xed")),
    BAD("past U+10FFFF", "\xF4\x90\x80\x80", 1, UTF8_MSG("0xf4")),
    BAD("truncated sequence", "a\n\xE2\x82", 2, UTF8_MSG("0xe2")),
    ROW("valid UTF-8", "a = \"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"\n", NULL),
    {.name = "bad UTF-8 then NUL",
     .in = NUL_AFTER_BAD,
     .len = sizeof(NUL_AFTER_BAD) - 1,
     .refused = true,
     .errs = {{1, UTF8_MSG("0xff")}, {2, NUL_MSG}}},
    {.name = "NUL then bad UTF-8",
     .in = NUL_BEFORE_BAD,
     .len = sizeof(NUL_BEFORE_BAD) - 1,
     .refused = true,
     .errs = {{1, NUL_MSG}, {2, UTF8_MSG("0xff")}}},
    /* what is never closed */
    ERR1("unclosed double-quoted string", "a {\nb = \"open\n}\n", 2,
	 "string is never closed (missing '\"')"),
    ERR1("unclosed single-quoted string", "a = 1\n\nb = 'open\n", 3,
	 "string is never closed (missing \"'\")"),
    ERR2("errors in line order", "a = \"x\n${B}\n", 1, "string is never closed (missing '\"')", 2,
	 ENV_MSG("${B}")),
    {.name = "unclosed comment",
     .in = "a = b\n/* open\n{",
     .text = "a = b\n       \n ",
     .comment = 2},
    {.name = "unclosed braces: the outermost", .in = "\na {\n  b {\n  }\n", .open = 2},
    ROW("braces in strings and comments", "a {\n  b = \"{\" # {\n}\n}",
	"a {\n  b = \"{\"    \n}\n}"),
};

/* What every prepared text keeps: same length as the input after the BOM, newlines at the same
 * places (so every line number holds), every other byte either kept or blanked. */
static void check_shape(const struct tcase *c, const char *in, size_t len,
			const struct conf_text *t)
{
	if (len >= 3 && memcmp(in, BOM, 3) == 0) {
		in += 3;
		len -= 3;
	}
	assert_int_equal(t->len, len);
	assert_int_equal(strlen(t->text), len);
	int lines = 1;
	for (size_t i = 0; i < len; i++) {
		if ((in[i] == '\n') != (t->text[i] == '\n') ||
		    (t->text[i] != in[i] && t->text[i] != ' '))
			fail_msg("%s: byte %zu changed to '%c'", c->name, i, t->text[i]);
		lines += in[i] == '\n';
	}
	assert_int_equal(t->end_line, lines);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct tcase *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct conf_text t;
		bool ok = conf_text_prepare(c->in, len, &t);
		if (ok == c->refused)
			fail_msg("%s: returned %d", c->name, ok);
		if (!ok) {
			assert_null(t.text);
		} else {
			check_shape(c, c->in, len, &t);
			const char *want = c->text ? c->text : c->in;
			if (strcmp(t.text, want) != 0)
				fail_msg("%s: got \"%s\"", c->name, t.text);
		}
		if (t.open_line != c->open || t.comment_line != c->comment)
			fail_msg("%s: open_line %d, comment_line %d", c->name, t.open_line,
				 t.comment_line);
		size_t n = 0;
		while (n < ARRAY_LEN(c->errs) && c->errs[n].line)
			n++;
		if (t.n_errors != n)
			fail_msg("%s: %zu errors, want %zu", c->name, t.n_errors, n);
		for (size_t k = 0; k < n; k++) {
			if (t.errors[k].line != c->errs[k].line ||
			    strcmp(t.errors[k].message, c->errs[k].message) != 0)
				fail_msg("%s: error %zu: %d: %s", c->name, k, t.errors[k].line,
					 t.errors[k].message);
		}
		conf_text_finish(&t);
		assert_null(t.text);
		assert_null(t.errors);
	}
}

/* A long ${...} is quoted in the message cut to 60 bytes. */
static void test_long_env(void **state)
{
	(void)state;
	char in[100] = "a = ${";
	memset(in + 6, 'V', 80);
	in[86] = '}';
	struct conf_text t;
	assert_true(conf_text_prepare(in, 87, &t));
	assert_int_equal(t.n_errors, 1);
	assert_int_equal(strspn(t.errors[0].message + 3, "V"), 58);
	assert_true(str_has_prefix(t.errors[0].message + 61, "' would be replaced"));
	conf_text_finish(&t);
	conf_text_finish(&t); /* harmless on a zeroed one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_long_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
