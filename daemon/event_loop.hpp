// SPDX-License-Identifier: MIT
// The daemon's one sd-event loop, and move-only owners of its event sources.
//
// Every source is owned by the object whose callback it runs (a Session owns
// its I/O source, a Remote its timers), so destroying the object removes the
// source and a callback can never reach a dead object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/result.h"

typedef struct sd_event sd_event;
typedef struct sd_event_source sd_event_source;

namespace amp::daemon {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// One registered source; disabling and unref'ing on destruction or reset().
class EventSource {
public:
	EventSource() = default;
	~EventSource() { reset(); }
	EventSource(EventSource &&other) noexcept;
	EventSource &operator=(EventSource &&other) noexcept;
	EventSource(const EventSource &) = delete;
	EventSource &operator=(const EventSource &) = delete;

	bool active() const { return source_ != nullptr; }
	void reset();
	// Stop dispatching but keep the source (and its callback) alive.
	void disable();
	// I/O sources: change the epoll events watched (EPOLLIN, EPOLLOUT...).
	[[nodiscard]] Result<void> setIoEvents(uint32_t events);

	// What the C callbacks get as userdata. A callback may destroy its
	// own source (a timer that re-arms or cancels itself): the callbacks
	// then outlive it until the call returns (`running`, `orphaned`).
	struct Callbacks {
		std::function<void(uint32_t)> io;
		std::function<void()> plain;
		int running = 0;
		bool orphaned = false;
	};

private:
	friend class EventLoop;
	EventSource(sd_event_source *source, std::unique_ptr<Callbacks> callbacks);

	sd_event_source *source_ = nullptr;
	std::unique_ptr<Callbacks> callbacks_; // the userdata the source points to
};

class EventLoop {
public:
	[[nodiscard]] static Result<std::unique_ptr<EventLoop>> create();
	~EventLoop();
	EventLoop(const EventLoop &) = delete;
	EventLoop &operator=(const EventLoop &) = delete;

	sd_event *get() const { return event_; }

	// `fd` stays owned by the caller; the callback gets epoll's revents.
	[[nodiscard]] Result<EventSource> addIo(int fd, uint32_t events, std::function<void(uint32_t revents)> callback);
	// One shot, on CLOCK_MONOTONIC, `after` from now; sd-event may coalesce
	// it with other wake-ups within `accuracy`.
	[[nodiscard]] Result<EventSource> addTimer(std::chrono::microseconds after, std::function<void()> callback,
						   std::chrono::microseconds accuracy = Millis(1));
	// Runs on the next loop iteration (after the current callback returns).
	[[nodiscard]] Result<EventSource> addDefer(std::function<void()> callback);
	// `signal` must be blocked in every thread already (sd_event_add_signal).
	[[nodiscard]] Result<EventSource> addSignal(int signal, std::function<void()> callback);
	// WATCHDOG=1 from the loop itself at half of $WATCHDOG_USEC, when the
	// service manager asked for it: a stuck loop stops the pings.
	[[nodiscard]] Result<bool> enableWatchdog();

	[[nodiscard]] Result<int> run();
	void exit(int code);

private:
	explicit EventLoop(sd_event *event) : event_(event) {}
	sd_event *event_;
};

} // namespace amp::daemon
