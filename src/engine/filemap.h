/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FILEMAP_H
#define UA_ENGINE_FILEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/*
 * filemap.c: read-only maps of the regular files a ring reads, so that a
 * read whose pages are cached is a copy out of the page cache without a
 * system call (aio.c decides when that way is cheaper).
 */

#define UA_FILEMAP_SLOTS	4
#define UA_FILEMAP_FD_BITS	4096	/* fds remembered as not mappable */

struct ua_filemap {
	dev_t		dev;
	ino_t		ino;
	char		*base;		/* NULL: the slot is free */
	size_t		len;		/* bytes mapped, whole pages */
	__u64		last_used;	/* in the ring's flushes */
	unsigned	cold_skip;	/* flushes left that go the other way */
	unsigned	backoff;	/* the next cold_skip */
};

/* A ring's maps; only its submitter (under uring_lock) uses them. */
struct ua_filemaps {
	struct ua_filemap	slot[UA_FILEMAP_SLOTS];
	__u64			flushes;
	__u64			copies;		/* reads the maps served */
	unsigned long		unmappable[UA_FILEMAP_FD_BITS /
					   (8 * sizeof(long))];
};

/* One descriptor as a flush found it: its file's map and size. */
struct ua_filemap_view {
	int			fd;
	struct ua_filemap	*map;	/* NULL: read it the other way */
	__u64			size;
};

/* A new flush of the ring's batch: ages the maps. */
void ua_filemaps_next_flush(struct ua_filemaps *maps);
/* Whether fd is not to be mapped: found not mappable lately, or the ring
 * is too young for maps (no system call). */
bool ua_filemaps_refused(const struct ua_filemaps *maps, int fd);
/* Looks fd up now (fstat and fcntl: the number may name another file than
 * in the last flush) and fills v; v->map is NULL when it cannot be read
 * through a map. */
void ua_filemap_view(struct ua_filemaps *maps, int fd,
		     struct ua_filemap_view *v);
/* Where len bytes at off are in the map, with *n set to what the read
 * returns (less at end of file); NULL when the map does not hold them. */
const char *ua_filemap_span(const struct ua_filemap_view *v, __u64 off,
			    size_t len, size_t *n);
/* copies reads through map took ns: a read that waited for the device
 * sends the file the other way for a while. Returns false then. */
bool ua_filemap_note_copies(struct ua_filemap *map, unsigned copies,
			    __u64 ns);
/* Page faults the calling thread has taken so far. A copy out of a map
 * that faulted paid for filling the map's page tables (or for the
 * device), which is not what a copy costs once the map is in use. */
#define UA_FILEMAP_FAULTS_UNKNOWN	(~0ull)
__u64 ua_filemap_thread_faults(void);
void ua_filemaps_release(struct ua_filemaps *maps);

#endif
