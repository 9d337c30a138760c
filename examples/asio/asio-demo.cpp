// SPDX-License-Identifier: MIT
//
// Asio's io_uring backend on uring-alike: built with ASIO_HAS_IO_URING and
// ASIO_DISABLE_EPOLL, so every socket, timer and file operation of this
// program goes through <liburing.h>. A TCP echo over loopback, a timer
// and a file read; exits 0 when all of them did what they should.
// test/asio-check.sh builds and runs it against the library in build/.
#include <asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

using asio::ip::tcp;

static int failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "asio-demo: %s failed\n", what);
		failures++;
	}
}

int main()
{
	asio::io_context ctx;
	tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
	tcp::socket server(ctx), client(ctx);
	char server_buf[64] = {}, client_buf[64] = {};
	const std::string msg = "hello through io_uring";
	bool echoed = false, timer_fired = false, file_read = false;

	acceptor.async_accept(server, [&](const asio::error_code &ec) {
		check(!ec, "accept");
		server.async_read_some(asio::buffer(server_buf),
			[&](const asio::error_code &ec2, std::size_t n) {
				check(!ec2, "server read");
				asio::async_write(server, asio::buffer(server_buf, n),
					[&](const asio::error_code &ec3, std::size_t) {
						check(!ec3, "server write");
					});
			});
	});
	client.async_connect(acceptor.local_endpoint(), [&](const asio::error_code &ec) {
		check(!ec, "connect");
		asio::async_write(client, asio::buffer(msg),
			[&](const asio::error_code &ec2, std::size_t) {
				check(!ec2, "client write");
				asio::async_read(client, asio::buffer(client_buf, msg.size()),
					[&](const asio::error_code &ec3, std::size_t n) {
						check(!ec3 && n == msg.size() &&
						      !std::memcmp(client_buf, msg.data(), n),
						      "echo");
						echoed = true;
					});
			});
	});

	asio::steady_timer timer(ctx, std::chrono::milliseconds(20));
	timer.async_wait([&](const asio::error_code &ec) {
		check(!ec, "timer");
		timer_fired = true;
	});

	char path[] = "/tmp/asio-demo-XXXXXX";
	int fd = mkstemp(path);
	check(fd >= 0 && write(fd, "file data", 9) == 9, "temp file");
	close(fd);
	asio::stream_file file(ctx, path, asio::stream_file::read_only);
	char file_buf[16] = {};
	file.async_read_some(asio::buffer(file_buf),
		[&](const asio::error_code &ec, std::size_t n) {
			check(!ec && n == 9 && !std::memcmp(file_buf, "file data", 9),
			      "file read");
			file_read = true;
		});

	ctx.run();
	unlink(path);
	check(echoed && timer_fired && file_read, "all handlers ran");
	if (!failures)
		std::printf("asio-demo: echo, timer and file read through io_uring: ok\n");
	return failures ? 1 : 0;
}
