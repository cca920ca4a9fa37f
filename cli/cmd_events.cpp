// SPDX-License-Identifier: MIT
// ampctl events: follow state and channel events, one line each, until interrupted.
#include "ampctl.hpp"

#include <csignal>

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void onSignal(int)
{
	interrupted = 1;
}

} // namespace

int cmdEvents(const Context &ctx, const std::optional<std::string> &remote)
{
	if (remote)
		if (auto problem = protocol::nameProblem(*remote))
			return usageError(ctx, "remote \"" + protocol::printable(*remote, 40) + "\" " + *problem);
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, "events");
	if (auto sub = client->subscribe(remote); !sub)
		return reportError(ctx, sub.error(), Stage::Request, remote ? "events " + *remote : "events", client->lastReplyJson());

	// Ctrl-C ends a follow normally (exit 0): without SA_RESTART the signal
	// interrupts the wait, which returns EINTR, and the loop looks here.
	struct sigaction sa = {};
	sa.sa_handler = onSignal;
	// A signal landing just before the wait begins is only seen at the next
	// event; with SA_RESETHAND a second Ctrl-C then ends ampctl the usual way.
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
	while (!interrupted) {
		std::string json;
		auto event = client->nextEvent(std::chrono::milliseconds(-1), &json);
		if (!event) {
			if (event.error().code == EINTR)
				continue;
			return reportError(ctx, event.error(), Stage::Request, "events");
		}
		// Flushed line by line: the reader is often a pipe (grep, a test).
		*ctx.out << (ctx.json ? json : formatEvent(*event)) << std::endl;
	}
	return kExitOk;
}

} // namespace amp::cli
