// SPDX-License-Identifier: MIT
// ampctl list, status and channels: what ampd knows about the remotes and their channels.
#include "ampctl.hpp"

namespace amp::cli {

namespace {

// Both commands are one status request; they differ in how they print it.
int queryStatus(const Context &ctx, const std::optional<std::string> &remote, bool table)
{
	if (auto bad = remote ? badName("remote", *remote) : std::nullopt)
		return usageError(ctx, *bad);
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

int cmdChannels(const Context &ctx, const std::optional<std::string> &remote)
{
	if (auto bad = remote ? badName("remote", *remote) : std::nullopt)
		return usageError(ctx, *bad);
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, "");
	auto channels = client->channels(remote);
	if (!channels)
		return reportError(ctx, channels.error(), Stage::Request, remote ? "channels " + *remote : "channels",
				   client->lastReplyJson());
	*ctx.out << (ctx.json ? client->lastReplyJson() + "\n" : formatChannels(*channels));
	return kExitOk;
}

} // namespace amp::cli
