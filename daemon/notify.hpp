// SPDX-License-Identifier: MIT
// sd_notify without blocking: sd_notify() sends with a blocking sendmsg(),
// so a notification socket whose reader stalls (a test harness, a wedged
// manager) would stall the whole event loop. Here a full socket keeps the
// newest state and retries from a timer; nothing is sent twice needlessly.
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "event_loop.hpp"

namespace amp::daemon {

class Notifier {
public:
	// From $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace);
	// without it every call does nothing, as sd_notify() does.
	explicit Notifier(EventLoop &loop);
	bool enabled() const { return fd_.valid(); }

	void ready(const std::string &status);
	void status(const std::string &status);
	void stopping();

private:
	void flush();

	EventLoop &loop_;
	UniqueFd fd_;
	std::string address_;
	// What has not been delivered yet: READY=1/STOPPING=1 are never lost,
	// STATUS= only keeps its newest value.
	bool readyPending_ = false;
	bool stoppingPending_ = false;
	std::string statusPending_;
	bool statusDirty_ = false;
	EventSource retry_;
};

} // namespace amp::daemon
