/*
 * layer_progress.h: what pull, push and copy show per layer, as Docker shows it: on a terminal
 * one line per layer, redrawn in place with a bar, the bytes, the rate and the time left;
 * otherwise one line per change of status.
 */
#ifndef ST_CLI_LAYER_PROGRESS_H
#define ST_CLI_LAYER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

struct st_cli_layer_line;

struct st_cli_layers {
	FILE *f;
	bool tty;
	struct st_cli_layer_line *v;
	size_t n;
	double last_draw;
};

/* "auto" (a terminal gets the tty rendering), "tty" or "plain" into 'p'. */
int st_cli_layers_init(struct st_cli_layers *p, FILE *f, const char *mode, struct st_error **err);
void st_cli_layers_release(struct st_cli_layers *p);
#define st_auto_cli_layers __attribute__((cleanup(st_cli_layers_release)))
/* The callbacks of struct st_registry_events, with 'ctx' the struct st_cli_layers. */
void st_cli_layers_event(void *ctx, const char *id, const char *status);
void st_cli_layers_bytes(void *ctx, const char *id, uint64_t done, uint64_t total);

#endif
