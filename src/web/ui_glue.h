/* ui_glue.h - the web UI's embedded files when src/web/ui is built in (SWARMFLOW_HAVE_UI, set by
 * src/web/meson.build), else none: every UI path then answers 404. */
#ifndef SWARMFLOW_WEB_UI_GLUE_H
#define SWARMFLOW_WEB_UI_GLUE_H

#if SWARMFLOW_HAVE_UI
#include "swarmflow/web/ui.h"
#else
#include <stddef.h>

struct ui_asset {
	const char *path;
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

static inline const struct ui_asset *ui_asset_find(const char *path)
{
	(void)path;
	return NULL;
}
#endif

#endif
