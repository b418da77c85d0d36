/*
 * layer_progress.h: the one rendering of struct st_events (pull, push, copy, load, save,
 * import, the analysis of dive and sbom), as Docker shows it: on a terminal one line per
 * layer, redrawn in place with a bar, the bytes, the rate and the time left; otherwise
 * ("plain") one line per change of status. Always on stderr: stdout stays the verb's.
 */
#ifndef ST_CLI_LAYER_PROGRESS_H
#define ST_CLI_LAYER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/events.h"

struct st_cli_layer_line;

struct st_cli_layers {
	FILE *f;
	bool off, tty;
	struct st_cli_layer_line *v;
	size_t n;
	double last_draw;
};

enum st_cli_layers_flags {
	ST_CLI_LAYERS_QUIET = 1 << 0, /* -q: show nothing */
	/* "auto" where 'f' is no terminal: plain lines, as pull and push print them to a pipe
	 * (without it nothing, as Docker's load and save print no progress there). */
	ST_CLI_LAYERS_PIPE_PLAIN = 1 << 1,
};

/* "auto" (NULL too: a terminal gets the tty rendering), "tty" or "plain" into 'p'. */
int st_cli_layers_init(struct st_cli_layers *p, FILE *f, const char *mode, unsigned flags,
		       struct st_error **err);
void st_cli_layers_release(struct st_cli_layers *p);
#define st_auto_cli_layers __attribute__((cleanup(st_cli_layers_release)))
/* The sink that renders into 'p': silent (no callbacks) when 'p' shows nothing. */
struct st_events st_cli_layers_events(struct st_cli_layers *p);

#endif
