// SPDX-License-Identifier: MIT
// ampctl start, stop and restart: ampd answers once the remote got where it was going.
#include "ampctl.hpp"

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

namespace {

// The reply is the outcome: print it, and succeed only when the remote
// ended where the action meant it to (running-degraded is not running).
template <typename Call>
int runAction(const Context &ctx, Action action, const std::string &remote, const std::optional<std::string> &firmware, Call call)
{
	// Checked here as the daemon would: a typo is a usage error (2), not a
	// refusal that reads like a failed start.
	if (auto bad = badName("remote", remote))
		return usageError(ctx, *bad);
	if (firmware)
		if (auto problem = protocol::firmwareNameProblem(*firmware))
			return usageError(ctx, "firmware \"" + protocol::printable(*firmware, 40) + "\" " + *problem);
	const std::string what = std::string(actionName(action)) + " " + remote;
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, what);
	auto reply = call(*client);
	if (!reply)
		return reportError(ctx, reply.error(), Stage::Request, what, client->lastReplyJson());
	bool ok = actionSucceeded(action, reply->state);
	if (ctx.json)
		*ctx.out << client->lastReplyJson() << "\n";
	else if (ok)
		*ctx.out << formatAction(*reply) << "\n";
	if (!ok)
		*ctx.err << "ampctl: " << what << " failed: " << formatAction(*reply) << "\n";
	return ok ? kExitOk : kExitFailed;
}

} // namespace

int cmdStart(const Context &ctx, const StartArgs &args)
{
	return runAction(ctx, Action::Start, args.remote, args.firmware, [&](Client &c) {
		return c.start(args.remote, StartOptions{args.firmware, args.wait}, args.timeout);
	});
}

int cmdStop(const Context &ctx, const std::string &remote, bool force, std::chrono::milliseconds timeout)
{
	return runAction(ctx, Action::Stop, remote, std::nullopt, [&](Client &c) { return c.stop(remote, !force, timeout); });
}

int cmdRestart(const Context &ctx, const std::string &remote, const std::optional<std::string> &firmware,
	       std::chrono::milliseconds timeout)
{
	return runAction(ctx, Action::Restart, remote, firmware, [&](Client &c) { return c.restart(remote, firmware, timeout); });
}

} // namespace amp::cli
