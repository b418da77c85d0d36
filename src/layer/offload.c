/*
 * offload.c: a digest computed on a thread of its own, so that the thread that reads, inflates,
 * compresses or writes the same bytes does not also spend its time on SHA-256.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "layer/internal.h"
#include "util/buf.h"
#include "util/banned.h"

/* The chunks handed out, in order; the thread hashes them in that order. */
struct layer_hash_offload {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_hasher *hash;
	const unsigned char *ptr[ST_LAYER_HASH_DEPTH];
	size_t len[ST_LAYER_HASH_DEPTH];
	unsigned char *own[ST_LAYER_HASH_DEPTH]; /* copies: layer_hash_offload_submit_copy() */
	size_t cap[ST_LAYER_HASH_DEPTH];
	uint64_t submitted, hashed;
	bool stop;
};

static void *hash_main(void *arg)
{
	struct layer_hash_offload *ho = arg;
	pthread_mutex_lock(&ho->mu);
	for (;;) {
		while (ho->hashed == ho->submitted && !ho->stop)
			pthread_cond_wait(&ho->cv, &ho->mu);
		/* a stream closed early needs no digest: what is pending is dropped */
		if (ho->stop)
			break;
		size_t i = ho->hashed % ST_LAYER_HASH_DEPTH;
		const unsigned char *p = ho->ptr[i];
		size_t n = ho->len[i];
		pthread_mutex_unlock(&ho->mu);
		st_hasher_update(ho->hash, p, n);
		pthread_mutex_lock(&ho->mu);
		ho->hashed++;
		pthread_cond_broadcast(&ho->cv);
	}
	pthread_mutex_unlock(&ho->mu);
	return NULL;
}

void layer_hash_offload_wait(struct layer_hash_offload *ho, uint64_t pending)
{
	pthread_mutex_lock(&ho->mu);
	while (ho->submitted - ho->hashed > pending)
		pthread_cond_wait(&ho->cv, &ho->mu);
	pthread_mutex_unlock(&ho->mu);
}

void layer_hash_offload_submit(struct layer_hash_offload *ho, const void *p, size_t n)
{
	pthread_mutex_lock(&ho->mu);
	size_t i = ho->submitted % ST_LAYER_HASH_DEPTH;
	ho->ptr[i] = p;
	ho->len[i] = n;
	ho->submitted++;
	pthread_cond_broadcast(&ho->cv);
	pthread_mutex_unlock(&ho->mu);
}

void layer_hash_offload_submit_copy(struct layer_hash_offload *ho, const void *p, size_t n)
{
	/* One slot free; only this thread moves 'submitted'. */
	layer_hash_offload_wait(ho, ST_LAYER_HASH_DEPTH - 1);
	size_t i = ho->submitted % ST_LAYER_HASH_DEPTH;
	if (ho->cap[i] < n) {
		free(ho->own[i]);
		ho->own[i] = st_xmalloc(n);
		ho->cap[i] = n;
	}
	memcpy(ho->own[i], p, n);
	layer_hash_offload_submit(ho, ho->own[i], n);
}

struct layer_hash_offload *layer_hash_offload_new(struct st_hasher *hash)
{
	struct layer_hash_offload *ho = st_xcalloc(1, sizeof(*ho));
	ho->hash = hash;
	pthread_mutex_init(&ho->mu, NULL);
	pthread_cond_init(&ho->cv, NULL);
	if (pthread_create(&ho->thread, NULL, hash_main, ho) != 0) {
		pthread_cond_destroy(&ho->cv);
		pthread_mutex_destroy(&ho->mu);
		free(ho);
		return NULL;
	}
	return ho;
}

uint64_t layer_hash_offload_submitted(struct layer_hash_offload *ho)
{
	pthread_mutex_lock(&ho->mu);
	uint64_t n = ho->submitted;
	pthread_mutex_unlock(&ho->mu);
	return n;
}

void layer_hash_offload_free(struct layer_hash_offload *ho)
{
	if (!ho)
		return;
	pthread_mutex_lock(&ho->mu);
	ho->stop = true;
	pthread_cond_broadcast(&ho->cv);
	pthread_mutex_unlock(&ho->mu);
	pthread_join(ho->thread, NULL);
	pthread_cond_destroy(&ho->cv);
	pthread_mutex_destroy(&ho->mu);
	for (size_t i = 0; i < ST_LAYER_HASH_DEPTH; i++)
		free(ho->own[i]);
	free(ho);
}
