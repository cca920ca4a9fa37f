// SPDX-License-Identifier: MIT
// ampctl's output: the list and channel tables, status detail, action outcomes, event lines, stream messages.
#include "ampctl.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

namespace {

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

// Columns two spaces apart, each as wide as its widest cell; the first
// row is the header.
std::string formatColumns(const std::vector<std::vector<std::string>> &rows)
{
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

// What listen shows as text: printable ASCII, tabs and line ends, and a
// C string's NUL at the end (firmware often sends strlen() + 1 bytes).
bool readsAsText(std::span<const std::uint8_t> m)
{
	if (!m.empty() && m.back() == 0)
		m = m.first(m.size() - 1);
	return std::all_of(m.begin(), m.end(), [](std::uint8_t b) { return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\n' || b == '\r'; });
}

std::string_view asChars(std::span<const std::uint8_t> m)
{
	return std::string_view(reinterpret_cast<const char *>(m.data()), m.size());
}

std::string hexBytes(std::span<const std::uint8_t> m, const char *separator)
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out;
	for (std::size_t i = 0; i < m.size(); ++i) {
		if (i)
			out += separator;
		out += digits[m[i] >> 4];
		out += digits[m[i] & 0xf];
	}
	return out;
}

nlohmann::json messageObject(std::span<const std::uint8_t> m)
{
	nlohmann::json j = {{"type", "message"}, {"size", m.size()}, {"hex", hexBytes(m, "")}};
	if (readsAsText(m))
		j["text"] = std::string(asChars(m));
	return j;
}

} // namespace

std::string hexNumber(std::uint64_t v)
{
	char buf[32];
	std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

std::string formatTable(const std::vector<RemoteInfo> &remotes)
{
	std::vector<std::vector<std::string>> rows = {{"REMOTE", "INDEX", "STATE", "FIRMWARE", "CHANNELS"}};
	for (const auto &r : remotes)
		rows.push_back({r.name, std::to_string(r.index), std::string(toString(r.state)), r.firmware.empty() ? "-" : r.firmware,
				joinOr(r.channels, "-")});
	return formatColumns(rows);
}

std::string formatChannels(const std::vector<ChannelInfo> &channels)
{
	std::vector<std::vector<std::string>> rows = {{"REMOTE", "CHANNEL", "SRC", "DST"}};
	for (const auto &c : channels)
		rows.push_back({c.remote, c.channel, hexNumber(c.src), hexNumber(c.dst)});
	return formatColumns(rows);
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
	return c.channel.remote + ": channel " + c.channel.channel + (c.up ? " up" : " down") + " (src " + hexNumber(c.channel.src) +
	       ", dst " + hexNumber(c.channel.dst) + ")";
}

std::string formatMessage(std::span<const std::uint8_t> message, MessageFormat format)
{
	if (format == MessageFormat::Hex || (format == MessageFormat::Auto && !readsAsText(message)))
		return hexBytes(message, " ");
	return protocol::printable(asChars(message), message.size() * 4);
}

std::string formatMessageLine(std::span<const std::uint8_t> message, MessageFormat format)
{
	std::string line = "[" + std::to_string(message.size()) + "]";
	if (!message.empty())
		line += " " + formatMessage(message, format);
	return line;
}

std::string messageJson(std::span<const std::uint8_t> message)
{
	return messageObject(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string formatStreamEvent(const StreamEvent &event)
{
	if (const auto *down = std::get_if<StreamDown>(&event))
		return "down: " + (down->reason.empty() ? std::string("the channel went down") : down->reason) +
		       (down->reattach ? " (waiting for the channel)" : "");
	if (const auto *up = std::get_if<StreamUp>(&event))
		return "up: src " + hexNumber(up->endpoint.src) + ", dst " + hexNumber(up->endpoint.dst);
	const auto &error = std::get<StreamError>(event);
	return "error: " + error.code + (error.message.empty() ? "" : " (" + error.message + ")");
}

std::string streamEventJson(const StreamEvent &event)
{
	auto text = protocol::encode(event);
	nlohmann::json j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json::object();
	if (!j.is_object())
		j = nlohmann::json::object();
	j["type"] = "event";
	return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sendJson(const ChannelInfo &endpoint, std::size_t sent, std::optional<std::span<const std::uint8_t>> reply)
{
	nlohmann::json j = {{"ok", true},	       {"remote", endpoint.remote}, {"channel", endpoint.channel},
			    {"src", endpoint.src}, {"dst", endpoint.dst},	    {"sent", sent}};
	if (reply)
		j["reply"] = messageObject(*reply);
	return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string formatPingSummary(const std::string &remote, const std::string &channel, const PingStats &stats)
{
	std::string out = "--- " + remote + " " + channel + " ping statistics ---\n";
	out += std::to_string(stats.sent) + " sent, " + std::to_string(stats.received) + " received, " + std::to_string(stats.lost()) +
	       " lost, " + std::to_string(stats.corrupt) + " corrupt\n";
	if (auto rtt = summarizeRtt(stats.rttUs))
		out += "rtt min/p50/p99/max = " + std::to_string(rtt->min) + "/" + std::to_string(rtt->p50) + "/" + std::to_string(rtt->p99) +
		       "/" + std::to_string(rtt->max) + " us\n";
	return out;
}

std::string pingSummaryJson(const std::string &remote, const std::string &channel, bool direct, std::size_t size, const PingStats &stats)
{
	nlohmann::json j = {{"remote", remote},		  {"channel", channel},		  {"direct", direct},
			    {"size", size},		  {"sent", stats.sent},		  {"received", stats.received},
			    {"lost", stats.lost()}, {"corrupt", stats.corrupt}, {"rtt_us", nullptr}};
	if (auto rtt = summarizeRtt(stats.rttUs))
		j["rtt_us"] = {{"min", rtt->min}, {"p50", rtt->p50}, {"p99", rtt->p99}, {"max", rtt->max}};
	return j.dump();
}

} // namespace amp::cli
