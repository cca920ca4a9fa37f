// SPDX-License-Identifier: MIT
// sd-event wrappers: sources own their callbacks, errors come back as Result.
#include "event_loop.hpp"

#include <cstring>
#include <utility>

#include <systemd/sd-event.h>

namespace amp::daemon {

EventSource::EventSource(sd_event_source *source, std::unique_ptr<Callbacks> callbacks)
	: source_(source), callbacks_(std::move(callbacks))
{
}

EventSource::EventSource(EventSource &&other) noexcept
	: source_(std::exchange(other.source_, nullptr)), callbacks_(std::move(other.callbacks_))
{
}

EventSource &EventSource::operator=(EventSource &&other) noexcept
{
	if (this != &other) {
		reset();
		source_ = std::exchange(other.source_, nullptr);
		callbacks_ = std::move(other.callbacks_);
	}
	return *this;
}

void EventSource::reset()
{
	if (source_) {
		// Disable first: unref alone would leave a source the loop still
		// holds (a pending defer) pointing at freed callbacks.
		sd_event_source_set_enabled(source_, SD_EVENT_OFF);
		sd_event_source_unref(source_);
		source_ = nullptr;
	}
	if (callbacks_ && callbacks_->running) {
		callbacks_->orphaned = true; // freed by the call in progress
		(void)callbacks_.release();
	}
	callbacks_.reset();
}

void EventSource::disable()
{
	if (source_)
		sd_event_source_set_enabled(source_, SD_EVENT_OFF);
}

Result<void> EventSource::setIoEvents(uint32_t events)
{
	if (!source_)
		return unexpected(EBADF, "set the events of an inactive source");
	int r = sd_event_source_set_io_events(source_, events);
	if (r < 0)
		return unexpected(-r, "sd_event_source_set_io_events");
	return {};
}

Result<std::unique_ptr<EventLoop>> EventLoop::create()
{
	sd_event *event = nullptr;
	int r = sd_event_new(&event);
	if (r < 0)
		return unexpected(-r, "sd_event_new");
	return std::unique_ptr<EventLoop>(new EventLoop(event));
}

EventLoop::~EventLoop()
{
	sd_event_unref(event_);
}

namespace {

// A callback that throws would unwind through C; the daemon's callbacks do
// not throw (design.md), and this keeps a slip from becoming a crash.
template <typename F> int guarded(EventSource::Callbacks *cb, F &&f)
{
	cb->running++;
	try {
		f();
	} catch (...) {
	}
	if (--cb->running == 0 && cb->orphaned)
		delete cb;
	return 0;
}

int onIo(sd_event_source *, int, uint32_t revents, void *userdata)
{
	auto *cb = static_cast<EventSource::Callbacks *>(userdata);
	return guarded(cb, [&] { cb->io(revents); });
}

int onTime(sd_event_source *, uint64_t, void *userdata)
{
	auto *cb = static_cast<EventSource::Callbacks *>(userdata);
	return guarded(cb, [&] { cb->plain(); });
}

int onDefer(sd_event_source *, void *userdata)
{
	auto *cb = static_cast<EventSource::Callbacks *>(userdata);
	return guarded(cb, [&] { cb->plain(); });
}

int onSignal(sd_event_source *, const struct signalfd_siginfo *, void *userdata)
{
	auto *cb = static_cast<EventSource::Callbacks *>(userdata);
	return guarded(cb, [&] { cb->plain(); });
}

} // namespace

Result<EventSource> EventLoop::addIo(int fd, uint32_t events, std::function<void(uint32_t)> callback)
{
	auto cbs = std::make_unique<EventSource::Callbacks>();
	cbs->io = std::move(callback);
	sd_event_source *s = nullptr;
	int r = sd_event_add_io(event_, &s, fd, events, onIo, cbs.get());
	if (r < 0)
		return unexpected(-r, "sd_event_add_io on fd " + std::to_string(fd));
	return EventSource(s, std::move(cbs));
}

Result<EventSource> EventLoop::addTimer(std::chrono::microseconds after, std::function<void()> callback,
				       std::chrono::microseconds accuracy)
{
	auto cbs = std::make_unique<EventSource::Callbacks>();
	cbs->plain = std::move(callback);
	sd_event_source *s = nullptr;
	uint64_t usec = after.count() > 0 ? static_cast<uint64_t>(after.count()) : 0;
	// 0 would mean sd-event's default (250 ms); 1 us is "as exact as it gets".
	uint64_t slack = accuracy.count() > 0 ? static_cast<uint64_t>(accuracy.count()) : 1;
	int r = sd_event_add_time_relative(event_, &s, CLOCK_MONOTONIC, usec, slack, onTime, cbs.get());
	if (r < 0)
		return unexpected(-r, "sd_event_add_time_relative");
	return EventSource(s, std::move(cbs));
}

Result<EventSource> EventLoop::addDefer(std::function<void()> callback)
{
	auto cbs = std::make_unique<EventSource::Callbacks>();
	cbs->plain = std::move(callback);
	sd_event_source *s = nullptr;
	int r = sd_event_add_defer(event_, &s, onDefer, cbs.get());
	if (r < 0)
		return unexpected(-r, "sd_event_add_defer");
	// One shot: a defer source fires on every iteration while enabled.
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return EventSource(s, std::move(cbs));
}

Result<EventSource> EventLoop::addSignal(int signal, std::function<void()> callback)
{
	auto cbs = std::make_unique<EventSource::Callbacks>();
	cbs->plain = std::move(callback);
	sd_event_source *s = nullptr;
	int r = sd_event_add_signal(event_, &s, signal, onSignal, cbs.get());
	if (r < 0)
		return unexpected(-r, std::string("sd_event_add_signal ") + strsignal(signal));
	return EventSource(s, std::move(cbs));
}

Result<bool> EventLoop::enableWatchdog()
{
	int r = sd_event_set_watchdog(event_, 1);
	if (r < 0)
		return unexpected(-r, "sd_event_set_watchdog");
	return r > 0;
}

Result<int> EventLoop::run()
{
	int r = sd_event_loop(event_);
	if (r < 0)
		return unexpected(-r, "sd_event_loop");
	return r;
}

void EventLoop::exit(int code)
{
	sd_event_exit(event_, code);
}

} // namespace amp::daemon
