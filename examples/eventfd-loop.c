/* SPDX-License-Identifier: MIT */
/*
 * eventfd-loop: an epoll event loop that learns about completions through
 * an eventfd registered with the ring, the way a program that already has
 * an epoll loop adds io_uring to it.
 *
 * It reads FILE with DEPTH reads in flight and, to show a second event
 * source in the same loop, a pipe that a child process writes a few lines
 * to. The loop sleeps only in epoll_wait(); when the eventfd fires it reaps
 * every CQE that is ready and queues more work.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pipe2 */
#endif
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEPTH		8
#define BLOCK		(64 * 1024)
#define PIPE_TAG	(~0ULL)

struct loop {
	struct io_uring ring;
	int file_fd, pipe_fd, efd, epfd;
	off_t size, next_offset;
	unsigned inflight;
	unsigned long long bytes, wakeups, cqes, lines;
	char bufs[DEPTH][BLOCK];
	char line[256];
	bool pipe_done;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "eventfd-loop: %s: %s\n", what, strerror(err));
	exit(1);
}

static void queue_file_read(struct loop *l, unsigned slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	io_uring_prep_read(sqe, l->file_fd, l->bufs[slot], BLOCK,
			   (__u64) l->next_offset);
	io_uring_sqe_set_data64(sqe, slot);
	l->next_offset += BLOCK;
	l->inflight++;
}

static void queue_pipe_read(struct loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	io_uring_prep_read(sqe, l->pipe_fd, l->line, sizeof(l->line) - 1, 0);
	io_uring_sqe_set_data64(sqe, PIPE_TAG);
	l->inflight++;
}

static void on_cqe(struct loop *l, const struct io_uring_cqe *cqe)
{
	__u64 tag = io_uring_cqe_get_data64(cqe);

	l->inflight--;
	l->cqes++;
	if (cqe->res < 0)
		die(tag == PIPE_TAG ? "pipe read" : "file read", -cqe->res);
	if (tag == PIPE_TAG) {
		if (cqe->res == 0) {
			l->pipe_done = true;	/* the child closed its end */
			return;
		}
		l->line[cqe->res] = '\0';
		printf("pipe: %s", l->line);
		l->lines++;
		queue_pipe_read(l);
		return;
	}
	l->bytes += (unsigned) cqe->res;
	if (l->next_offset < l->size)
		queue_file_read(l, (unsigned) tag);
}

/* The eventfd fired: reset it, then reap everything that is ready. */
static void on_eventfd(struct loop *l)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	eventfd_t count;
	int ret;

	if (eventfd_read(l->efd, &count) < 0 && errno != EAGAIN)
		die("eventfd_read", errno);
	l->wakeups++;
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		on_cqe(l, cqe);
		seen++;
	}
	io_uring_cq_advance(&l->ring, seen);
	ret = io_uring_submit(&l->ring);
	if (ret < 0)
		die("io_uring_submit", -ret);
}

static void run(struct loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned slot;
	int ret;

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->efd, &ev) < 0)
		die("epoll", errno);
	for (slot = 0; slot < DEPTH && l->next_offset < l->size; slot++)
		queue_file_read(l, slot);
	queue_pipe_read(l);
	ret = io_uring_submit(&l->ring);
	if (ret < 0)
		die("io_uring_submit", -ret);
	while (l->inflight) {
		if (epoll_wait(l->epfd, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait", errno);
		}
		on_eventfd(l);
	}
}

static int spawn_writer(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(p[0]);
		for (int i = 1; i <= 3; i++) {
			char msg[64];
			int n = snprintf(msg, sizeof(msg), "line %d from the child\n", i);

			if (write(p[1], msg, (size_t) n) != n)
				_exit(1);
			usleep(20000);
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

int main(int argc, char **argv)
{
	static struct loop l;
	struct stat st;
	int ret;

	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: %s FILE\n"
			"Read FILE through an io_uring whose completions are "
			"signalled on an eventfd,\nwaited for in an epoll loop "
			"together with a pipe fed by a child process.\n", argv[0]);
		return argc == 2 ? 0 : 2;
	}
	l.file_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (l.file_fd < 0 || fstat(l.file_fd, &st) < 0)
		die(argv[1], errno);
	l.size = st.st_size;
	l.pipe_fd = spawn_writer();
	ret = io_uring_queue_init(2 * DEPTH, &l.ring, 0);
	if (ret < 0)
		die("io_uring_queue_init", -ret);
	l.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l.efd < 0)
		die("eventfd", errno);
	ret = io_uring_register_eventfd(&l.ring, l.efd);
	if (ret < 0)
		die("io_uring_register_eventfd", -ret);
	run(&l);
	wait(NULL);
	printf("%s: %llu bytes, %llu pipe lines, %llu CQEs in %llu eventfd wakeups\n",
	       argv[1], l.bytes, l.lines, l.cqes, l.wakeups);
	io_uring_queue_exit(&l.ring);
	close(l.efd);
	close(l.epfd);
	return l.bytes == (unsigned long long) l.size && l.pipe_done ? 0 : 1;
}
