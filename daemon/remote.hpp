// SPDX-License-Identifier: MIT
// One remote core: its life-cycle state machine (remote_state.hpp), the start
// and graceful-stop sequences, crash detection and the restart policy.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"
#include "blocking_worker.hpp"
#include "config.hpp"
#include "event_loop.hpp"
#include "kernel/firmware.h"
#include "kernel/remoteproc.h"
#include "kernel/rpmsg.h"
#include "protocol/protocol.hpp"
#include "remote_state.hpp"

namespace amp::daemon {

// What a Remote needs from the daemon around it.
struct RemoteContext {
	EventLoop &loop;
	BlockingWorker &worker;
	SysfsRoot root;
	std::function<void(const protocol::Event &)> publish;
	// Re-read the rpmsg bus now and hand every remote its channels.
	std::function<void()> rescanChannels;
	// Something a status line shows changed.
	std::function<void()> changed;
};

// How long things take when the configuration does not say.
struct RemoteTimings {
	Millis transitionPoll{20}; // re-read `state` while starting or stopping
	Millis upPoll{1000};       // re-read `state` while up: a crash sends no event
	Millis startToChannel{5000};
	Millis shutdown{3000};
};

class Remote {
public:
	using Completion = std::function<void(Result<protocol::ActionReply>)>;

	// `config` may be null (a core the configuration does not name); it
	// must outlive the Remote.
	Remote(RemoteContext &context, int index, std::string alias, std::string kernelName,
	       const RemoteConfig *config, RemoteTimings timings = {});
	~Remote();
	Remote(const Remote &) = delete;
	Remote &operator=(const Remote &) = delete;

	// First look at the kernel: adopt a running core, autostart an offline one.
	void discover();

	const std::string &alias() const { return alias_; }
	int index() const { return index_; }
	const std::string &kernelName() const { return kernelName_; }
	RemoteState state() const { return state_; }
	const RemoteConfig *config() const { return config_; }
	protocol::RemoteInfo info() const;
	std::vector<protocol::ChannelInfo> channels() const;
	bool hasChannel(std::string_view service) const;
	// The channel named `service` as the bus shows it now, or null.
	const kernel::RpmsgChannel *findChannel(std::string_view service) const;
	protocol::ChannelInfo channelInfo(const kernel::RpmsgChannel &channel) const;

	// Each completion runs exactly once, on the loop, when the request is
	// over: start when the core is up with its channels (or failed), stop
	// when the kernel reads offline. `who` goes into the logs.
	void start(std::optional<std::string> firmware, bool join, const std::string &who, Completion done);
	void stop(bool graceful, const std::string &who, Completion done);
	void restart(std::optional<std::string> firmware, const std::string &who, Completion done);

	// From the manager: this remote's channels on the bus, as now.
	void setChannels(std::vector<kernel::RpmsgChannel> channels);
	// Something happened to the core (a uevent): look at the kernel now.
	void poke();

private:
	// Which channels "up" waits for.
	struct Expectation {
		std::vector<std::string> names; // all of these (from the configuration)
		bool any = false;               // at least one (the firmware has an rpmsg VDEV)
		std::string none;               // why no channel is expected ("" when some is)
	};
	struct JobOutcome;

	bool fire(RemoteEvent event, const std::string &reason);
	void setState(RemoteState next, const std::string &reason);
	void schedulePoll();
	void pollNow();
	void handleKernelState(const kernel::RprocStateWord &word);

	void beginStart(std::optional<std::string> firmware, const std::string &reason);
	void onStartJobDone(JobOutcome outcome);
	void enterStarting(const std::string &reason, std::optional<kernel::FirmwareReport> report);
	void inspectRunningFirmware();
	void setExpectation(const std::optional<kernel::FirmwareReport> &report);
	bool expectationMet() const;
	std::string missingChannels() const;
	std::vector<std::string> upChannels() const; // expectationMet() holds
	void evaluateStarting();
	void onStartDeadline();
	void finishStart(Result<protocol::ActionReply> result);

	void beginStop(bool graceful, const std::string &reason);
	Result<void> sendShutdownMessage(const kernel::RpmsgChannel &channel);
	void writeStop(const std::string &detail);
	void finishStop(Result<protocol::ActionReply> result);

	void takeOverRecovery();
	void onFailure(const std::string &why);
	void policyRestart(const std::string &why);

	protocol::ActionReply reply(const std::string &detail) const;
	std::string elapsed() const;
	std::string channelList(const std::vector<std::string> &names) const;
	// A callback for the worker or a timer that does nothing once this
	// Remote is gone.
	template <typename F> auto guard(F f);

	RemoteContext &ctx_;
	int index_;
	std::string alias_;
	std::string kernelName_;
	const RemoteConfig *config_;
	RemoteTimings timings_;
	std::shared_ptr<Remote *> self_; // weak copies make guard() safe

	RemoteState state_ = RemoteState::Offline;
	kernel::RprocStateWord kernelState_;
	std::string firmware_; // the kernel's `firmware` as last read or written
	std::vector<kernel::RpmsgChannel> channels_;

	Expectation expect_;
	bool expectKnown_ = false;
	Clock::time_point phaseStart_{};
	bool awaitingTeardown_ = false;
	bool recoveryTaken_ = false; // we disabled the kernel's recovery; restore it on exit
	std::string teardownChannel_;
	std::vector<Completion> startWaiters_;
	std::vector<Completion> stopWaiters_;

	std::deque<Clock::time_point> restarts_; // policy restarts within the window
	EventSource pollTimer_;
	EventSource deadline_;
	EventSource restartTimer_;
};

} // namespace amp::daemon
