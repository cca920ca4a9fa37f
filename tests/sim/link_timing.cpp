// SPDX-License-Identifier: MIT
// Link timing (link_timing.h): the per-message cost and accurate waits.
#include "link_timing.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sched.h>
#include <sys/prctl.h>

namespace ampsim {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

// The published round trips of a 1-byte and a 490-byte echo, one way each.
constexpr double kBoardOneWay1 = 33.0 / 2;    // us
constexpr double kBoardOneWay490 = 155.0 / 2; // us

// At most this much of a wait is spent spinning (yielding) instead of
// sleeping: the machines are shared and benchmarks pin processes.
constexpr nanoseconds kMaxSpin{3000};
// Longer waits are slept in pieces, to notice `stop`.
constexpr nanoseconds kMaxSleep{1000000};
// Cap on the wake-up latency we compensate for: above that the thread was
// preempted, which says nothing about the next sleep.
constexpr nanoseconds kMaxLatency{50000};

bool parseNumber(const std::string &text, double max, double &value)
{
	if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos)
		return false;
	char *end = nullptr;
	errno = 0;
	value = std::strtod(text.c_str(), &end);
	return errno == 0 && end && *end == '\0' && std::isfinite(value) && value >= 0 && value <= max;
}

timespec toTimespec(Clock::time_point t)
{
	auto ns = std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
	return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

} // namespace

nanoseconds LinkTiming::transfer(size_t bytes) const
{
	if (!enabled)
		return nanoseconds(0);
	double ns = (baseUs + perByteUs * static_cast<double>(bytes)) * 1000.0;
	// Round up, but let float noise below a thousandth of a nanosecond
	// go (16.5 us must be 16500 ns, not 16501).
	return nanoseconds(static_cast<int64_t>(std::ceil(ns - 1e-3)));
}

LinkTiming boardLink()
{
	LinkTiming l;
	l.enabled = true;
	l.perByteUs = (kBoardOneWay490 - kBoardOneWay1) / (490 - 1);
	l.baseUs = kBoardOneWay1 - l.perByteUs;
	return l;
}

std::optional<LinkTiming> linkByName(const std::string &name)
{
	if (name == "board")
		return boardLink();
	if (name == "none")
		return LinkTiming{};
	return std::nullopt;
}

std::optional<LinkTiming> parseLinkUs(const std::string &text, std::string &why)
{
	auto comma = text.find(',');
	LinkTiming l;
	l.enabled = true;
	if (comma == std::string::npos || !parseNumber(text.substr(0, comma), 1e6, l.baseUs) ||
	    !parseNumber(text.substr(comma + 1), 1e4, l.perByteUs)) {
		why = "expected A,B: microseconds per message (0..1000000) and per byte (0..10000), e.g. 16.4,0.125";
		return std::nullopt;
	}
	return l;
}

std::string describe(const LinkTiming &link)
{
	if (!link.enabled)
		return "none";
	char buf[96];
	snprintf(buf, sizeof buf, "%.4f us + %.5f us/byte per message", link.baseUs, link.perByteUs);
	return buf;
}

void setPreciseTimerSlack()
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

bool sleepUntil(Clock::time_point deadline, const std::atomic<bool> &stop)
{
	// How long after its target this thread's sleeps end (timer interrupt
	// and wake-up; ~15 us in a VM, a few us on bare metal), smoothed: we
	// aim that much early. A target already past still costs that much,
	// which is why the measure is from max(target, call time).
	thread_local nanoseconds latency{0};
	for (;;) {
		if (stop.load(std::memory_order_relaxed))
			return false;
		auto now = Clock::now();
		if (now >= deadline)
			return true;
		auto left = deadline - now;
		if (left <= kMaxSpin) {
			while (Clock::now() < deadline)
				sched_yield();
			return true;
		}
		Clock::time_point target = left > kMaxSleep ? now + kMaxSleep : std::max(now, deadline - latency);
		timespec ts = toTimespec(target);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
		}
		auto late = std::clamp(std::chrono::duration_cast<nanoseconds>(Clock::now() - target), nanoseconds(0),
				       kMaxLatency);
		latency += (late - latency) / 8;
	}
}

} // namespace ampsim
