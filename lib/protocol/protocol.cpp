// SPDX-License-Identifier: MIT
// The control-socket wire format: JSON <-> typed messages, every field checked, nothing thrown.
#include "protocol/protocol.hpp"

#include <algorithm>
#include <cerrno>
#include <new>

#include <nlohmann/json.hpp>

#include "protocol/text.hpp"

namespace amp::protocol {

namespace {

using json = nlohmann::json;

constexpr std::string_view kRequestNames[] = {"hello", "status", "start", "stop", "restart", "subscribe", "inspect", "channels", "open"};
constexpr std::string_view kStateNames[] = {"offline", "loading", "starting", "running", "running-degraded",
					    "stopping", "crashed", "attached", "detached", "error"};
constexpr std::string_view kLevelNames[] = {"info", "warning", "error"};

template <std::size_t N> std::string oneOf(const std::string_view (&names)[N])
{
	std::string out;
	for (std::size_t i = 0; i < N; ++i) {
		if (i)
			out += ", ";
		out += names[i];
	}
	return out;
}

// A human name for what a peer sent, for "expected X, got Y".
std::string kindOf(const json &v)
{
	switch (v.type()) {
	case json::value_t::null: return "null";
	case json::value_t::boolean: return "a boolean";
	case json::value_t::number_integer: return v.get<std::int64_t>() < 0 ? "a negative integer" : "an integer";
	case json::value_t::number_unsigned: return "an integer";
	case json::value_t::number_float: return "a fractional number";
	case json::value_t::string: return "a string";
	case json::value_t::array: return "an array";
	case json::value_t::object: return "an object";
	default: return "a binary value";
	}
}

Unexpected<Error> invalid(const std::string &path, const std::string &problem)
{
	return unexpected(EINVAL, path + ": " + problem);
}

std::string join(const std::string &path, std::string_view key)
{
	return path + "." + std::string(key);
}

const json *member(const json &obj, std::string_view key)
{
	auto it = obj.find(std::string(key));
	// null reads as absent: optional fields may be spelled out as null.
	return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// ---- field readers: `path` names the object ("start", "remotes[1]") ----

enum class StringKind {
	Name,     // remote / channel name
	Firmware, // a name relative to the firmware search path
	Path,     // a firmware name or an absolute path
	Text,     // free text
	Code,     // an errno name
};

std::optional<std::string> stringProblem(std::string_view s, StringKind kind)
{
	if (kind == StringKind::Name)
		return nameProblem(s);
	if (s.find('\0') != std::string_view::npos)
		return "contains a NUL byte at offset " + std::to_string(s.find('\0'));
	switch (kind) {
	case StringKind::Text:
		if (s.size() > kMaxText)
			return "is " + std::to_string(s.size()) + " bytes long (at most " + std::to_string(kMaxText) + ")";
		return std::nullopt;
	case StringKind::Code:
		if (s.size() < 2 || s.size() > kMaxName || s[0] != 'E' ||
		    !std::all_of(s.begin() + 1, s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }))
			return "is \"" + printable(s, 40) + "\" (expected an errno name like \"EBUSY\")";
		return std::nullopt;
	default: break;
	}
	if (s.empty())
		return "is empty";
	if (s.size() > kMaxPath)
		return "is " + std::to_string(s.size()) + " bytes long (at most " + std::to_string(kMaxPath) + ")";
	for (std::size_t i = 0; i < s.size(); ++i)
		if (static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7f)
			return "contains control character " + hexByte(s[i]) + " at offset " + std::to_string(i);
	if (kind == StringKind::Firmware) {
		// The kernel reads whatever the name reaches as root: keep it inside the search path.
		if (s[0] == '/')
			return "is an absolute path (expected a name under the firmware search path)";
		std::size_t start = 0;
		while (start <= s.size()) {
			std::size_t end = std::min(s.find('/', start), s.size());
			if (s.substr(start, end - start) == "..")
				return "has a \"..\" component (expected a name under the firmware search path)";
			start = end + 1;
		}
	}
	return std::nullopt;
}

Result<std::optional<std::string>> optString(const json &obj, const std::string &path, std::string_view key, StringKind kind)
{
	const json *v = member(obj, key);
	if (!v)
		return std::optional<std::string>{};
	if (!v->is_string())
		return invalid(join(path, key), "expected a string, got " + kindOf(*v));
	const auto &s = v->get_ref<const std::string &>();
	if (auto problem = stringProblem(s, kind))
		return invalid(join(path, key), *problem);
	return std::optional<std::string>(s);
}

Result<std::string> reqString(const json &obj, const std::string &path, std::string_view key, StringKind kind)
{
	auto s = optString(obj, path, key, kind);
	if (!s)
		return unexpected(std::move(s).error());
	if (!*s)
		return invalid(join(path, key), "missing (expected a string)");
	return std::move(**s);
}

Result<std::optional<std::uint64_t>> optUint(const json &obj, const std::string &path, std::string_view key, std::uint64_t min,
					      std::uint64_t max)
{
	const json *v = member(obj, key);
	if (!v)
		return std::optional<std::uint64_t>{};
	std::string range = "an integer " + std::to_string(min) + ".." + std::to_string(max);
	if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0))
		return invalid(join(path, key), "expected " + range + ", got " + kindOf(*v));
	auto n = v->get<std::uint64_t>();
	if (n < min || n > max)
		return invalid(join(path, key), std::to_string(n) + " is out of range (expected " + range + ")");
	return std::optional<std::uint64_t>(n);
}

