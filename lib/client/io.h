// SPDX-License-Identifier: MIT
// What the Client and its Streams share below the API: deadlines for poll(), packets with passed fds.
//
// ampd passes file descriptors (SCM_RIGHTS) with an `open` reply and with a
// direct stream's up events. Every packet the client reads goes through
// receivePacket(), so an fd that comes with a packet nobody expects is
// still owned by someone (PassedFds) and closed when that packet is
// dropped: a passed fd never leaks, whatever the packet was.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

#include <sys/types.h>
#include <sys/uio.h>

#include "base/unique_fd.h"

namespace amp::client {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

// No deadline for a negative timeout (wait forever).
Deadline deadlineAfter(std::chrono::milliseconds timeout);
// Milliseconds left until `deadline` for poll(), rounded up so that a wait
// never ends a little early and reports a timeout that has not passed;
// -1 (no limit) for no deadline, 0 once it has passed.
int pollTimeout(Deadline deadline);

// The fds that came with one packet, owned until taken.
class PassedFds {
public:
	// ampd passes at most two (stream socket and endpoint); more are read
	// and closed, a packet with more than this many has MSG_CTRUNC.
	static constexpr std::size_t kMax = 4;

	std::size_t size() const { return count_; }
	bool empty() const { return count_ == 0; }
	// The kernel had more fds for this packet than fit (MSG_CTRUNC): it
	// closed the rest, so the packet is missing some.
	bool truncated() const { return truncated_; }
	UniqueFd take(std::size_t i) { return i < count_ ? std::move(fds_[i]) : UniqueFd(); }
	// Closes what is left.
	void clear();
	void add(int fd);
	void setTruncated() { truncated_ = true; }

private:
	std::array<UniqueFd, kMax> fds_;
	std::size_t count_ = 0;
	bool truncated_ = false;
};

// recvmsg() into `iov` with a control buffer for passed fds (always with
// MSG_CMSG_CLOEXEC, plus `flags`). What was there before in `fds` is
// closed first; the fds of this packet are in it afterwards, also when the
// data did not fit. Returns recvmsg()'s result (errno set when negative);
// *msgFlags gets msg_flags (MSG_TRUNC, MSG_CTRUNC).
ssize_t receivePacket(int fd, struct iovec *iov, std::size_t iovCount, int flags, PassedFds &fds, int *msgFlags = nullptr);

} // namespace amp::client
