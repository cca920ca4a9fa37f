// SPDX-License-Identifier: MIT
// ampctl list and ampctl status: what ampd knows about the remotes.
#include "ampctl.hpp"

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

namespace {

// Both commands are one status request; they differ in how they print it.
int queryStatus(const Context &ctx, const std::optional<std::string> &remote, bool table)
{
	if (remote)
		if (auto problem = protocol::nameProblem(*remote))
			return usageError(ctx, "remote \"" + protocol::printable(*remote, 40) + "\" " + *problem);
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, "");
	auto remotes = client->status(remote);
	if (!remotes)
		return reportError(ctx, remotes.error(), Stage::Request, remote ? "status " + *remote : "status",
				   client->lastReplyJson());
	if (ctx.json) {
		*ctx.out << client->lastReplyJson() << "\n";
		return kExitOk;
	}
	if (table) {
		*ctx.out << formatTable(*remotes);
		return kExitOk;
	}
	for (std::size_t i = 0; i < remotes->size(); ++i)
		*ctx.out << (i ? "\n" : "") << formatStatus((*remotes)[i]);
	return kExitOk;
}

} // namespace

int cmdList(const Context &ctx)
{
	return queryStatus(ctx, std::nullopt, true);
}

int cmdStatus(const Context &ctx, const std::optional<std::string> &remote)
{
	return queryStatus(ctx, remote, false);
}

} // namespace amp::cli