Result<std::uint64_t> reqUint(const json &obj, const std::string &path, std::string_view key, std::uint64_t min, std::uint64_t max)
{
	auto n = optUint(obj, path, key, min, max);
	if (!n)
		return unexpected(std::move(n).error());
	if (!*n)
		return invalid(join(path, key), "missing (expected an integer " + std::to_string(min) + ".." + std::to_string(max) + ")");
	return **n;
}

Result<bool> optBool(const json &obj, const std::string &path, std::string_view key, bool fallback)
{
	const json *v = member(obj, key);
	if (!v)
		return fallback;
	if (!v->is_boolean())
		return invalid(join(path, key), "expected true or false, got " + kindOf(*v));
	return v->get<bool>();
}

Result<bool> reqBool(const json &obj, const std::string &path, std::string_view key)
{
	if (!member(obj, key))
		return invalid(join(path, key), "missing (expected true or false)");
	return optBool(obj, path, key, false);
}

template <std::size_t N> Result<std::size_t> reqEnum(const json &obj, const std::string &path, std::string_view key,
						     const std::string_view (&names)[N], int unknownErrno = EINVAL)
{
	auto s = reqString(obj, path, key, StringKind::Text);
	if (!s)
		return unexpected(std::move(s).error());
	for (std::size_t i = 0; i < N; ++i)
		if (*s == names[i])
			return i;
	return unexpected(unknownErrno, join(path, key) + ": unknown value \"" + printable(*s, 40) + "\" (expected one of " + oneOf(names) + ")");
}

Result<RemoteState> reqState(const json &obj, const std::string &path, std::string_view key)
{
	auto i = reqEnum(obj, path, key, kStateNames);
	if (!i)
		return unexpected(std::move(i).error());
	return static_cast<RemoteState>(*i);
}

Result<const json *> optArray(const json &obj, const std::string &path, std::string_view key)
{
	const json *v = member(obj, key);
	if (!v)
		return static_cast<const json *>(nullptr);
	if (!v->is_array())
		return invalid(join(path, key), "expected an array, got " + kindOf(*v));
	return v;
}

Result<const json *> reqObject(const json &obj, const std::string &path, std::string_view key)
{
	const json *v = member(obj, key);
	if (!v)
		return invalid(join(path, key), "missing (expected an object)");
	if (!v->is_object())
		return invalid(join(path, key), "expected an object, got " + kindOf(*v));
	return v;
}

