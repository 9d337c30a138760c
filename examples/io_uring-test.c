/* SPDX-License-Identifier: MIT */
/*
 * io_uring-test: read a whole file through an io_uring and report how much
 * was read.
 *
 * The file is split into fixed-size blocks. A few READV requests stay in
 * flight at once; whenever one completes, the next block is queued in the
 * slot it frees. A short read is not an error: the remainder of the block is
 * simply requested again.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define QUEUE_DEPTH	4
#define BLOCK_BYTES	4096

/* One in-flight read: a block of the file and the part still to fetch. */
struct block {
	struct iovec iov;	/* the unread tail of the block's buffer */
	off_t offset;		/* file offset of iov.iov_base */
	char *buf;
};

struct reader {
	struct io_uring ring;
	const char *path;
	int fd;
	off_t size;
	off_t next_offset;	/* start of the first block not yet queued */
	unsigned inflight;
	int error;		/* first failure, as a negative errno */
	unsigned long long bytes;
	unsigned long blocks;
	unsigned long requests;
	struct block slots[QUEUE_DEPTH];
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s FILE\n"
		"Read FILE with io_uring, keeping %d READV requests of %d bytes\n"
		"in flight, and print how many bytes and blocks were read.\n"
		"\n"
		"  -h, --help   show this help and exit\n",
		prog, QUEUE_DEPTH, BLOCK_BYTES);
}

static void report(struct reader *r, const char *what, int err)
{
	/* Later failures are usually consequences of the first: show one. */
	if (r->error == 0)
		fprintf(stderr, "io_uring-test: %s: %s: %s\n", r->path, what,
			strerror(-err));
	r->error = err;
}

/* Ask for the unread tail of the block; nothing new starts after a failure. */
static void queue_read(struct reader *r, struct block *b)
{
	struct io_uring_sqe *sqe;

	if (r->error)
		return;
	/* Each slot owns at most one request and the ring has an entry per
	 * slot, so a full submission queue means the library miscounted. */
	sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		report(r, "io_uring_get_sqe", -EBUSY);
		return;
	}
	io_uring_prep_readv(sqe, r->fd, &b->iov, 1, (__u64) b->offset);
	io_uring_sqe_set_data(sqe, b);
	r->inflight++;
	r->requests++;
}

/* Give the slot the next block of the file, if any remain. */
static void start_next_block(struct reader *r, struct block *b)
{
	off_t left = r->size - r->next_offset;

	if (left <= 0)
		return;
	b->offset = r->next_offset;
	b->iov.iov_base = b->buf;
	b->iov.iov_len = left < BLOCK_BYTES ? (size_t) left : BLOCK_BYTES;
	r->next_offset += (off_t) b->iov.iov_len;
	queue_read(r, b);
}

static void handle_completion(struct reader *r, struct io_uring_cqe *cqe)
{
	struct block *b = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	r->inflight--;
	if (res < 0) {
		report(r, "read failed", res);
		return;
	}
	if (res == 0) {
		/* fstat promised more data: the file shrank under us. */
		report(r, "unexpected end of file", -EIO);
		return;
	}
	r->bytes += (unsigned) res;
	if ((size_t) res < b->iov.iov_len) {
		/* Short read: ask again for the rest of the block. */
		b->iov.iov_base = (char *) b->iov.iov_base + res;
		b->iov.iov_len -= (size_t) res;
		b->offset += res;
		queue_read(r, b);
		return;
	}
	r->blocks++;
	start_next_block(r, b);
}

/* Run the queue until every request has completed, even after a failed
 * read, so that no request still targets a buffer when it is freed. */
static int read_whole_file(struct reader *r)
{
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		start_next_block(r, &r->slots[i]);

	while (r->inflight) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&r->ring, 1);

		if (ret < 0) {
			/* Requests stay in flight: the caller must exit. */
			report(r, "io_uring_submit_and_wait", ret);
			return ret;
		}
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			handle_completion(r, cqe);
			seen++;
		}
		io_uring_cq_advance(&r->ring, seen);
	}
	return r->error;
}

static int open_regular_file(struct reader *r)
{
	struct stat st;

	r->fd = open(r->path, O_RDONLY);
	if (r->fd < 0) {
		report(r, "cannot open", -errno);
		return -1;
	}
	if (fstat(r->fd, &st) < 0) {
		report(r, "cannot stat", -errno);
		return -1;
	}
	/* Only a regular file's size tells us where its data ends. */
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "io_uring-test: %s: not a regular file\n",
			r->path);
		return -1;
	}
	r->size = st.st_size;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, argv[0]);
			exit(0);
		}
		usage(stderr, argv[0]);
		exit(2);
	}
	if (argc - optind != 1) {
		usage(stderr, argv[0]);
		exit(2);
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct reader r = { .fd = -1 };
	char *buffers;
	int ret;

	r.path = argv[parse_args(argc, argv)];
	if (open_regular_file(&r))
		return 1;

	buffers = malloc((size_t) QUEUE_DEPTH * BLOCK_BYTES);
	if (!buffers) {
		report(&r, "cannot allocate buffers", -ENOMEM);
		return 1;
	}
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		r.slots[i].buf = buffers + (size_t) i * BLOCK_BYTES;

	ret = io_uring_queue_init(QUEUE_DEPTH, &r.ring, 0);
	if (ret < 0) {
		report(&r, "io_uring_queue_init", ret);
		return 1;
	}
	ret = read_whole_file(&r);
	if (r.inflight)	/* the ring itself failed: exiting reclaims it all */
		return 1;
	io_uring_queue_exit(&r.ring);
	free(buffers);
	close(r.fd);
	if (ret)
		return 1;

	printf("%s: read %llu bytes in %lu blocks of up to %d bytes "
	       "(%lu read requests, queue depth %d)\n",
	       r.path, r.bytes, r.blocks, BLOCK_BYTES, r.requests, QUEUE_DEPTH);
	return 0;
}
