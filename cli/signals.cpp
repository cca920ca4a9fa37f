// SPDX-License-Identifier: MIT
// Ctrl-C ends a follow (events, listen, ping) normally: the wait returns EINTR and the command looks here.
#include "ampctl.hpp"

#include <csignal>

namespace amp::cli {

namespace {

volatile std::sig_atomic_t caught = 0;

void onSignal(int)
{
	caught = 1;
}

} // namespace

void catchInterrupts()
{
	caught = 0;
	// Without SA_RESTART the signal interrupts the wait (poll, nanosleep),
	// which returns EINTR, and the loop looks at interrupted(). A signal
	// landing just before the wait begins is only seen when the wait ends;
	// with SA_RESETHAND a second Ctrl-C then ends ampctl the usual way.
	struct sigaction sa = {};
	sa.sa_handler = onSignal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted()
{
	return caught != 0;
}

} // namespace amp::cli
