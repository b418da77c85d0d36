/* dive_tui.h: strata dive's full-screen view (ncurses), with dive's panes and keys. */
#ifndef ST_CLI_DIVE_TUI_H
#define ST_CLI_DIVE_TUI_H

#include "analyze/analyze.h"
#include "util/err.h"

/*
 * Show 'a' (the image 'name') on the terminal until q or ctrl+c: the layers, the image's
 * figures and top findings, and the file tree of the selected layer or of the whole image.
 */
int st_cli_dive_tui(const char *name, const struct st_analyze *a, struct st_error **err);

#endif
