// SPDX-License-Identifier: MIT
// Deadlines for poll() and recvmsg() with SCM_RIGHTS: every passed fd gets an owner.
#include "client/io.h"

#include <cstring>

#include <sys/socket.h>

namespace amp::client {

Deadline deadlineAfter(std::chrono::milliseconds timeout)
{
	if (timeout.count() < 0)
		return std::nullopt;
	return Clock::now() + timeout;
}

int pollTimeout(Deadline deadline)
{
	if (!deadline)
		return -1;
	auto left = *deadline - Clock::now();
	if (left <= Clock::duration::zero())
		return 0;
	auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
	return ms > 1000000000 ? 1000000000 : static_cast<int>(ms);
}

void PassedFds::clear()
{
	for (std::size_t i = 0; i < count_; ++i)
		fds_[i].reset();
	count_ = 0;
	truncated_ = false;
}

void PassedFds::add(int fd)
{
	if (count_ < kMax)
		fds_[count_++].reset(fd);
	else
		UniqueFd closeIt(fd); // cannot happen: the control buffer holds kMax
}

ssize_t receivePacket(int fd, struct iovec *iov, std::size_t iovCount, int flags, PassedFds &fds, int *msgFlags)
{
	fds.clear();
	// Aligned as struct cmsghdr needs; room for kMax fds and nothing else
	// (the client never asks for credentials).
	union {
		char buf[CMSG_SPACE(sizeof(int) * PassedFds::kMax)];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {};
	msg.msg_iov = iov;
	msg.msg_iovlen = iovCount;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	ssize_t n = ::recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (std::size_t i = 0; i < count; ++i) {
			int passed;
			std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			fds.add(passed);
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		fds.setTruncated();
	if (msgFlags)
		*msgFlags = msg.msg_flags;
	return n;
}

} // namespace amp::client
