// SPDX-License-Identifier: MIT
// A burst-per-interval limiter for log lines a remote can cause, so a hostile one cannot flood the journal.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

namespace amp::proxy {

struct RateLimit {
	unsigned burst = 20;                      // lines per interval
	std::chrono::milliseconds interval{10000};
};

// Like journald's own limit: an interval starts with the first line; past
// `burst` lines in it the rest are counted, not written, and the first line
// of a later interval says how many were left out.
class RateLimiter {
public:
	using Clock = std::chrono::steady_clock;
	explicit RateLimiter(RateLimit limit = {}) : limit_(limit) {}

	// Whether one more line may be written at `now`.
	bool allow(Clock::time_point now = Clock::now())
	{
		if (!started_ || now - windowStart_ >= limit_.interval) {
			started_ = true;
			windowStart_ = now;
			used_ = 0;
		}
		if (used_ < limit_.burst) {
			used_++;
			return true;
		}
		suppressed_++;
		total_++;
		return false;
	}
	// Lines left out since the last call (to say so on the next line written).
	uint64_t takeSuppressed() { return suppressed_ ? std::exchange(suppressed_, 0) : 0; }
	uint64_t totalSuppressed() const { return total_; }

private:
	RateLimit limit_;
	Clock::time_point windowStart_{};
	bool started_ = false;
	unsigned used_ = 0;
	uint64_t suppressed_ = 0;
	uint64_t total_ = 0;
};

} // namespace amp::proxy
