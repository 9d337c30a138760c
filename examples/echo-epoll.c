/* SPDX-License-Identifier: MIT */
/*
 * echo-epoll: the same TCP echo service as echo-server, written the usual
 * way without io_uring: one thread, level-triggered epoll, non-blocking
 * read() and write(). The peer bench/echo.sh compares the rings with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS		4096
#define BUF_SIZE	2048

/* Bytes read but not yet written back, per connection. */
struct conn {
	unsigned off, len;
	char buf[BUF_SIZE];
};

static volatile sig_atomic_t stop;
static struct conn *conns[MAX_FDS];

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--port P]\n"
		"\n"
		"TCP echo server on 127.0.0.1 with epoll: the peer of echo-server.\n"
		"  --port P     port (default 0: any free one, printed)\n"
		"  -h, --help   show this help and exit\n", prog);
}

static void die(const char *what)
{
	fprintf(stderr, "echo-epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

static void drop(int fd)
{
	free(conns[fd]);
	conns[fd] = NULL;
	close(fd);
}

static void watch(int epfd, int fd, unsigned events, int op)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(epfd, op, fd, &ev) < 0)
		die("epoll_ctl");
}

static void accept_all(int epfd, int lfd)
{
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (fd >= MAX_FDS || !(conns[fd] = calloc(1, sizeof(struct conn)))) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		watch(epfd, fd, EPOLLIN, EPOLL_CTL_ADD);
	}
}

/* Writes back what is pending; returns false when the peer is gone. */
static bool flush(int epfd, int fd, struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(fd, c->buf + c->off, c->len - c->off);

		if (n < 0 && errno == EAGAIN) {
			watch(epfd, fd, EPOLLOUT, EPOLL_CTL_MOD);
			return true;
		}
		if (n < 0)
			return false;
		c->off += (unsigned) n;
	}
	c->off = c->len = 0;
	return true;
}

static void serve(int epfd, int fd, unsigned events)
{
	struct conn *c = conns[fd];
	ssize_t n;

	if (events & EPOLLOUT) {
		if (!flush(epfd, fd, c)) {
			drop(fd);
			return;
		}
		if (!c->len)
			watch(epfd, fd, EPOLLIN, EPOLL_CTL_MOD);
		return;
	}
	n = read(fd, c->buf, sizeof(c->buf));
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		drop(fd);
		return;
	}
	c->len = (unsigned) n;
	if (!flush(epfd, fd, c))
		drop(fd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct epoll_event events[64];
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	struct sigaction sa;
	unsigned short port = 0;
	int lfd, epfd, c, one = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'p') {
			port = (unsigned short) atoi(optarg);
		} else {
			usage(c == 'h' ? stdout : stderr, argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ||
	    listen(lfd, 512) < 0 ||
	    getsockname(lfd, (struct sockaddr *) &addr, &len) < 0)
		die("listen");
	printf("listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
	fflush(stdout);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	watch(epfd, lfd, EPOLLIN, EPOLL_CTL_ADD);
	while (!stop) {
		int n = epoll_wait(epfd, events, 64, -1), i;

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			if (events[i].data.fd == lfd)
				accept_all(epfd, lfd);
			else
				serve(epfd, events[i].data.fd, events[i].events);
		}
	}
	return 0;
}
