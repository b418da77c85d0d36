/*
 * dockerignore.h: .dockerignore patterns with the semantics of moby/patternmatcher (Go
 * filepath.Match syntax plus "**", "!" exceptions applied in order, a pattern also excluding
 * everything under a directory it matches), and a build-context walker that does not descend
 * into an excluded directory unless an exception could match inside it.
 */
#ifndef ST_DOCKERFILE_DOCKERIGNORE_H
#define ST_DOCKERFILE_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util/err.h"

struct st_dockerignore;

/* A new, empty matcher (matches nothing). Free with st_dockerignore_free(). */
struct st_dockerignore *st_dockerignore_new(void);
void st_dockerignore_free(struct st_dockerignore *m);
void st_dockerignore_freep(struct st_dockerignore **m);

/*
 * Add the patterns of a .dockerignore file's text, as the Docker CLI reads it: "#" lines are
 * comments, lines are trimmed, "!" marks an exception, then each pattern is cleaned
 * (filepath.Clean: "./a/" -> "a") and a leading "/" removed. 'name' is used in messages.
 * ST_E_PARSE for a bad pattern, as Go's filepath.Match finds them ("!" alone, an unclosed or
 * empty "[...]", a range without an end, a trailing backslash), as "<name>:<line>: ...".
 */
int st_dockerignore_add_text(struct st_dockerignore *m, const char *name, const char *text,
			     size_t len, struct st_error **err);
/* Add one pattern as written: "!keep.txt", "build/", "**.o". */
int st_dockerignore_add_pattern(struct st_dockerignore *m, const char *pattern,
				struct st_error **err);

/* Whether the patterns exclude 'path' (relative, "/"-separated), counting its parents. */
bool st_dockerignore_matches(const struct st_dockerignore *m, const char *path);

/*
 * Whether a directory excluded by the patterns must still be walked because an exception
 * could match something inside it.
 */
bool st_dockerignore_may_include_under(const struct st_dockerignore *m, const char *dir);

/*
 * Load the ignore file for a build: '<dockerfile>.dockerignore' beside the Dockerfile when it
 * exists ('dockerfile' is a path, may be NULL), else '<context>/.dockerignore', else nothing.
 * As with BuildKit, which reads the Dockerfile apart from the context, nothing is re-included:
 * patterns that exclude the Dockerfile or the ignore file keep them out of the context.
 * *out is new.
 */
int st_dockerignore_load(const char *context, const char *dockerfile, struct st_dockerignore **out,
			 struct st_error **err);

/*
 * Walk 'context' calling 'fn' for each entry a build sends (directories too, with S_ISDIR in
 * st->st_mode), in sorted order; 'rel' is "/"-separated and relative. Symlinks are reported,
 * not followed. A non-zero return from 'fn' stops the walk and is returned.
 */
typedef int (*st_dockerignore_walk_fn)(void *ctx, const char *rel, const struct stat *st);
int st_dockerignore_walk(const struct st_dockerignore *m, const char *context,
			 st_dockerignore_walk_fn fn, void *ctx, struct st_error **err);

#endif
