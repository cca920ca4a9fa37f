// SPDX-License-Identifier: MIT
// The time an rpmsg message spends crossing the link between Linux and a
// remote core (`ampsim run --link`), and the accurate waits that model it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace ampsim {

// Each message crossing the link, in either direction, occupies that
// direction for baseUs + perByteUs * payload bytes; one message at a time
// per direction (one message per interrupt), visible to its receiver only
// once its transfer is over. Off: delivered at once, as the simulator always
// did.
struct LinkTiming {
	bool enabled = false;
	double baseUs = 0;
	double perByteUs = 0;

	// How long a message of `bytes` payload bytes occupies its direction,
	// rounded up to whole nanoseconds (so the model is never faster than
	// its figures).
	std::chrono::nanoseconds transfer(size_t bytes) const;
};

// A Zynq UltraScale+ Cortex-A53 <-> Cortex-R5 rpmsg link (OpenAMP echo over
// IPI and shared DDR): a 1-byte echo round trip takes about 33 us, a
// 490-byte one about 155 us. Half of each per direction:
// t(1) = 16.5 us, t(490) = 77.5 us, so
// perByteUs = 61/489 = 0.12474..., baseUs = 16.5 - 61/489 = 16.37525...
LinkTiming boardLink();

// "board" | "none"; nullopt for anything else.
std::optional<LinkTiming> linkByName(const std::string &name);
// "A,B": base A us per message, B us per payload byte (decimal, >= 0,
// A at most 1 s, B at most 10 ms). nullopt with `why` otherwise.
std::optional<LinkTiming> parseLinkUs(const std::string &text, std::string &why);
// "none", "board", or "A,B us" for messages.
std::string describe(const LinkTiming &link);

// For a thread that waits for link transfers: timer slack of 1 ns, so that
// its sleeps end when asked, not up to 50 us later (the default slack).
void setPreciseTimerSlack();

// Sleep until `deadline` (steady_clock), never returning before it: an
// absolute clock_nanosleep, woken a little early by the thread's measured
// wake-up latency, then at most a few microseconds of yielding spin. Long
// waits are cut into 1 ms sleeps so that `stop` is seen soon. True when the
// deadline passed, false when `stop` was set first.
bool sleepUntil(std::chrono::steady_clock::time_point deadline, const std::atomic<bool> &stop);

} // namespace ampsim
