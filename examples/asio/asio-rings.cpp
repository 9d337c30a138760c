// SPDX-License-Identifier: MIT
//
// Several rings under Asio's io_uring backend (ASIO_HAS_IO_URING,
// ASIO_DISABLE_EPOLL): two io_contexts, each with its own ring and its own
// thread, echo over loopback to each other; and one of them waits, with an
// ordinary async_wait, on the descriptor of a third ring the program drives
// with liburing itself, which must turn readable only once that ring has a
// CQE. test/asio-check.sh builds and runs it against uring-alike and
// against the kernel's io_uring.
#include <asio.hpp>
#include <liburing.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using asio::ip::tcp;

static std::atomic<int> failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "asio-rings: %s failed\n", what);
		failures++;
	}
}

// The echo: the server on one context, the client on the other.
static void echo(asio::io_context &server_ctx, asio::io_context &client_ctx,
		 bool &echoed)
{
	static tcp::acceptor *acceptor;
	static tcp::socket *server, *client;
	static char server_buf[64], client_buf[64];
	static const std::string msg = "one ring to another";

	acceptor = new tcp::acceptor(server_ctx,
		tcp::endpoint(asio::ip::address_v4::loopback(), 0));
	server = new tcp::socket(server_ctx);
	client = new tcp::socket(client_ctx);
	acceptor->async_accept(*server, [](const asio::error_code &ec) {
		check(!ec, "accept");
		server->async_read_some(asio::buffer(server_buf),
			[](const asio::error_code &ec2, std::size_t n) {
				check(!ec2, "server read");
				asio::async_write(*server, asio::buffer(server_buf, n),
					[](const asio::error_code &ec3, std::size_t) {
						check(!ec3, "server write");
					});
			});
	});
	client->async_connect(acceptor->local_endpoint(), [&echoed](const asio::error_code &ec) {
		check(!ec, "connect");
		asio::async_write(*client, asio::buffer(msg),
			[&echoed](const asio::error_code &ec2, std::size_t) {
				check(!ec2, "client write");
				asio::async_read(*client, asio::buffer(client_buf, msg.size()),
					[&echoed](const asio::error_code &ec3, std::size_t n) {
						check(!ec3 && n == msg.size() &&
						      std::string(client_buf, n) == msg, "echo");
						echoed = true;
						client->close();
						server->close();
						acceptor->close();
					});
			});
	});
}

int main()
{
	asio::io_context ctx[2];
	struct io_uring other;
	bool echoed = false, ring_woke = false;

	if (io_uring_queue_init(4, &other, 0)) {
		std::fprintf(stderr, "asio-rings: io_uring_queue_init failed\n");
		return 1;
	}
	echo(ctx[0], ctx[1], echoed);

	// The third ring's descriptor, watched by ctx[0]'s ring; a NOP is
	// posted to it only after a while, from ctx[1]'s thread.
	asio::posix::stream_descriptor ring_fd(ctx[0], other.ring_fd);
	asio::steady_timer later(ctx[1], std::chrono::milliseconds(30));
	std::atomic<bool> nop_sent{false};

	ring_fd.async_wait(asio::posix::stream_descriptor::wait_read,
		[&](const asio::error_code &ec) {
			struct io_uring_cqe *cqe;

			check(!ec, "wait on the ring descriptor");
			check(nop_sent, "ring descriptor readable only after its CQE");
			check(io_uring_peek_cqe(&other, &cqe) == 0,
			      "a CQE behind the readable descriptor");
			if (nop_sent && cqe)
				io_uring_cqe_seen(&other, cqe);
			ring_woke = true;
		});
	later.async_wait([&](const asio::error_code &ec) {
		check(!ec, "timer");
		nop_sent = true;
		io_uring_prep_nop(io_uring_get_sqe(&other));
		check(io_uring_submit(&other) == 1, "NOP on the third ring");
	});

	std::thread t1([&] { ctx[1].run(); });
	ctx[0].run();
	t1.join();
	ring_fd.release();
	io_uring_queue_exit(&other);

	check(echoed, "echo between the rings");
	check(ring_woke, "wake on the ring descriptor");
	if (failures)
		return 1;
	std::printf("asio-rings: echo between two rings, and a wait on a third ring's descriptor, as expected\n");
	return 0;
}