#define AMP_TRY(var, expr)                                                                                                       \
	auto var##_r = (expr);                                                                                                   \
	if (!var##_r)                                                                                                            \
		return unexpected(std::move(var##_r).error());                                                                 \
	auto var = std::move(*var##_r)

// ---- packet framing ----

// Size and nesting are checked on the raw bytes, before nlohmann builds
// anything: a 64 KiB packet of '[' must cost a scan, not a tree.
Result<void> precheck(std::span<const char> packet)
{
	if (packet.empty())
		return unexpected(EBADMSG, "empty packet (expected a JSON object)");
	if (packet.size() > kMaxPacket)
		return unexpected(EMSGSIZE, "packet of " + std::to_string(packet.size()) + " bytes is too large (at most " +
						    std::to_string(kMaxPacket) + ")");
	std::size_t depth = 0;
	bool inString = false, escaped = false;
	for (std::size_t i = 0; i < packet.size(); ++i) {
		char c = packet[i];
		// nlohmann stops at a NUL as if the input ended there: the bytes
		// after it would be ignored, not refused.
		if (c == '\0')
			return unexpected(EBADMSG, "NUL byte at offset " + std::to_string(i) + " (JSON text has none)");
		if (inString) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				inString = false;
		} else if (c == '"') {
			inString = true;
		} else if (c == '{' || c == '[') {
			if (++depth > kMaxDepth)
				return unexpected(EBADMSG, "nesting deeper than " + std::to_string(kMaxDepth) + " levels at byte " + std::to_string(i));
		} else if ((c == '}' || c == ']') && depth > 0) {
			--depth;
		}
	}
	return {};
}

Result<json> parseObject(std::span<const char> packet)
{
	if (auto ok = precheck(packet); !ok)
		return unexpected(std::move(ok).error());
	json doc;
	try {
		doc = json::parse(packet.begin(), packet.end());
	} catch (const json::exception &e) {
		// "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> the part after the tag.
		std::string what = e.what();
		if (auto close = what.find("] "); close != std::string::npos)
			what.erase(0, close + 2);
		return unexpected(EBADMSG, "not valid JSON: " + what);
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, "out of memory parsing a packet");
	}
	if (!doc.is_object())
		return unexpected(EBADMSG, "packet is " + kindOf(doc) + " (expected a JSON object)");
	return doc;
}

// ---- requests ----

Result<RequestBody> decodeRequestBody(RequestType type, const json &o)
{
	const std::string path(toString(type));
	switch (type) {
	case RequestType::Hello: {
		AMP_TRY(version, reqUint(o, path, "version", 1, 65535));
		AMP_TRY(client, optString(o, path, "client", StringKind::Text));
		return Hello{static_cast<std::uint32_t>(version), client.value_or("")};
	}
	case RequestType::Status: {
		AMP_TRY(remote, optString(o, path, "remote", StringKind::Name));
		return Status{std::move(remote)};
	}
	case RequestType::Start: {
		AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
		AMP_TRY(firmware, optString(o, path, "firmware", StringKind::Firmware));
		AMP_TRY(wait, optBool(o, path, "wait", false));
		return Start{std::move(remote), std::move(firmware), wait};
	}
	case RequestType::Stop: {
		AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
		AMP_TRY(graceful, optBool(o, path, "graceful", true));
		return Stop{std::move(remote), graceful};
	}
	case RequestType::Restart: {
		AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
		AMP_TRY(firmware, optString(o, path, "firmware", StringKind::Firmware));
		return Restart{std::move(remote), std::move(firmware)};
	}
	case RequestType::Subscribe: {
		AMP_TRY(remote, optString(o, path, "remote", StringKind::Name));
		return Subscribe{std::move(remote)};
	}
	case RequestType::Inspect: {
		AMP_TRY(firmware, reqString(o, path, "firmware", StringKind::Path));
		return Inspect{std::move(firmware)};
	}
	case RequestType::Channels: {
		AMP_TRY(remote, optString(o, path, "remote", StringKind::Name));
		return Channels{std::move(remote)};
	}
	case RequestType::Open: {
		Open open;
		AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
		AMP_TRY(channel, reqString(o, path, "channel", StringKind::Name));
		AMP_TRY(addr, optUint(o, path, "addr", 0, 0xFFFFFFFFu));
		AMP_TRY(direct, optBool(o, path, "direct", false));
		AMP_TRY(reattach, optBool(o, path, "reattach", false));
		open.remote = std::move(remote);
		open.channel = std::move(channel);
		if (addr)
			open.addr = static_cast<std::uint32_t>(*addr);
		open.direct = direct;
		open.reattach = reattach;
		return open;
	}
	}
	return unexpected(EINVAL, "unhandled request type");
}

Result<std::optional<RequestId>> readId(const json &o, std::string_view what, bool nullable)
{
	auto it = o.find("id");
	if (it == o.end())
		return invalid(std::string(what), "\"id\" missing (expected an integer 0.." + std::to_string(kMaxId) + ")");
	if (it->is_null()) {
		if (nullable)
			return std::optional<RequestId>{};
		return invalid(std::string(what), "\"id\" is null (expected an integer 0.." + std::to_string(kMaxId) + ")");
	}
	AMP_TRY(id, reqUint(o, std::string(what), "id", 0, kMaxId));
	return std::optional<RequestId>(id);
}

// ---- responses and events ----

Result<RemoteInfo> decodeRemoteInfo(const json &o, const std::string &path)
{
	if (!o.is_object())
		return invalid(path, "expected an object, got " + kindOf(o));
	RemoteInfo r;
	AMP_TRY(name, reqString(o, path, "name", StringKind::Name));
	AMP_TRY(index, reqUint(o, path, "index", 0, 0xFFFFFFFFu));
	AMP_TRY(kernelName, optString(o, path, "kernel_name", StringKind::Text));
	AMP_TRY(state, reqState(o, path, "state"));
	AMP_TRY(firmware, optString(o, path, "firmware", StringKind::Text));
	AMP_TRY(channels, optArray(o, path, "channels"));
	r.name = std::move(name);
	r.index = static_cast<std::uint32_t>(index);
	r.kernelName = kernelName.value_or("");
	r.state = state;
	r.firmware = firmware.value_or("");
	if (channels) {
		for (std::size_t i = 0; i < channels->size(); ++i) {
			const json &c = (*channels)[i];
			std::string where = path + ".channels[" + std::to_string(i) + "]";
			if (!c.is_string())
				return invalid(where, "expected a string, got " + kindOf(c));
			if (auto problem = nameProblem(c.get_ref<const std::string &>()))
				return invalid(where, *problem);
			r.channels.push_back(c.get<std::string>());
		}
	}
	return r;
}

Result<ChannelInfo> decodeChannelInfo(const json &o, const std::string &path)
{
	if (!o.is_object())
		return invalid(path, "expected an object, got " + kindOf(o));
	AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
	AMP_TRY(channel, reqString(o, path, "channel", StringKind::Name));
	AMP_TRY(src, reqUint(o, path, "src", 0, 0xFFFFFFFFu));
	AMP_TRY(dst, reqUint(o, path, "dst", 0, 0xFFFFFFFFu));
	return ChannelInfo{std::move(remote), std::move(channel), static_cast<std::uint32_t>(src), static_cast<std::uint32_t>(dst)};
}

template <typename T, typename F> Result<std::vector<T>> decodeList(const json &o, const std::string &path, std::string_view key, F each)
{
	AMP_TRY(array, optArray(o, path, key));
	std::vector<T> out;
	if (!array)
		return invalid(join(path, key), "missing (expected an array)");
	out.reserve(array->size());
	for (std::size_t i = 0; i < array->size(); ++i) {
		AMP_TRY(item, each((*array)[i], path + "." + std::string(key) + "[" + std::to_string(i) + "]"));
		out.push_back(std::move(item));
	}
	return out;
}

Result<ResponseBody> decodeReplyBody(RequestType type, const json &o)
{
	const std::string path = std::string(toString(type)) + " reply";
	switch (type) {
	case RequestType::Hello: {
		AMP_TRY(version, reqUint(o, path, "version", 1, 65535));
		AMP_TRY(server, optString(o, path, "server", StringKind::Text));
		return HelloReply{static_cast<std::uint32_t>(version), server.value_or("")};
	}
	case RequestType::Status: {
		AMP_TRY(remotes, decodeList<RemoteInfo>(o, path, "remotes", decodeRemoteInfo));
		return StatusReply{std::move(remotes)};
	}
	case RequestType::Start:
	case RequestType::Stop:
	case RequestType::Restart: {
		AMP_TRY(remote, reqString(o, path, "remote", StringKind::Name));
		AMP_TRY(state, reqState(o, path, "state"));
		AMP_TRY(detail, optString(o, path, "detail", StringKind::Text));
		return ActionReply{std::move(remote), state, detail.value_or("")};
	}
	case RequestType::Subscribe: return Ack{};
	case RequestType::Inspect: {
		InspectReply r;
		AMP_TRY(file, reqString(o, path, "path", StringKind::Path));
		AMP_TRY(format, optString(o, path, "format", StringKind::Text));
		AMP_TRY(entry, optUint(o, path, "entry", 0, UINT64_MAX));
		AMP_TRY(table, optBool(o, path, "resource_table", false));
		AMP_TRY(vdevs, optUint(o, path, "vdevs", 0, 0xFFFFFFFFu));
		AMP_TRY(report, decodeList<InspectItem>(o, path, "report", [](const json &item, const std::string &where) -> Result<InspectItem> {
			if (!item.is_object())
				return invalid(where, "expected an object, got " + kindOf(item));
			AMP_TRY(level, reqEnum(item, where, "level", kLevelNames));
			AMP_TRY(text, reqString(item, where, "text", StringKind::Text));
			return InspectItem{static_cast<InspectItem::Level>(level), std::move(text)};
		}));
		r.path = std::move(file);
		r.format = format.value_or("");
		r.entry = entry.value_or(0);
		r.resourceTable = table;
		r.vdevs = static_cast<std::uint32_t>(vdevs.value_or(0));
		r.report = std::move(report);
		return r;
	}
	case RequestType::Channels: {
		AMP_TRY(channels, decodeList<ChannelInfo>(o, path, "channels", decodeChannelInfo));
		return ChannelsReply{std::move(channels)};
	}
	case RequestType::Open: {
		AMP_TRY(endpoint, decodeChannelInfo(o, path));
		AMP_TRY(mtu, reqUint(o, path, "mtu", 1, 65535));
		AMP_TRY(direct, optBool(o, path, "direct", false));
		AMP_TRY(up, optBool(o, path, "up", true));
		AMP_TRY(window, optUint(o, path, "window", 0, 0xFFFFFFFFu));
		return OpenReply{std::move(endpoint), static_cast<std::uint32_t>(mtu), direct, up,
				 static_cast<std::uint32_t>(window.value_or(0))};
	}
	}
	return unexpected(EINVAL, "unhandled reply type");
}

Result<Response> decodeResponse(const json &o)
{
	Response r;
	AMP_TRY(id, readId(o, "response", true));
	r.id = id;
	AMP_TRY(ok, reqBool(o, "response", "ok"));
	if (const json *t = member(o, "type")) {
		if (!t->is_string())
			return invalid("response.type", "expected a string, got " + kindOf(*t));
		auto type = parseRequestType(t->get_ref<const std::string &>());
		if (!type)
			return unexpected(EOPNOTSUPP, "response.type: unknown request type \"" + printable(t->get<std::string>(), 40) +
							      "\" (expected one of " + oneOf(kRequestNames) + ")");
		r.type = type;
	}
	if (!ok) {
		AMP_TRY(error, reqObject(o, "response", "error"));
		AMP_TRY(code, reqString(*error, "response.error", "code", StringKind::Code));
		AMP_TRY(errnum, reqUint(*error, "response.error", "errno", 0, 4095));
		AMP_TRY(message, optString(*error, "response.error", "message", StringKind::Text));
		r.body = ErrorInfo{std::move(code), static_cast<int>(errnum), message.value_or("")};
		return r;
	}
	if (!r.type)
		return invalid("response.type", "missing (a successful response names the request it answers)");
	AMP_TRY(body, decodeReplyBody(*r.type, o));
	r.body = std::move(body);
	return r;
}

constexpr std::string_view kEventNames[] = {"state", "channel-up", "channel-down"};

Result<Event> decodeEvent(const json &o)
{
	AMP_TRY(kind, reqEnum(o, "event", "event", kEventNames, EOPNOTSUPP));
	if (kind == 0) {
		AMP_TRY(remote, reqString(o, "state event", "remote", StringKind::Name));
		AMP_TRY(from, reqState(o, "state event", "from"));
		AMP_TRY(to, reqState(o, "state event", "to"));
		AMP_TRY(reason, optString(o, "state event", "reason", StringKind::Text));
		return StateEvent{std::move(remote), from, to, reason.value_or("")};
	}
	AMP_TRY(channel, decodeChannelInfo(o, std::string(kEventNames[kind]) + " event"));
	return ChannelEvent{kind == 1, std::move(channel)};
}

constexpr std::string_view kStreamEventNames[] = {"down", "up", "error"};

Result<StreamEvent> decodeStreamEventObject(const json &o)
{
	AMP_TRY(kind, reqEnum(o, "stream event", "event", kStreamEventNames, EOPNOTSUPP));
	switch (kind) {
	case 0: {
		AMP_TRY(reason, optString(o, "down event", "reason", StringKind::Text));
		AMP_TRY(reattach, optBool(o, "down event", "reattach", false));
		return StreamDown{reason.value_or(""), reattach};
	}
	case 1: {
		AMP_TRY(endpoint, decodeChannelInfo(o, "up event"));
		return StreamUp{std::move(endpoint)};
	}
	default: {
		AMP_TRY(code, reqString(o, "error event", "code", StringKind::Code));
		AMP_TRY(errnum, reqUint(o, "error event", "errno", 0, 4095));
		AMP_TRY(message, optString(o, "error event", "message", StringKind::Text));
		return StreamError{std::move(code), static_cast<int>(errnum), message.value_or("")};
	}
	}
}

// ---- encoding ----

json encodeChannel(const ChannelInfo &c)
{
	return json{{"remote", c.remote}, {"channel", c.channel}, {"src", c.src}, {"dst", c.dst}};
}

json requestJson(const Request &request)
{
	json o{{"type", toString(request.type())}, {"id", request.id}};
	auto opt = [&o](const char *key, const std::optional<std::string> &v) {
		if (v)
			o[key] = *v;
	};
	std::visit(
		[&](const auto &b) {
			using T = std::decay_t<decltype(b)>;
			if constexpr (std::is_same_v<T, Hello>) {
				o["version"] = b.version;
				if (!b.client.empty())
					o["client"] = cleanText(b.client, kMaxText);
			} else if constexpr (std::is_same_v<T, Status> || std::is_same_v<T, Subscribe> || std::is_same_v<T, Channels>) {
				opt("remote", b.remote);
			} else if constexpr (std::is_same_v<T, Start> || std::is_same_v<T, Restart>) {
				o["remote"] = b.remote;
				opt("firmware", b.firmware);
				if constexpr (std::is_same_v<T, Start>) {
					// Only when set: a version-1 server that predates the
					// field then sees exactly the packet it always did.
					if (b.wait)
						o["wait"] = true;
				}
			} else if constexpr (std::is_same_v<T, Stop>) {
				o["remote"] = b.remote;
				o["graceful"] = b.graceful;
			} else if constexpr (std::is_same_v<T, Inspect>) {
				o["firmware"] = b.firmware;
			} else if constexpr (std::is_same_v<T, Open>) {
				o["remote"] = b.remote;
				o["channel"] = b.channel;
				if (b.addr)
					o["addr"] = *b.addr;
				o["direct"] = b.direct;
				o["reattach"] = b.reattach;
			}
		},
		request.body);
	return o;
}

json responseJson(const Response &response)
{
	json o;
	if (response.type)
		o["type"] = toString(*response.type);
	o["id"] = response.id ? json(*response.id) : json(nullptr);
	o["ok"] = response.ok();
	std::visit(
		[&](const auto &b) {
			using T = std::decay_t<decltype(b)>;
			if constexpr (std::is_same_v<T, ErrorInfo>) {
				o["error"] = json{{"code", b.code}, {"errno", b.errnum}, {"message", cleanText(b.message, kMaxText)}};
			} else if constexpr (std::is_same_v<T, HelloReply>) {
				o["version"] = b.version;
				o["server"] = cleanText(b.server, kMaxText);
			} else if constexpr (std::is_same_v<T, StatusReply>) {
				json list = json::array();
				for (const auto &r : b.remotes)
					list.push_back(json{{"name", r.name},
							    {"index", r.index},
							    {"kernel_name", cleanText(r.kernelName, kMaxText)},
							    {"state", toString(r.state)},
							    {"firmware", cleanText(r.firmware, kMaxText)},
							    {"channels", r.channels}});
				o["remotes"] = std::move(list);
			} else if constexpr (std::is_same_v<T, ActionReply>) {
				o["remote"] = b.remote;
				o["state"] = toString(b.state);
				o["detail"] = cleanText(b.detail, kMaxText);
			} else if constexpr (std::is_same_v<T, InspectReply>) {
				o["path"] = b.path;
				o["format"] = cleanText(b.format, kMaxText);
				o["entry"] = b.entry;
				o["resource_table"] = b.resourceTable;
				o["vdevs"] = b.vdevs;
				json list = json::array();
				for (const auto &item : b.report)
					list.push_back(json{{"level", kLevelNames[static_cast<int>(item.level)]}, {"text", cleanText(item.text, kMaxText)}});
				o["report"] = std::move(list);
			} else if constexpr (std::is_same_v<T, ChannelsReply>) {
				json list = json::array();
				for (const auto &c : b.channels)
					list.push_back(encodeChannel(c));
				o["channels"] = std::move(list);
			} else if constexpr (std::is_same_v<T, OpenReply>) {
				o.update(encodeChannel(b.endpoint));
				o["mtu"] = b.mtu;
				o["direct"] = b.direct;
				o["up"] = b.up;
				o["window"] = b.window;
			}
		},
		response.body);
	return o;
}

json eventJson(const Event &event)
{
	json o{{"type", "event"}};
	if (const auto *s = std::get_if<StateEvent>(&event)) {
		o["event"] = "state";
		o["remote"] = s->remote;
		o["from"] = toString(s->from);
		o["to"] = toString(s->to);
		o["reason"] = cleanText(s->reason, kMaxText);
	} else {
		const auto &c = std::get<ChannelEvent>(event);
		o["event"] = c.up ? "channel-up" : "channel-down";
		o.update(encodeChannel(c.channel));
	}
	return o;
}

json streamEventJson(const StreamEvent &event)
{
	json o;
	std::visit(
		[&](const auto &e) {
			using T = std::decay_t<decltype(e)>;
			if constexpr (std::is_same_v<T, StreamDown>) {
				o["event"] = "down";
				o["reason"] = cleanText(e.reason, kMaxText);
				o["reattach"] = e.reattach;
			} else if constexpr (std::is_same_v<T, StreamUp>) {
				o = encodeChannel(e.endpoint);
				o["event"] = "up";
			} else {
				o["event"] = "error";
				o["code"] = e.code;
				o["errno"] = e.errnum;
				o["message"] = cleanText(e.message, kMaxText);
			}
		},
		event);
	return o;
}

// Serializes and then decodes the result: the one way to be sure that what
// we send is what a peer accepts, with the decoder's own words when not.
template <typename Build, typename Check> Result<std::string> finish(Build build, Check check)
{
	std::string text;
	try {
		text = build().dump(-1, ' ', false, json::error_handler_t::replace);
	} catch (const std::exception &e) {
		return unexpected(EINVAL, std::string("cannot encode: ") + e.what());
	}
	if (auto ok = check(text); !ok) {
		Error e = std::move(ok).error();
		e.context = "cannot encode: " + e.context;
		return unexpected(std::move(e));
	}
	return text;
}

Result<json> parseGuarded(std::span<const char> packet)
{
	try {
		return parseObject(packet);
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, "out of memory decoding a packet");
	} catch (const std::exception &e) {
		return unexpected(EBADMSG, std::string("cannot decode: ") + e.what());
	}
}

} // namespace

