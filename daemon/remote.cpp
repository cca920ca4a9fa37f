// SPDX-License-Identifier: MIT
// A remote core's life cycle: start (firmware checked before the core is
// touched), waiting for its channels, the OpenAMP graceful stop, crash
// detection and restarts. Blocking kernel writes go to the BlockingWorker.
#include "remote.hpp"

#include <algorithm>
#include <cstring>

#include "base/log.h"

namespace amp::daemon {

namespace {

std::string ms(Millis d)
{
	return std::to_string(d.count()) + " ms";
}

} // namespace

// What a start job found out, carried back to the loop.
struct Remote::JobOutcome {
	Result<void> result;
	bool touchedCore = false; // false: refused before any write to the core
	std::optional<kernel::FirmwareReport> report;
	std::string firmware; // the kernel's firmware attribute afterwards
	kernel::RprocStateWord kernelState;
};

template <typename F> auto Remote::guard(F f)
{
	return [weak = std::weak_ptr<Remote *>(self_), f = std::move(f)](auto &&...args) mutable {
		if (auto alive = weak.lock())
			f(std::forward<decltype(args)>(args)...);
	};
}

Remote::Remote(RemoteContext &context, int index, std::string alias, std::string kernelName,
	       const RemoteConfig *config, RemoteTimings timings)
	: ctx_(context), index_(index), alias_(std::move(alias)), kernelName_(std::move(kernelName)), config_(config),
	  timings_(timings), self_(std::make_shared<Remote *>(this))
{
	if (config_) {
		timings_.startToChannel = config_->startToChannel;
		timings_.shutdown = config_->shutdownDeadline;
	}
}

Remote::~Remote()
{
	self_.reset();
	if (recoveryTaken_) {
		// ampd leaves; the kernel's own recovery is the best supervisor
		// until it comes back (and takes it over again at adoption).
		if (auto rp = kernel::Remoteproc::open(ctx_.root, index_))
			(void)rp->setRecovery(true);
	}
	Error gone{ESHUTDOWN, "ampd is shutting down"};
	for (auto &w : std::exchange(startWaiters_, {}))
		w(unexpected(gone));
	for (auto &w : std::exchange(stopWaiters_, {}))
		w(unexpected(gone));
}

// ---- state ----------------------------------------------------------------

bool Remote::fire(RemoteEvent event, const std::string &reason)
{
	auto next = nextState(state_, event);
	if (!next) {
		log::remote()->debug("{}: {} ignored in state {} ({})", alias_, toString(event), protocol::toString(state_),
				     reason);
		return false;
	}
	setState(*next, reason);
	return true;
}

void Remote::setState(RemoteState next, const std::string &reason)
{
	if (next == state_)
		return;
	RemoteState from = state_;
	state_ = next;
	log::ScopedFields fields{{"REMOTE", alias_}, {"STATE", protocol::toString(next)}};
	auto level = next == RemoteState::Crashed || next == RemoteState::Error ? spdlog::level::warn
										  : spdlog::level::info;
	log::remote()->log(level, "{}: {} -> {} ({})", alias_, protocol::toString(from), protocol::toString(next),
			   reason);
	if (next != RemoteState::Starting && next != RemoteState::Stopping)
		deadline_.reset();
	schedulePoll();
	ctx_.publish(protocol::StateEvent{alias_, from, next, reason});
	ctx_.changed();
}

void Remote::schedulePoll()
{
	Millis interval{0};
	switch (state_) {
	case RemoteState::Starting:
	case RemoteState::Stopping:
		interval = timings_.transitionPoll;
		break;
	case RemoteState::Running:
	case RemoteState::RunningDegraded:
	case RemoteState::Attached:
	case RemoteState::Crashed: // the kernel's own recovery may bring it back
		interval = timings_.upPoll;
		break;
	default:
		// Offline, detached, error: only a uevent (poke) or a request
		// changes anything, so an idle daemon never wakes up.
		break;
	}
	if (interval.count() == 0) {
		pollTimer_.reset();
		return;
	}
	auto t = ctx_.loop.addTimer(interval, guard([this] { pollNow(); }));
	if (t)
		pollTimer_ = std::move(*t);
	else
		log::remote()->error("{}: cannot arm the state poll: {}", alias_, t.error().message());
}

void Remote::pollNow()
{
	if (state_ == RemoteState::Starting || state_ == RemoteState::Stopping)
		ctx_.rescanChannels();
	poke();
	schedulePoll();
}

void Remote::poke()
{
	auto rp = kernel::Remoteproc::open(ctx_.root, index_);
	if (!rp)
		return; // gone: the manager removes us on its uevent
	auto word = rp->state();
	if (!word) {
		log::remote()->warn("{}: cannot read the state: {}", alias_, word.error().message());
		return;
	}
	handleKernelState(*word);
}

void Remote::handleKernelState(const kernel::RprocStateWord &word)
{
	kernelState_ = word;
	using K = kernel::RprocState;
	switch (word.state) {
	case K::Crashed:
		if (state_ == RemoteState::Stopping && awaitingTeardown_) {
			// A crashed remote tears nothing down: stop now, not at the deadline.
			writeStop("the remote crashed during the shutdown: stopped it");
			return;
		}
		if (state_ == RemoteState::Stopping || state_ == RemoteState::Crashed || state_ == RemoteState::Loading)
			return; // a stop goes on; a start's outcome comes from its job
		if (fire(RemoteEvent::Crash, "the kernel reports a crash")) {
			finishStart(unexpected(EIO, "remote " + alias_ + " crashed while starting"));
			onFailure("crashed");
		}
		return;
	case K::Offline:
		if (state_ == RemoteState::Starting) {
			fire(RemoteEvent::KernelOffline, "the core went offline while starting");
			finishStart(unexpected(EIO, "remote " + alias_ + " went offline while starting"));
		} else if (state_ != RemoteState::Stopping && state_ != RemoteState::Loading) {
			fire(RemoteEvent::KernelOffline, "stopped outside ampd");
		}
		return;
	case K::Running:
	case K::Attached:
		if (state_ == RemoteState::Starting) {
			evaluateStarting();
		} else if (state_ == RemoteState::Offline || state_ == RemoteState::Error ||
			   state_ == RemoteState::Detached || state_ == RemoteState::Crashed) {
			bool recovered = state_ == RemoteState::Crashed;
			enterStarting(recovered ? "recovered by the kernel" : "started outside ampd", std::nullopt);
		}
		return;
	case K::Detached:
		if (state_ != RemoteState::Stopping && state_ != RemoteState::Loading)
			fire(RemoteEvent::KernelDetached, "the kernel reads detached");
		return;
	default:
		return;
	}
}

void Remote::discover()
{
	auto rp = kernel::Remoteproc::open(ctx_.root, index_);
	if (!rp)
		return;
	if (auto fw = rp->firmware())
		firmware_ = *fw;
	auto word = rp->state();
	if (!word) {
		log::remote()->warn("{}: cannot read the state: {}", alias_, word.error().message());
		return;
	}
	kernelState_ = *word;
	using K = kernel::RprocState;
	log::remote()->info("{}: found remoteproc{} \"{}\", kernel state {}", alias_, index_, kernelName_, word->word);
	switch (word->state) {
	case K::Running:
	case K::Attached:
		// Adopted, not started: no offline -> starting event, the core
		// never stopped. `starting` until its channels are checked.
		takeOverRecovery();
		// Its channels on the bus already say it is up: no `starting`
		// for clients to see after an ampd restart.
		setExpectation(std::nullopt);
		if (!channels_.empty() && expectationMet()) {
			state_ = word->state == K::Attached ? RemoteState::Attached : RemoteState::Running;
			log::remote()->info("{}: adopted, {} with channel {}", alias_, word->word,
					    channelList(upChannels()));
			schedulePoll();
			return;
		}
		state_ = RemoteState::Starting;
		phaseStart_ = Clock::now();
		log::remote()->info("{}: adopting the core, already {}; waiting for its channels", alias_, word->word);
		schedulePoll();
		enterStarting("adopted", std::nullopt);
		return;
	case K::Detached:
		fire(RemoteEvent::KernelDetached, "the kernel reads detached");
		return;
	case K::Crashed:
		takeOverRecovery();
		setState(RemoteState::Crashed, "found crashed");
		onFailure("found crashed");
		return;
	case K::Offline:
		if (config_ && config_->autostart)
			start(std::nullopt, false, "autostart", [alias = alias_](Result<protocol::ActionReply> r) {
				if (!r && r.error().code == ESHUTDOWN)
					log::remote()->info("{}: autostart not followed up: ampd is exiting", alias);
				else if (!r)
					log::remote()->error("{}: autostart failed: {}", alias, r.error().context);
			});
		return;
	default:
		log::remote()->warn("{}: kernel state \"{}\" is not one ampd drives", alias_, word->word);
		return;
	}
}

// The configured restart policy decides what a crash leads to, not the
// kernel: with recovery enabled the kernel would reboot the core behind our
// back (and `never` would mean nothing). A short sysfs write, done on the loop.
void Remote::takeOverRecovery()
{
	if (!config_ || recoveryTaken_)
		return;
	auto rp = kernel::Remoteproc::open(ctx_.root, index_);
	if (!rp)
		return;
	auto enabled = rp->recovery();
	if (!enabled || !*enabled)
		return; // absent, unreadable, or off already (then it stays off)
	if (auto r = rp->setRecovery(false); !r) {
		log::remote()->warn("{}: cannot disable the kernel's recovery: {}", alias_, r.error().message());
		return;
	}
	recoveryTaken_ = true;
	log::remote()->debug("{}: kernel recovery disabled while ampd runs (restart policy: {})", alias_,
			     config_->restart.mode == RestartPolicy::Mode::Never ? "never" : "on-failure");
}

// ---- information ------------------------------------------------------------

protocol::RemoteInfo Remote::info() const
{
	protocol::RemoteInfo i;
	i.name = alias_;
	i.index = static_cast<uint32_t>(index_);
	i.kernelName = kernelName_;
	i.state = state_;
	i.firmware = firmware_;
	for (const auto &c : channels_)
		if (std::find(i.channels.begin(), i.channels.end(), c.service) == i.channels.end())
			i.channels.push_back(c.service);
	return i;
}

protocol::ChannelInfo Remote::channelInfo(const kernel::RpmsgChannel &c) const
{
	return protocol::ChannelInfo{alias_, c.service, c.localAddr(), c.remoteAddr()};
}

std::vector<protocol::ChannelInfo> Remote::channels() const
{
	std::vector<protocol::ChannelInfo> out;
	for (const auto &c : channels_)
		out.push_back(channelInfo(c));
	return out;
}

bool Remote::hasChannel(std::string_view service) const
{
	return findChannel(service) != nullptr;
}

const kernel::RpmsgChannel *Remote::findChannel(std::string_view service) const
{
	auto it = std::find_if(channels_.begin(), channels_.end(), [&](const auto &c) { return c.service == service; });
	return it == channels_.end() ? nullptr : &*it;
}

protocol::ActionReply Remote::reply(const std::string &detail) const
{
	return protocol::ActionReply{alias_, state_, detail};
}

std::string Remote::elapsed() const
{
	return ms(std::chrono::duration_cast<Millis>(Clock::now() - phaseStart_));
}

std::string Remote::channelList(const std::vector<std::string> &names) const
{
	std::string s;
	for (size_t i = 0; i < names.size(); i++)
		s += (i ? ", \"" : "\"") + names[i] + "\"";
	return s;
}

// ---- channels -----------------------------------------------------------------

void Remote::setChannels(std::vector<kernel::RpmsgChannel> channels)
{
	auto key = [](const kernel::RpmsgChannel &c) { return c.device; };
	auto contains = [&](const std::vector<kernel::RpmsgChannel> &set, const kernel::RpmsgChannel &c) {
		return std::any_of(set.begin(), set.end(), [&](const auto &o) { return key(o) == key(c); });
	};
	std::vector<kernel::RpmsgChannel> old = std::exchange(channels_, std::move(channels));
	bool changed = false;
	auto publish = [&](const kernel::RpmsgChannel &c, bool up) {
		changed = true;
		log::ScopedFields fields{{"REMOTE", alias_}, {"CHANNEL", c.service}};
		log::rpmsg()->info("{}: channel \"{}\" {} ({})", alias_, c.service, up ? "up" : "down", c.device);
		ctx_.publish(protocol::ChannelEvent{up, channelInfo(c)});
	};
	for (const auto &c : old)
		if (!contains(channels_, c))
			publish(c, false);
	for (const auto &c : channels_)
		if (!contains(old, c))
			publish(c, true);
	if (!changed)
		return;
	ctx_.changed();

	switch (state_) {
	case RemoteState::Starting:
		evaluateStarting();
		break;
	case RemoteState::RunningDegraded:
		if (expectKnown_ && expectationMet() && (!expect_.names.empty() || expect_.any))
			fire(RemoteEvent::Up, "channel " + channelList(upChannels()) + " up");
		break;
	case RemoteState::Running:
	case RemoteState::Attached:
		if (expectKnown_ && !expectationMet()) {
			std::string why = "channel " + missingChannels() + " vanished";
			fire(RemoteEvent::ChannelLost, why);
			onFailure(why);
		}
		break;
	case RemoteState::Stopping:
		if (awaitingTeardown_ && !hasChannel(teardownChannel_)) {
			awaitingTeardown_ = false;
			writeStop("the remote acknowledged the shutdown message: channel \"" + teardownChannel_ +
				  "\" gone after " + elapsed());
		}
		break;
	default:
		break;
	}
}

void Remote::setExpectation(const std::optional<kernel::FirmwareReport> &report)
{
	expect_ = {};
	if (config_ && !config_->channels.empty())
		expect_.names = config_->channels;
	if (report && !report->rpmsg()) {
		expect_.none = "the firmware has no rpmsg VDEV";
	} else if (report && !report->nameService) {
		expect_.none = "the firmware's rpmsg VDEV announces no channels";
	} else if (expect_.names.empty()) {
		expect_.any = true;
	}
	expectKnown_ = true;
}

bool Remote::expectationMet() const
{
	for (const auto &n : expect_.names)
		if (!hasChannel(n))
			return false;
	return !expect_.any || !channels_.empty();
}

// What an "up" names: the expected channels, or the first that came.
std::vector<std::string> Remote::upChannels() const
{
	return expect_.names.empty() ? std::vector<std::string>{channels_.front().service} : expect_.names;
}

std::string Remote::missingChannels() const
{
	std::vector<std::string> missing;
	for (const auto &n : expect_.names)
		if (!hasChannel(n))
			missing.push_back(n);
	if (missing.empty())
		return expect_.any ? "(any)" : "";
	return channelList(missing);
}

// ---- start --------------------------------------------------------------------

void Remote::start(std::optional<std::string> firmware, bool join, const std::string &who, Completion done)
{
	if (join && (state_ == RemoteState::Loading || state_ == RemoteState::Starting)) {
		startWaiters_.push_back(std::move(done));
		return;
	}
	if (join && (state_ == RemoteState::Running || state_ == RemoteState::Attached)) {
		done(reply("already " + std::string(protocol::toString(state_))));
		return;
	}
	if (!requestAllowed(Request::Start, state_)) {
		done(unexpected(EBUSY, refusal(alias_, state_, Request::Start)));
		return;
	}
	if (firmware) {
		if (auto e = kernel::checkFirmwareName(*firmware); !e) {
			done(unexpected(e.error()));
			return;
		}
	}
	startWaiters_.push_back(std::move(done));
	beginStart(std::move(firmware), "start requested by " + who);
}

void Remote::beginStart(std::optional<std::string> firmware, const std::string &reason)
{
	RemoteState from = state_;
	if (!fire(RemoteEvent::Start, reason)) {
		finishStart(unexpected(EBUSY, refusal(alias_, state_, Request::Start)));
		return;
	}
	restartTimer_.reset();
	phaseStart_ = Clock::now();
	std::string name = firmware ? *firmware : config_ && config_->firmware ? *config_->firmware : std::string();
	takeOverRecovery();
	SysfsRoot root = ctx_.root;
	int index = index_;

	enum class Kind { Load, Attach, Recover } kind = from == RemoteState::Detached ? Kind::Attach
							 : from == RemoteState::Crashed ? Kind::Recover
											 : Kind::Load;
	if (kind == Kind::Recover && firmware && *firmware != firmware_)
		kind = Kind::Load; // a new image: stop the crashed core, then load
	ctx_.worker.submit([=, this_ = guard([this](JobOutcome o) { onStartJobDone(std::move(o)); })]() mutable
				   -> std::function<void()> {
		JobOutcome out;
		auto finish = [&]() -> std::function<void()> {
			return [cb = std::move(this_), o = std::move(out)]() mutable { cb(std::move(o)); };
		};
		auto rp = kernel::Remoteproc::open(root, index);
		if (!rp) {
			out.result = unexpected(rp.error());
			return finish();
		}
		auto inspect = [&](const std::string &fw) -> Result<void> {
			auto found = kernel::inspectFirmwareByName(root, fw);
			if (!found)
				return unexpected(std::move(found).error());
			out.report = std::move(found->report);
			return {};
		};
		if (kind == Kind::Load) {
			if (name.empty()) {
				auto current = rp->firmware();
				if (current)
					name = *current;
			}
			if (name.empty()) {
				out.result = unexpected(EINVAL, "no firmware given, configured or set in the kernel");
				return finish();
			}
			if (auto r = inspect(name); !r) {
				out.result = r;
				return finish();
			}
			if (out.report->verdict == kernel::FirmwareVerdict::Refuse ||
			    out.report->verdict == kernel::FirmwareVerdict::Unsafe) {
				out.result = unexpected(ENOEXEC, "firmware \"" + name + "\" refused before touching the core: " +
									 out.report->reason);
				return finish();
			}
			auto word = rp->state();
			if (word && word->state == kernel::RprocState::Crashed) {
				// A new image for a crashed core: stop it first (5.19+
				// accepts that; older kernels say EINVAL, reported).
				out.touchedCore = true;
				if (auto r = rp->stop(); !r) {
					out.result = unexpected(
						r.error().code,
						r.error().code == EINVAL
							? "this kernel cannot stop a crashed core (before 5.19), so it cannot load "
							  "another image into it: start it again with its own firmware (the kernel "
							  "recovers it), then stop it and start the new one"
							: kernel::describeStopError(r.error().code));
					if (auto w = rp->state())
						out.kernelState = *w;
					return finish();
				}
			}
			out.touchedCore = true;
			if (auto r = rp->setFirmware(name); !r) {
				out.result = unexpected(r.error().code, "write firmware \"" + name + "\": " +
									 kernel::describeFirmwareWriteError(r.error().code));
				return finish();
			}
		} else if (kind == Kind::Recover) {
			// Only to learn which channels to wait for; the kernel
			// reboots what it has loaded before.
			if (auto current = rp->firmware(); current && !current->empty())
				(void)inspect(*current);
		}
		auto recovery = rp->recovery();
		out.touchedCore = true;
		Result<void> r;
		if (kind == Kind::Recover) {
			// `recover` reboots in one write; without the attribute
			// (before 5.13... vendor kernels), stop and start.
			if (recovery) {
				r = rp->recover();
			} else {
				r = rp->stop();
				if (r)
					r = rp->writeStart();
			}
		} else {
			r = rp->start();
		}
		if (!r)
			out.result = unexpected(r.error().code, r.error().code == kernel::kStartShortWrite
									? "the kernel refused the start: " + kernel::describeStartError(r.error().code)
									: kernel::describeStartError(r.error().code));
		if (auto fw = rp->firmware())
			out.firmware = *fw;
		if (auto w = rp->state())
			out.kernelState = *w;
		return finish();
	});
}

void Remote::onStartJobDone(JobOutcome outcome)
{
	if (!outcome.firmware.empty())
		firmware_ = outcome.firmware;
	if (state_ != RemoteState::Loading && state_ != RemoteState::Starting)
		return; // something else (a crash seen by the poll) already decided
	if (!outcome.result) {
		Error e = outcome.result.error();
		if (state_ == RemoteState::Loading && outcome.kernelState.state == kernel::RprocState::Crashed) {
			// The start of a crashed core failed and left it as it was:
			// it is crashed (a start of its own image recovers it), not in
			// error. No restart: the failure is the client's answer.
			kernelState_ = outcome.kernelState;
			fire(RemoteEvent::Crash, "still crashed: " + e.context);
			finishStart(unexpected(e));
			return;
		}
		if (state_ == RemoteState::Loading)
			fire(outcome.touchedCore ? RemoteEvent::StartFailed : RemoteEvent::FirmwareRefused, e.context);
		else
			fire(RemoteEvent::KernelOffline, e.context);
		finishStart(unexpected(e));
		return;
	}
	if (outcome.report)
		for (const auto &w : outcome.report->warnings)
			log::remote()->info("{}: firmware \"{}\": {}", alias_, outcome.firmware, w);
	kernelState_ = outcome.kernelState;
	if (state_ == RemoteState::Loading)
		fire(RemoteEvent::StartWritten, "start written (" + elapsed() + "); waiting for the channels");
	enterStarting("", outcome.report);
}

void Remote::enterStarting(const std::string &reason, std::optional<kernel::FirmwareReport> report)
{
	if (state_ != RemoteState::Starting) {
		if (!fire(RemoteEvent::KernelRunning, reason))
			return;
		phaseStart_ = Clock::now();
		takeOverRecovery();
	}
	expectKnown_ = false;
	auto t = ctx_.loop.addTimer(timings_.startToChannel, guard([this] { onStartDeadline(); }));
	if (t)
		deadline_ = std::move(*t);
	if (report) {
		setExpectation(report);
		ctx_.rescanChannels();
		evaluateStarting();
	} else {
		inspectRunningFirmware();
	}
}

// A core found running (adopted, started by hand, recovered by the
// kernel): its firmware file says whether a channel should come.
void Remote::inspectRunningFirmware()
{
	SysfsRoot root = ctx_.root;
	std::string fw = firmware_;
	int index = index_;
	ctx_.worker.submit([=, cb = guard([this](std::optional<kernel::FirmwareReport> r, std::string name) {
				    if (!name.empty())
					    firmware_ = name;
				    if (state_ != RemoteState::Starting)
					    return;
				    setExpectation(r);
				    ctx_.rescanChannels();
				    evaluateStarting();
			    })]() mutable -> std::function<void()> {
		std::optional<kernel::FirmwareReport> report;
		std::string name = fw;
		if (auto rp = kernel::Remoteproc::open(root, index))
			if (auto f = rp->firmware())
				name = *f;
		if (auto found = kernel::inspectFirmwareByName(root, name))
			report = std::move(found->report);
		return [cb = std::move(cb), report = std::move(report), name]() mutable { cb(std::move(report), name); };
	});
}

void Remote::evaluateStarting()
{
	if (state_ != RemoteState::Starting || !expectKnown_)
		return;
	bool attached = kernelState_.state == kernel::RprocState::Attached;
	if (kernelState_.state != kernel::RprocState::Running && !attached)
		return;
	if (!expect_.none.empty() && !expect_.names.empty()) {
		// Configured channels, but a firmware that cannot announce them.
		fire(RemoteEvent::ChannelDeadline, expect_.none + ": channel " + channelList(expect_.names) +
							   " will never appear");
		finishStart(reply("running without channel " + channelList(expect_.names) + ": " + expect_.none));
		return;
	}
	std::string detail;
	if (!expect_.none.empty())
		detail = expect_.none + ", no channel expected";
	else if (!expectationMet())
		return;
	else
		detail = "channel " + channelList(upChannels()) + " up after " + elapsed();
	fire(attached ? RemoteEvent::UpAttached : RemoteEvent::Up, detail);
	finishStart(reply(detail));
}

void Remote::onStartDeadline()
{
	deadline_.reset();
	if (state_ != RemoteState::Starting)
		return;
	poke();
	ctx_.rescanChannels();
	if (state_ != RemoteState::Starting)
		return;
	std::string why = expectKnown_ ? "channel " + missingChannels() + " did not appear within " +
						 ms(timings_.startToChannel)
				       : "the firmware could not be inspected within " + ms(timings_.startToChannel);
	if (kernelState_.state != kernel::RprocState::Running && kernelState_.state != kernel::RprocState::Attached) {
		fire(RemoteEvent::KernelOffline, "the core is " + kernelState_.word + ", not running, after " +
							ms(timings_.startToChannel));
		finishStart(unexpected(EIO, "remote " + alias_ + " did not come up: kernel state " + kernelState_.word));
		return;
	}
	// Not a failure for the restart policy: the client that asked is told
	// now, and a reboot would not make this firmware announce anything.
	fire(RemoteEvent::ChannelDeadline, why);
	finishStart(reply("running without its channel: " + why));
}

void Remote::finishStart(Result<protocol::ActionReply> result)
{
	for (auto &w : std::exchange(startWaiters_, {}))
		w(result);
}

// ---- stop ---------------------------------------------------------------------

void Remote::stop(bool graceful, const std::string &who, Completion done)
{
	if (state_ == RemoteState::Stopping) {
		stopWaiters_.push_back(std::move(done));
		return;
	}
	if (state_ == RemoteState::Offline) {
		done(reply("already offline"));
		return;
	}
	if (!requestAllowed(Request::Stop, state_)) {
		done(unexpected(EBUSY, refusal(alias_, state_, Request::Stop)));
		return;
	}
	stopWaiters_.push_back(std::move(done));
	beginStop(graceful, "stop requested by " + who);
}

void Remote::beginStop(bool graceful, const std::string &reason)
{
	bool crashed = state_ == RemoteState::Crashed;
	if (!fire(RemoteEvent::Stop, reason)) {
		finishStop(unexpected(EBUSY, refusal(alias_, state_, Request::Stop)));
		return;
	}
	restartTimer_.reset();
	phaseStart_ = Clock::now();
	if (crashed) {
		writeStop("stopped the crashed core");
		return;
	}
	if (!graceful) {
		writeStop("forced stop, no shutdown message");
		return;
	}
	if (!config_ || !config_->shutdown) {
		writeStop("stopped (no shutdown message configured)");
		return;
	}
	const ShutdownMessage &msg = *config_->shutdown;
	auto channel = std::find_if(channels_.begin(), channels_.end(),
				    [&](const auto &c) { return c.service == msg.channel; });
	if (channel == channels_.end()) {
		writeStop("channel \"" + msg.channel + "\" is not up: stopped without the shutdown message");
		return;
	}
	if (auto r = sendShutdownMessage(*channel); !r) {
		writeStop("shutdown message not sent (" + r.error().message() + "): forced stop");
		return;
	}
	awaitingTeardown_ = true;
	teardownChannel_ = msg.channel;
	log::remote()->info("{}: shutdown message sent on \"{}\"; waiting up to {} for the remote's teardown", alias_,
			    msg.channel, ms(timings_.shutdown));
	auto t = ctx_.loop.addTimer(timings_.shutdown, guard([this] {
		deadline_.reset();
		if (state_ != RemoteState::Stopping || !awaitingTeardown_)
			return;
		ctx_.rescanChannels();
		if (!awaitingTeardown_)
			return; // the rescan saw the channel go
		awaitingTeardown_ = false;
		writeStop("no teardown within " + ms(timings_.shutdown) + " of the shutdown message: forced stop");
	}));
	if (t)
		deadline_ = std::move(*t);
	else
		writeStop("cannot arm the shutdown deadline: forced stop");
}

// A short-lived endpoint of our own: the remote's teardown does not care
// who asked, and no client's stream is involved. It is closed, never
// destroyed: the message makes the remote tear its channel down at once,
// and on 5.10 the endpoint hangs off that channel, so a DESTROY_EPT
// after the send races the kernel's own removal of the node (a second
// device_del: an oops). Closing releases the kernel's endpoint and its
// address; the node goes with the channel (5.10) or with the stop that
// follows (5.15+).
Result<void> Remote::sendShutdownMessage(const kernel::RpmsgChannel &channel)
{
	auto node = kernel::findControlNode(ctx_.root, channel);
	if (!node)
		return unexpected(node.error());
	auto ctrl = kernel::RpmsgControl::open(ctx_.root, node->ctrl);
	if (!ctrl)
		return unexpected(ctrl.error());
	auto ept = ctrl->createEndpoint(channel.service, channel.remoteAddr());
	if (!ept)
		return unexpected(ept.error());
	const auto &bytes = config_->shutdown->bytes;
	auto sent = ept->send(bytes);
	ctrl->close();
	if (!sent)
		return unexpected(sent.error());
	return {};
}

void Remote::writeStop(const std::string &detail)
{
	awaitingTeardown_ = false;
	deadline_.reset();
	SysfsRoot root = ctx_.root;
	int index = index_;
	using Word = std::optional<kernel::RprocStateWord>;
	ctx_.worker.submit([=, cb = guard([this, detail](Result<void> r, Word after) {
				    if (state_ != RemoteState::Stopping)
					    return;
				    if (!r) {
					    if (after && after->state == kernel::RprocState::Crashed) {
						    // A core that crashed during the stop, on a
						    // kernel that cannot stop a crashed core (before
						    // 5.19: EINVAL): it is crashed, not in error; a
						    // start recovers it. No restart: a stop was asked.
						    kernelState_ = *after;
						    fire(RemoteEvent::Crash, "crashed during the stop, which the kernel refused: " +
										     r.error().context);
						    finishStop(unexpected(r.error()));
						    return;
					    }
					    fire(RemoteEvent::StopFailed, r.error().context);
					    finishStop(unexpected(r.error()));
					    // `error` is what the stop came to, not where the
					    // core is: a core the kernel still runs (the write
					    // failed, nothing stopped) is followed again, so it
					    // can be stopped, and watched for a crash.
					    if (after && (after->state == kernel::RprocState::Running ||
							  after->state == kernel::RprocState::Attached)) {
						    kernelState_ = *after;
						    enterStarting("the stop failed; the kernel still runs the core",
								  std::nullopt);
					    } else if (after) {
						    handleKernelState(*after);
					    }
					    return;
				    }
				    kernelState_ = {kernel::RprocState::Offline, "offline"};
				    fire(RemoteEvent::Stopped, detail);
				    finishStop(reply(detail));
			    })]() mutable -> std::function<void()> {
		Result<void> r;
		Word after;
		auto rp = kernel::Remoteproc::open(root, index);
		if (!rp) {
			r = unexpected(rp.error());
		} else if (auto s = rp->stop(); !s) {
			// Offline already (stopped behind our back): that is the goal.
			auto word = rp->state();
			if (!(word && word->state == kernel::RprocState::Offline)) {
				r = unexpected(s.error().code, kernel::describeStopError(s.error().code));
				if (word)
					after = *word;
			}
		}
		return [cb = std::move(cb), r, after]() mutable { cb(r, after); };
	});
}

void Remote::finishStop(Result<protocol::ActionReply> result)
{
	for (auto &w : std::exchange(stopWaiters_, {}))
		w(result);
}

void Remote::restart(std::optional<std::string> firmware, const std::string &who, Completion done)
{
	if (requestAllowed(Request::Start, state_)) {
		start(std::move(firmware), false, who, std::move(done));
		return;
	}
	if (!requestAllowed(Request::Restart, state_)) {
		done(unexpected(EBUSY, refusal(alias_, state_, Request::Restart)));
		return;
	}
	stop(true, who, guard([this, firmware, who, done](Result<protocol::ActionReply> r) mutable {
		if (!r) {
			done(std::move(r));
			return;
		}
		start(std::move(firmware), false, who, std::move(done));
	}));
}

// ---- failures and the restart policy --------------------------------------------

void Remote::onFailure(const std::string &why)
{
	if (!config_ || config_->restart.mode == RestartPolicy::Mode::Never) {
		log::remote()->warn("{}: {}; restart policy \"never\": left as it is", alias_, why);
		return;
	}
	const RestartPolicy &p = config_->restart;
	auto now = Clock::now();
	while (!restarts_.empty() && now - restarts_.front() > p.window)
		restarts_.pop_front();
	if (restarts_.size() >= p.maxRestarts) {
		log::ScopedFields fields{{"REMOTE", alias_}, {"STATE", protocol::toString(state_)}};
		log::remote()->error("{}: {}; restart limit reached ({} restarts within {}): left {}", alias_, why,
				     restarts_.size(), ms(p.window), protocol::toString(state_));
		ctx_.changed();
		return;
	}
	Millis delay = p.backoff;
	for (size_t i = 0; i < restarts_.size() && delay < p.backoffMax; i++)
		delay *= 2;
	delay = std::min(delay, std::max(p.backoff, p.backoffMax));
	restarts_.push_back(now);
	log::remote()->info("{}: {}; restart {} of {} in {}", alias_, why, restarts_.size(), p.maxRestarts, ms(delay));
	auto t = ctx_.loop.addTimer(delay, guard([this, why] { policyRestart(why); }));
	if (t)
		restartTimer_ = std::move(*t);
}

void Remote::policyRestart(const std::string &why)
{
	restartTimer_.reset();
	std::string reason = "restart policy after: " + why;
	auto logResult = [alias = alias_](Result<protocol::ActionReply> r) {
		if (!r)
			log::remote()->error("{}: policy restart failed: {}", alias, r.error().context);
	};
	if (state_ == RemoteState::Crashed) {
		startWaiters_.push_back(logResult);
		beginStart(std::nullopt, reason);
	} else if (state_ == RemoteState::RunningDegraded) {
		stopWaiters_.push_back(guard([this, reason, logResult](Result<protocol::ActionReply> r) {
			if (!r)
				return logResult(r);
			start(std::nullopt, false, "the restart policy", logResult);
		}));
		beginStop(false, reason);
	}
}

} // namespace amp::daemon
