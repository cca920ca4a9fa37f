// SPDX-License-Identifier: MIT
// ampctl wait: until a remote is in a state or offers a channel, by events, never by polling.
#include "ampctl.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

bool waitSatisfied(const WaitTarget &target, const RemoteInfo &info)
{
	if (info.name != target.remote)
		return false;
	if (target.state)
		return info.state == *target.state;
	return target.channel && std::find(info.channels.begin(), info.channels.end(), *target.channel) != info.channels.end();
}

bool waitSatisfied(const WaitTarget &target, const RemoteEvent &event)
{
	if (const auto *s = std::get_if<StateEvent>(&event))
		return target.state && s->remote == target.remote && s->to == *target.state;
	const auto &c = std::get<ChannelEvent>(event);
	return target.channel && c.up && c.channel.remote == target.remote && c.channel.channel == *target.channel;
}

namespace {

std::string describeTarget(const WaitTarget &t)
{
	if (t.state)
		return t.remote + " to be " + std::string(toString(*t.state));
	return "channel " + *t.channel + " of " + t.remote;
}

int satisfied(const Context &ctx, const WaitTarget &t)
{
	if (ctx.json) {
		nlohmann::json j = {{"ok", true}, {"remote", t.remote}};
		if (t.state)
			j["state"] = toString(*t.state);
		else
			j["channel"] = *t.channel;
		*ctx.out << j.dump() << "\n";
	}
	return kExitOk;
}

} // namespace

int cmdWait(const Context &ctx, const std::string &remote, const std::optional<std::string> &state,
	    const std::optional<std::string> &channel, std::chrono::milliseconds timeout)
{
	if (state && channel)
		return usageError(ctx, "wait takes a STATE or --channel NAME, not both");
	if (!state && !channel)
		return usageError(ctx, "wait needs a STATE or --channel NAME");
	if (auto bad = badName("remote", remote))
		return usageError(ctx, *bad);
	WaitTarget target{remote, std::nullopt, channel};
	if (state) {
		target.state = parseRemoteState(*state);
		if (!target.state) {
			static constexpr std::string_view names[] = {"offline", "loading", "starting", "running", "running-degraded",
								      "stopping", "crashed", "attached", "detached", "error"};
			std::string message = "unknown state \"" + protocol::printable(*state, 40) + "\"";
			if (auto near = protocol::closestMatch(*state, names))
				message += " (did you mean " + *near + "?)";
			return usageError(ctx, message);
		}
	} else if (auto bad = badName("channel", *channel)) {
		return usageError(ctx, *bad);
	}

	auto deadline = std::chrono::steady_clock::now() + timeout;
	const std::string what = "wait for " + describeTarget(target);
	auto client = Client::connect(ctx.socket, ctx.clientName, timeout);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, what);
	// Subscribe before asking: a change between the two is then an event
	// we get, not one that falls into a gap.
	if (auto sub = client->subscribe(remote); !sub)
		return reportError(ctx, sub.error(), Stage::Request, what, client->lastReplyJson());
	auto now = client->status(remote);
	if (!now)
		return reportError(ctx, now.error(), Stage::Request, what, client->lastReplyJson());
	// Events queued before the status reply are already in it.
	client->discardEvents();
	std::string lastState = now->empty() ? "unknown" : std::string(toString(now->front().state));
	for (const auto &info : *now)
		if (waitSatisfied(target, info))
			return satisfied(ctx, target);

	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		auto event = client->nextEvent(std::max(left, std::chrono::milliseconds(0)));
		if (!event) {
			Error e = event.error();
			if (e.code == EINTR)
				continue;
			if (e.code == ETIMEDOUT) {
				char seconds[32];
				std::snprintf(seconds, sizeof(seconds), "%g", static_cast<double>(timeout.count()) / 1000);
				e.context = "timed out after " + std::string(seconds) + " s (" + remote + " is " + lastState + ")";
			}
			return reportError(ctx, e, Stage::Request, what);
		}
		if (const auto *s = std::get_if<StateEvent>(&*event); s && s->remote == remote)
			lastState = toString(s->to);
		if (waitSatisfied(target, *event))
			return satisfied(ctx, target);
	}
}

} // namespace amp::cli