std::string_view toString(RequestType type)
{
	return kRequestNames[static_cast<int>(type)];
}

std::optional<RequestType> parseRequestType(std::string_view text)
{
	for (std::size_t i = 0; i < std::size(kRequestNames); ++i)
		if (text == kRequestNames[i])
			return static_cast<RequestType>(i);
	return std::nullopt;
}

std::optional<std::string> nameProblem(std::string_view text)
{
	if (text.empty())
		return "is empty (expected 1.." + std::to_string(kMaxName) + " printable ASCII characters)";
	if (text.size() > kMaxName)
		return "is " + std::to_string(text.size()) + " bytes long (at most " + std::to_string(kMaxName) + ")";
	for (std::size_t i = 0; i < text.size(); ++i) {
		auto c = static_cast<unsigned char>(text[i]);
		if (c <= 0x20 || c >= 0x7f)
			return "has " + hexByte(text[i]) + " at offset " + std::to_string(i) + " (expected printable ASCII without spaces)";
	}
	return std::nullopt;
}

std::optional<std::string> firmwareNameProblem(std::string_view text)
{
	return stringProblem(text, StringKind::Firmware);
}

ErrorInfo ErrorInfo::from(const Error &error)
{
	return ErrorInfo{error.name(), error.code, error.context};
}

