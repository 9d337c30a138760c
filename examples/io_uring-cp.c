/* SPDX-License-Identifier: MIT */
/*
 * io_uring-cp: copy a file through an io_uring, keeping several reads and
 * writes in flight at once.
 *
 * The copy is cut into blocks, and each of DEPTH slots carries one block
 * at a time through two stages: read it from SRC at its offset, then write
 * it to DST at the same offset. Because every request names its own offset,
 * blocks may finish in any order and the copy is still exact. A short read
 * or write is resubmitted for the part that is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DEPTH		16
#define DEFAULT_BLOCK_BYTES	(64 * 1024)
#define MAX_DEPTH		4096
#define MAX_BLOCK_BYTES		(16 * 1024 * 1024)

enum stage { STAGE_READ, STAGE_WRITE };

struct block {
	enum stage stage;
	off_t offset;		/* where the block sits in both files */
	size_t len;		/* bytes in the block */
	size_t done;		/* bytes of the current stage completed */
	char *buf;
};

struct copy {
	struct io_uring ring;
	const char *src_path, *dst_path;
	int src_fd, dst_fd;
	off_t size;
	off_t next_offset;	/* start of the first block not yet begun */
	unsigned inflight;
	int error;		/* first failure, as a negative errno */
	unsigned depth;
	size_t block_bytes;
	struct block *slots;
	char *buffers;
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-q DEPTH] [-b BLOCKSIZE] SRC DST\n"
		"Copy SRC to DST with io_uring, keeping DEPTH blocks in flight.\n"
		"\n"
		"  -q, --depth DEPTH      blocks in flight (1-%d, default %d)\n"
		"  -b, --block-size SIZE  bytes per request, k/m suffixes allowed\n"
		"                         (1-%d, default %d)\n"
		"  -h, --help             show this help and exit\n",
		prog, MAX_DEPTH, DEFAULT_DEPTH, MAX_BLOCK_BYTES,
		DEFAULT_BLOCK_BYTES);
}

static void report(struct copy *c, const char *path, const char *what,
		   int err)
{
	/* Later failures are usually consequences of the first: show one. */
	if (c->error == 0)
		fprintf(stderr, "io_uring-cp: %s: %s: %s\n", path, what,
			strerror(-err));
	c->error = err;
}

/* Queue the unfinished part of the block's current stage. */
static void queue_stage(struct copy *c, struct block *b)
{
	struct io_uring_sqe *sqe;
	char *data = b->buf + b->done;
	unsigned len = (unsigned) (b->len - b->done);
	__u64 offset = (__u64) b->offset + b->done;

	if (c->error)
		return;
	/* Each slot owns at most one request and the ring has an entry per
	 * slot, so a full submission queue means the library miscounted. */
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe) {
		report(c, c->src_path, "io_uring_get_sqe", -EBUSY);
		return;
	}
	if (b->stage == STAGE_READ)
		io_uring_prep_read(sqe, c->src_fd, data, len, offset);
	else
		io_uring_prep_write(sqe, c->dst_fd, data, len, offset);
	io_uring_sqe_set_data(sqe, b);
	c->inflight++;
}

/* Give the slot the next block of SRC, if any remain. */
static void start_next_block(struct copy *c, struct block *b)
{
	off_t left = c->size - c->next_offset;

	if (left <= 0)
		return;
	b->stage = STAGE_READ;
	b->offset = c->next_offset;
	b->len = left < (off_t) c->block_bytes ? (size_t) left : c->block_bytes;
	b->done = 0;
	c->next_offset += (off_t) b->len;
	queue_stage(c, b);
}

static void handle_completion(struct copy *c, struct io_uring_cqe *cqe)
{
	struct block *b = io_uring_cqe_get_data(cqe);
	const char *path = b->stage == STAGE_READ ? c->src_path : c->dst_path;
	int res = cqe->res;

	c->inflight--;
	if (res < 0) {
		report(c, path, b->stage == STAGE_READ ? "read failed" :
			"write failed", res);
		return;
	}
	if (res == 0) {
		/* A read of 0 means SRC shrank below its fstat size; a write
		 * of 0 would retry forever. */
		report(c, path, b->stage == STAGE_READ ?
			"unexpected end of file" : "write made no progress",
			-EIO);
		return;
	}
	b->done += (size_t) res;
	if (b->done < b->len) {
		queue_stage(c, b);
	} else if (b->stage == STAGE_READ) {
		b->stage = STAGE_WRITE;
		b->done = 0;
		queue_stage(c, b);
	} else {
		start_next_block(c, b);
	}
}

/* Run the queue until every request has completed, even after a failed
 * one, so that no request still targets a buffer when it is freed. */
