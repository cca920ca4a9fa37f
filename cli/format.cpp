// SPDX-License-Identifier: MIT
// ampctl's human output: the list table, status detail, action outcomes and event lines.
#include "ampctl.hpp"

#include <algorithm>
#include <cstdio>

namespace amp::cli {

namespace {

std::string hex(std::uint64_t v)
{
	char buf[32];
	std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

std::string joinOr(const std::vector<std::string> &items, const char *none)
{
	if (items.empty())
		return none;
	std::string s;
	for (const auto &i : items)
		s += (s.empty() ? "" : ",") + i;
	return s;
}

// systemctl's marks: a filled dot for a core that is (becoming) active, a
// hollow one for an idle core, a cross for one that failed.
const char *mark(RemoteState state)
{
	switch (state) {
	case RemoteState::Offline:
	case RemoteState::Detached: return "○";
	case RemoteState::Crashed:
	case RemoteState::Error: return "×";
	default: return "●";
	}
}

} // namespace

std::string formatTable(const std::vector<RemoteInfo> &remotes)
{
	std::vector<std::vector<std::string>> rows = {{"REMOTE", "INDEX", "STATE", "FIRMWARE", "CHANNELS"}};
	for (const auto &r : remotes)
		rows.push_back({r.name, std::to_string(r.index), std::string(toString(r.state)), r.firmware.empty() ? "-" : r.firmware,
				joinOr(r.channels, "-")});
	std::vector<std::size_t> width(rows[0].size(), 0);
	for (const auto &row : rows)
		for (std::size_t i = 0; i < row.size(); ++i)
			width[i] = std::max(width[i], row[i].size());
	std::string out;
	for (const auto &row : rows) {
		std::string line;
		for (std::size_t i = 0; i < row.size(); ++i) {
			line += row[i];
			if (i + 1 < row.size())
				line += std::string(width[i] - row[i].size() + 2, ' ');
		}
		out += line + "\n";
	}
	return out;
}

std::string formatStatus(const RemoteInfo &r)
{
	std::string out = std::string(mark(r.state)) + " " + r.name + " - remoteproc" + std::to_string(r.index);
	if (!r.kernelName.empty())
		out += " (" + r.kernelName + ")";
	out += "\n";
	out += "     State: " + std::string(toString(r.state)) + "\n";
	out += "  Firmware: " + (r.firmware.empty() ? std::string("-") : r.firmware) + "\n";
	out += "  Channels: " + joinOr(r.channels, "-") + "\n";
	return out;
}

std::string formatAction(const ActionReply &reply)
{
	std::string out = reply.remote + ": " + std::string(toString(reply.state));
	if (!reply.detail.empty())
		out += " (" + reply.detail + ")";
	return out;
}

std::string formatEvent(const RemoteEvent &event)
{
	if (const auto *s = std::get_if<StateEvent>(&event)) {
		std::string out = s->remote + ": " + std::string(toString(s->from)) + " -> " + std::string(toString(s->to));
		if (!s->reason.empty())
			out += " (" + s->reason + ")";
		return out;
	}
	const auto &c = std::get<ChannelEvent>(event);
	return c.channel.remote + ": channel " + c.channel.channel + (c.up ? " up" : " down") + " (src " + hex(c.channel.src) +
	       ", dst " + hex(c.channel.dst) + ")";
}

} // namespace amp::cli