Response failure(std::optional<RequestId> id, std::optional<RequestType> type, const Error &error)
{
	Response r;
	r.id = id;
	r.type = type;
	r.body = ErrorInfo::from(error);
	return r;
}

Result<std::string> encode(const Request &request)
{
	return finish([&] { return requestJson(request); },
		      [](const std::string &text) -> Result<void> {
			      auto back = decodeRequest(text);
			      if (!back)
				      return unexpected(std::move(back).error());
			      return {};
		      });
}

Result<std::string> encode(const Response &response)
{
	return finish([&] { return responseJson(response); },
		      [](const std::string &text) -> Result<void> {
			      auto back = decodeServerMessage(text);
			      if (!back)
				      return unexpected(std::move(back).error());
			      return {};
		      });
}

Result<std::string> encode(const Event &event)
{
	return finish([&] { return eventJson(event); },
		      [](const std::string &text) -> Result<void> {
			      auto back = decodeServerMessage(text);
			      if (!back)
				      return unexpected(std::move(back).error());
			      return {};
		      });
}

Result<std::string> encode(const StreamEvent &event)
{
	return finish([&] { return streamEventJson(event); },
		      [](const std::string &text) -> Result<void> {
			      auto back = decodeStreamEvent(text);
			      if (!back)
				      return unexpected(std::move(back).error());
			      return {};
		      });
}

