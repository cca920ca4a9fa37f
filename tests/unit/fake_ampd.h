// SPDX-License-Identifier: MIT
// A scripted fake ampd for client-side tests: a real SOCK_SEQPACKET socket, one connection, a script in a thread.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "protocol/protocol.hpp"

namespace amp::test {

using namespace amp::protocol;

// Sends one packet with `fds` passed along (SCM_RIGHTS), as ampd passes
// stream sockets and endpoints; the sender keeps its copies.
inline void sendWithFds(int socket, const std::string &packet, const std::vector<int> &fds)
{
	struct iovec iov = {const_cast<char *>(packet.data()), packet.size()};
	struct msghdr msg = {};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
	if (!fds.empty()) {
		msg.msg_control = control.data();
		msg.msg_controllen = control.size();
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
		std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
	}
	EXPECT_EQ(::sendmsg(socket, &msg, MSG_NOSIGNAL), static_cast<ssize_t>(packet.size())) << strerror(errno);
}

// A SOCK_SEQPACKET pair: `client` is passed to the client (a stream socket,
// or standing in for /dev/rpmsgK), `ampd` stays with the fake.
struct SocketPair {
	UniqueFd client, ampd;
};
inline SocketPair seqpacketPair()
{
	int sv[2];
	EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0) << strerror(errno);
	return SocketPair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

// The ampd end of a stream socket: kind byte, then message or event JSON.
inline void streamMessage(int ampd, const std::string &payload)
{
	std::string packet(1, static_cast<char>(kStreamMessage));
	packet += payload;
	sendWithFds(ampd, packet, {});
}
inline void streamEvent(int ampd, const StreamEvent &event, const std::vector<int> &fds = {})
{
	std::string packet(1, static_cast<char>(kStreamEvent));
	packet += *encode(event);
	sendWithFds(ampd, packet, fds);
}
// The next packet on `fd` as it came (a 0-byte one is empty), or nullopt
// when none came within `timeoutMs` or the other end closed.
inline std::optional<std::string> readPacket(int fd, int timeoutMs = 5000)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	if (::poll(&pfd, 1, timeoutMs) != 1)
		return std::nullopt;
	std::string buf(kMaxPacket, '\0');
	ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
	if (n < 0 || (n == 0 && (pfd.revents & POLLHUP)))
		return std::nullopt;
	buf.resize(static_cast<std::size_t>(n));
	return buf;
}

// How many fds this process has open, to see that none leaked.
inline int openFdCount()
{
	int count = 0;
	if (DIR *d = ::opendir("/proc/self/fd")) {
		while (struct dirent *e = ::readdir(d))
			if (e->d_name[0] != '.')
				++count;
		::closedir(d);
	}
	return count - 1; // the directory's own fd
}

// The server's end of one connection, used from the fake server's thread.
class Peer {
public:
	explicit Peer(UniqueFd fd) : fd_(std::move(fd)) {}

	// The next request; a failed test (and an empty request) when none
	// came in time or it does not decode.
	Request read()
	{
		struct pollfd pfd = {fd_.get(), POLLIN, 0};
		if (::poll(&pfd, 1, 5000) != 1) {
			ADD_FAILURE() << "fake ampd: no request within 5 s";
			return {};
		}
		std::string buf(kMaxPacket, '\0');
		ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
		if (n <= 0) {
			ADD_FAILURE() << "fake ampd: client closed the connection";
			return {};
		}
		buf.resize(static_cast<std::size_t>(n));
		lastRaw = buf;
		auto r = decodeRequest(buf);
		if (!r) {
			ADD_FAILURE() << "fake ampd: " << r.error().message() << " in " << buf;
			return {};
		}
		return *r;
	}
	void sendRaw(const std::string &packet) { EXPECT_EQ(::send(fd_.get(), packet.data(), packet.size(), MSG_NOSIGNAL), static_cast<ssize_t>(packet.size())); }
	void reply(const Request &to, ResponseBody body) { sendRaw(*encode(Response{to.id, to.type(), std::move(body)})); }
	void fail(const Request &to, int code, const std::string &message) { sendRaw(*encode(failure(to.id, to.type(), Error{code, message}))); }
	void event(const Event &e) { sendRaw(*encode(e)); }
	void replyWithFds(const Request &to, ResponseBody body, const std::vector<int> &fds)
	{
		sendWithFds(fd_.get(), *encode(Response{to.id, to.type(), std::move(body)}), fds);
	}
	void eventWithFds(const Event &e, const std::vector<int> &fds) { sendWithFds(fd_.get(), *encode(e), fds); }
	// Reads the hello and answers it as ampd would.
	Request hello(std::uint32_t version = kVersion)
	{
		Request r = read();
		EXPECT_EQ(r.type(), RequestType::Hello);
		reply(r, HelloReply{version, "fake ampd"});
		return r;
	}
	// Blocks until the client hangs up, so the script does not close first.
	void waitForClose()
	{
		struct pollfd pfd = {fd_.get(), POLLIN, 0};
		char c;
		while (::poll(&pfd, 1, 5000) == 1 && ::recv(fd_.get(), &c, 1, 0) > 0) {
		}
	}
	void close() { fd_.reset(); }

	std::string lastRaw;

private:
	UniqueFd fd_;
};

// ampd's socket with a script in a thread for the one client a test makes.
class FakeServer {
public:
	explicit FakeServer(std::function<void(Peer &)> script)
	{
		char dirTemplate[] = "/tmp/amp-client-test-XXXXXX";
		dir_ = ::mkdtemp(dirTemplate);
		path_ = dir_ + "/ampd.sock";
		listen_ = UniqueFd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
		struct sockaddr_un addr = {};
		addr.sun_family = AF_UNIX;
		std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
		EXPECT_EQ(::bind(listen_.get(), reinterpret_cast<struct sockaddr *>(&addr), sizeof(addr)), 0) << strerror(errno);
		EXPECT_EQ(::listen(listen_.get(), 4), 0);
		thread_ = std::thread([this, script = std::move(script)] {
			struct pollfd pfd = {listen_.get(), POLLIN, 0};
			if (::poll(&pfd, 1, 5000) != 1)
				return; // tests that never connect
			Peer peer(UniqueFd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC)));
			script(peer);
		});
	}
	~FakeServer()
	{
		thread_.join();
		::unlink(path_.c_str());
		::rmdir(dir_.c_str());
	}
	const std::string &path() const { return path_; }

private:
	std::string dir_, path_;
	UniqueFd listen_;
	std::thread thread_;
};

} // namespace amp::test
