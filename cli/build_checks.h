/* build_checks.h: the build checks a build reports, kept and printed as buildx prints them. */
#ifndef ST_CLI_BUILD_CHECKS_H
#define ST_CLI_BUILD_CHECKS_H

#include <stdio.h>

#include "builder/builder.h"
#include "lint/lint.h"

struct st_cli_checks {
	struct st_lint_result r; /* the findings, in the order the build reported them */
	char *file;		 /* the Dockerfile's name, as findings name it */
	struct st_buf source;	 /* its text */
};

/* Keep the finding of a ST_BUILDER_EVENT_WARNING event; other events are ignored. */
void st_cli_checks_add(struct st_cli_checks *c, const struct st_builder_event *ev);
/* A progress callback that only keeps the findings (build --check); 'ctx' is the checks. */
void st_cli_checks_on_event(void *ctx, const struct st_builder_event *ev);
/* After a build: " 1 warning found ...:" and " - Rule: message (line N)" for each. */
void st_cli_checks_summary(const struct st_cli_checks *c, FILE *f);
/* build --check: "Check complete, ..." and each finding with its lines (BuildKit's form). */
void st_cli_checks_report(struct st_cli_checks *c, FILE *f);
void st_cli_checks_release(struct st_cli_checks *c);

struct st_cli;
/*
 * After build --analyze: what the image 'image' holds (the lint rules ST2001...) reported on
 * the lines of the Dockerfile of 'b' that made it, in the form of the build's warnings. A
 * Dockerfile that came inside a context tar is not at hand: nothing is printed.
 */
int st_cli_checks_image(struct st_cli *cli, const struct st_builder_opts *b, const char *image,
			FILE *f, struct st_error **err);

/*
 * After a build -t: remember 'image' as what the Dockerfile of 'b' built for its target, for
 * `strata lint` there later. A Dockerfile that came from stdin or a context tar is not kept;
 * not being able to keep it does not fail the build that made the image.
 */
void st_cli_checks_remember(struct st_cli *cli, const struct st_builder_opts *b, const char *image);
/*
 * The image the last build -t of the Dockerfile 'path' for 'target' made, if its text is still
 * 'text' (the lines the image's findings name are those of that text) and the store holds the
 * image: new, or NULL. Never creates a store.
 */
char *st_cli_checks_recall(struct st_cli *cli, const char *path, const char *target,
			   const char *text, size_t len);

#endif