Result<StreamEvent> decodeStreamEvent(std::span<const char> packet)
{
	try {
		AMP_TRY(o, parseGuarded(packet));
		return decodeStreamEventObject(o);
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, "out of memory decoding a stream event");
	} catch (const std::exception &e) {
		return unexpected(EBADMSG, std::string("cannot decode stream event: ") + e.what());
	}
}

Result<Request> decodeRequest(std::span<const char> packet, std::optional<RequestId> *idSeen)
{
	if (idSeen)
		idSeen->reset();
	try {
		AMP_TRY(o, parseGuarded(packet));
		AMP_TRY(id, readId(o, "request", false));
		if (idSeen)
			*idSeen = id;
		AMP_TRY(kind, reqEnum(o, "request", "type", kRequestNames, EOPNOTSUPP));
		AMP_TRY(body, decodeRequestBody(static_cast<RequestType>(kind), o));
		return Request{*id, std::move(body)};
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, "out of memory decoding a request");
	} catch (const std::exception &e) {
		return unexpected(EBADMSG, std::string("cannot decode request: ") + e.what());
	}
}

Result<ServerMessage> decodeServerMessage(std::span<const char> packet)
{
	try {
		AMP_TRY(o, parseGuarded(packet));
		const json *type = member(o, "type");
		if (type && type->is_string() && type->get_ref<const std::string &>() == "event") {
			AMP_TRY(event, decodeEvent(o));
			return ServerMessage{std::move(event)};
		}
		if (!o.contains("ok"))
			return unexpected(EINVAL, "message is neither a response (no \"ok\") nor an event (\"type\": \"event\")");
		AMP_TRY(response, decodeResponse(o));
		return ServerMessage{std::move(response)};
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, "out of memory decoding a message");
	} catch (const std::exception &e) {
		return unexpected(EBADMSG, std::string("cannot decode message: ") + e.what());
	}
}

} // namespace amp::protocol

// Declared in amp/types.hpp (public); defined here next to the other wire names.
namespace amp {

std::string_view toString(RemoteState state)
{
	return protocol::kStateNames[static_cast<int>(state)];
}

std::optional<RemoteState> parseRemoteState(std::string_view text)
{
	for (std::size_t i = 0; i < std::size(protocol::kStateNames); ++i)
		if (text == protocol::kStateNames[i])
			return static_cast<RemoteState>(i);
	return std::nullopt;
}

} // namespace amp
