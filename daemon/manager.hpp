// SPDX-License-Identifier: MIT
// The set of remotes: discovery at start and on hot-plug, the rpmsg bus
// watched through uevents, channels handed to their remote, events fanned
// out to whoever listens (the control server).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"
#include "blocking_worker.hpp"
#include "config.hpp"
#include "event_loop.hpp"
#include "kernel/uevent_monitor.h"
#include "protocol/protocol.hpp"
#include "remote.hpp"

namespace amp::daemon {

class Manager {
public:
	Manager(EventLoop &loop, BlockingWorker &worker, SysfsRoot root, const Config &config, RemoteTimings timings = {});
	~Manager();
	Manager(const Manager &) = delete;
	Manager &operator=(const Manager &) = delete;

	// Listen for uevents, then find every core (adopting running ones,
	// autostarting configured ones). Uevents that cannot be had (no
	// netlink in this sandbox) are logged; transitions still poll.
	[[nodiscard]] Result<void> start();

	// By alias, "remoteprocN", N, or the kernel's name for the core.
	Remote *find(std::string_view name);
	std::vector<Remote *> remotes();
	std::vector<protocol::ChannelInfo> channels(const Remote *only = nullptr);

	void setEventListener(std::function<void(const protocol::Event &)> listener) { listener_ = std::move(listener); }
	void setChangeListener(std::function<void()> listener) { changed_ = std::move(listener); }
	// One line for sd_notify STATUS=: "r5-0 running, r5-1 offline".
	std::string statusLine() const;

	// Stop every core that is up (on_sigterm: stop-all); `done` once all are over.
	void stopAll(std::function<void()> done);

	void rescanChannels();

	// Have the remote look at the kernel on the next loop iteration: an
	// endpoint said EPIPE or POLLERR, and the remote's own state machine
	// decides what happened (stopped, crashed), not from inside whatever
	// callback found the endpoint dead.
	void pokeSoon(const std::string &alias);

	// The thread for calls that may block (sysfs writes, reading images).
	BlockingWorker &worker() { return worker_; }

private:
	void rescanRemotes();
	void onUevent();
	const RemoteConfig *configFor(int index, const std::string &kernelName) const;

	EventLoop &loop_;
	BlockingWorker &worker_;
	SysfsRoot root_;
	const Config &config_;
	RemoteTimings timings_;
	RemoteContext context_;
	std::map<int, std::unique_ptr<Remote>> remotes_; // by remoteproc index
	std::optional<kernel::UeventMonitor> monitor_;
	EventSource monitorSource_;
	std::function<void(const protocol::Event &)> listener_;
	std::function<void()> changed_;
	bool rescanning_ = false;
	std::vector<std::string> pokes_;
	EventSource pokeSource_;
};

} // namespace amp::daemon
