// SPDX-License-Identifier: MIT
// One thread for the kernel calls that may block for seconds (the
// remoteproc `start` write loads the firmware inside write()), so the event
// loop never waits on them; each result comes back to the loop via an eventfd.
#pragma once

#include <functional>
#include <memory>

#include "base/result.h"
#include "event_loop.hpp"

namespace amp::daemon {

class BlockingWorker {
public:
	// Runs on the worker thread; returns what then runs on the loop. Jobs
	// capture values only (paths, indexes): the daemon's objects are not
	// theirs to touch, and may be gone when the job ends.
	using Job = std::function<std::function<void()>()>;

	[[nodiscard]] static Result<std::unique_ptr<BlockingWorker>> create(EventLoop &loop);
	// Leaves a job still blocked in the kernel behind (detached) instead of
	// waiting for it: the daemon must be able to exit while a start hangs.
	~BlockingWorker();
	BlockingWorker(const BlockingWorker &) = delete;
	BlockingWorker &operator=(const BlockingWorker &) = delete;

	// Jobs run one at a time, in order.
	void submit(Job job);
	// Jobs submitted and not yet completed on the loop.
	size_t pending() const;

	struct Shared;

private:
	BlockingWorker() = default;
	void drainCompletions();

	std::shared_ptr<Shared> shared_;
	EventSource completions_;
};

} // namespace amp::daemon