static int run_copy(struct copy *c)
{
	for (unsigned i = 0; i < c->depth; i++)
		start_next_block(c, &c->slots[i]);

	while (c->inflight) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&c->ring, 1);

		if (ret < 0) {
			/* Requests stay in flight: the caller must exit. */
			report(c, c->src_path, "io_uring_submit_and_wait", ret);
			return ret;
		}
		io_uring_for_each_cqe(&c->ring, head, cqe) {
			handle_completion(c, cqe);
			seen++;
		}
		io_uring_cq_advance(&c->ring, seen);
	}
	return c->error;
}

static int open_files(struct copy *c)
{
	struct stat src_st, dst_st;

	c->src_fd = open(c->src_path, O_RDONLY);
	if (c->src_fd < 0 || fstat(c->src_fd, &src_st) < 0) {
		report(c, c->src_path, "cannot open", -errno);
		return -1;
	}
	if (!S_ISREG(src_st.st_mode)) {
		fprintf(stderr, "io_uring-cp: %s: not a regular file\n",
			c->src_path);
		return -1;
	}
	c->size = src_st.st_size;

	/* Not O_TRUNC yet: if DST is SRC under another name, truncating
	 * would destroy the data before we noticed. */
	c->dst_fd = open(c->dst_path, O_WRONLY | O_CREAT,
			 src_st.st_mode & 0777);
	if (c->dst_fd < 0 || fstat(c->dst_fd, &dst_st) < 0) {
		report(c, c->dst_path, "cannot open", -errno);
		return -1;
	}
	if (dst_st.st_dev == src_st.st_dev && dst_st.st_ino == src_st.st_ino) {
		fprintf(stderr, "io_uring-cp: %s and %s are the same file\n",
			c->src_path, c->dst_path);
		return -1;
	}
	/* Devices such as /dev/null have no length to cut. */
	if (S_ISREG(dst_st.st_mode) && ftruncate(c->dst_fd, 0) < 0) {
		report(c, c->dst_path, "cannot truncate", -errno);
		return -1;
	}
	return 0;
}

static int setup_slots(struct copy *c)
{
	int ret;

	c->slots = calloc(c->depth, sizeof(*c->slots));
	c->buffers = malloc(c->depth * c->block_bytes);
	if (!c->slots || !c->buffers) {
		report(c, c->src_path, "cannot allocate buffers", -ENOMEM);
		return -1;
	}
	for (unsigned i = 0; i < c->depth; i++)
		c->slots[i].buf = c->buffers + i * c->block_bytes;

	ret = io_uring_queue_init(c->depth, &c->ring, 0);
	if (ret < 0) {
		report(c, c->src_path, "io_uring_queue_init", ret);
		return -1;
	}
	return 0;
}

/* Parse a positive count with an optional k or m suffix (powers of 1024). */
static int parse_size(const char *text, unsigned long max, unsigned long *out)
{
	unsigned long value, unit = 1;
	char *end;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		unit = 1024;
	else if (*end == 'm' || *end == 'M')
		unit = 1024 * 1024;
	if (unit > 1)
		end++;
	if (*end || value == 0 || value > max / unit)
		return -1;
	*out = value * unit;
	return 0;
}

static void parse_args(int argc, char **argv, struct copy *c)
{
	static const struct option longopts[] = {
		{ "depth", required_argument, NULL, 'q' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long value;
	int opt;

	while ((opt = getopt_long(argc, argv, "q:b:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			if (parse_size(optarg, MAX_DEPTH, &value)) {
				fprintf(stderr, "io_uring-cp: bad depth '%s' "
					"(want 1-%d)\n", optarg, MAX_DEPTH);
				exit(2);
			}
			c->depth = (unsigned) value;
			break;
		case 'b':
			if (parse_size(optarg, MAX_BLOCK_BYTES, &value)) {
				fprintf(stderr, "io_uring-cp: bad block size "
					"'%s' (want 1-%d)\n", optarg,
					MAX_BLOCK_BYTES);
				exit(2);
			}
			c->block_bytes = value;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			exit(2);
		}
	}
	if (argc - optind != 2) {
		usage(stderr, argv[0]);
		exit(2);
	}
	c->src_path = argv[optind];
	c->dst_path = argv[optind + 1];
}

int main(int argc, char **argv)
{
	struct copy c = {
		.src_fd = -1,
		.dst_fd = -1,
		.depth = DEFAULT_DEPTH,
		.block_bytes = DEFAULT_BLOCK_BYTES,
	};
	int ret;

	parse_args(argc, argv, &c);
	if (open_files(&c) || setup_slots(&c))
		return 1;

	ret = run_copy(&c);
	if (c.inflight)	/* the ring itself failed: exiting reclaims it all */
		return 1;
	io_uring_queue_exit(&c.ring);
	free(c.buffers);
	free(c.slots);
	close(c.src_fd);
	/* Some filesystems report write-back errors only at close. */
	if (close(c.dst_fd) < 0 && ret == 0) {
		report(&c, c.dst_path, "close failed", -errno);
		ret = c.error;
	}
	return ret ? 1 : 0;
}
