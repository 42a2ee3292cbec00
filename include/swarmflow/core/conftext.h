/* conftext.h - a libconfuse 3.3 text made safe to parse: bytes checked, comments blanked, ${VAR}
 * refused (no I/O). Shared by the `.dag` parser and swarmflow.conf. */
#ifndef SWARMFLOW_CORE_CONFTEXT_H
#define SWARMFLOW_CORE_CONFTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* One problem in the text, without a file name: each caller prints it its own way
 * (e.g. "PATH:LINE: message"). */
struct conf_text_error {
	int line; /* 1-based */
	char *message;
};

/* A text made ready for libconfuse 3.3 by conf_text_prepare(). */
struct conf_text {
	char *text;       /* NUL-terminated copy without a UTF-8 BOM, comments blanked out (every
			     newline kept, so lines stay where they were); NULL when refused */
	size_t len;       /* of text */
	int end_line;     /* the line at the end of the text, where libconfuse sees end of file */
	int open_line;    /* line of the outermost '{' still open at the end of the text, or 0 */
	int comment_line; /* line of a block comment never closed, or 0 */
	struct conf_text_error *errors; /* in line order */
	size_t n_errors;
};

/*
 * Checks the len bytes at buf (need not be NUL-terminated) for what libconfuse 3.3 gets wrong or
 * lets pass, and makes the copy it should parse instead:
 *  - a NUL byte or invalid UTF-8 (an error each, at its line), a token longer than 16 KiB (a
 *    run of blanks or comment, an unquoted value, or a single-quoted string's bytes on one line)
 *    or more than 10,000 sections, over which libconfuse would spend minutes (and gigabytes):
 *    returns false and out->text is NULL, the text must not be parsed;
 *  - "${NAME}" outside single quotes, which libconfuse would replace by getenv("NAME"), and a
 *    string never closed (libconfuse reports it only at the end of the file): an error each;
 *  - comments ('#', '//' at the start of a token, block comments) become spaces, newlines kept,
 *    because libconfuse 3.3 miscounts lines after them and refuses them inside lists;
 *  - a '{' or block comment still open at the end, which libconfuse accepts silently: only
 *    noted in open_line/comment_line (0 when a string is left open), for the caller to report
 *    when libconfuse found nothing else.
 * Otherwise returns true; the text may be parsed but is only good when n_errors is 0.
 * Fills *out either way; free it with conf_text_finish(). */
bool conf_text_prepare(const char *buf, size_t len, struct conf_text *out);

/* Frees what t owns and zeroes it; harmless on a zeroed one. */
void conf_text_finish(struct conf_text *t);

#endif
