/* ui.h - the web UI's static files (src/web/ui/), embedded in the binary at build time. */
#ifndef SWARMFLOW_WEB_UI_H
#define SWARMFLOW_WEB_UI_H

#include <stddef.h>

/* One embedded file. Everything is static and read-only: nothing to free. */
struct ui_asset {
	const char *path;         /* the URL path it is served at, e.g. "/app.js" */
	const char *content_type; /* e.g. "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len; /* bytes in data (data is also NUL-terminated, not counted here) */
};

/* Every embedded file, in build order, ended by an entry whose path is NULL. */
extern const struct ui_asset ui_assets[];

/* Returns the asset served at path ("/" and "" mean "/index.html"; a "?query" is ignored), or
 * NULL when there is none. path is an URL path as the client sent it, starting with "/". */
const struct ui_asset *ui_asset_find(const char *path);

#endif
