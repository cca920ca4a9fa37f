// SPDX-License-Identifier: MIT
// ampctl events: follow state and channel events, one line each, until interrupted.
#include "ampctl.hpp"

namespace amp::cli {

int cmdEvents(const Context &ctx, const std::optional<std::string> &remote)
{
	if (auto bad = remote ? badName("remote", *remote) : std::nullopt)
		return usageError(ctx, *bad);
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, "events");
	if (auto sub = client->subscribe(remote); !sub)
		return reportError(ctx, sub.error(), Stage::Request, remote ? "events " + *remote : "events", client->lastReplyJson());

	catchInterrupts();
	while (!interrupted()) {
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
