// SPDX-License-Identifier: MIT
// The control-socket wire format: typed messages and their JSON encoding, pure and size-limited.
//
// One SOCK_SEQPACKET packet carries one JSON object of at most kMaxPacket
// bytes (docs/protocol.md). Nothing here does I/O or throws: decode() is fed
// whatever a peer sent, so every failure comes back as an amp::Error whose
// context says precisely what was wrong, ready to go into an error reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "amp/result.hpp"
#include "amp/types.hpp"

namespace amp::protocol {

// Bumped when a message changes meaning; added optional fields do not bump it
// because decoders ignore fields they do not know.
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kMaxPacket = 64 * 1024;
// rpmsg names are char[32] in the kernel (RPMSG_NAME_SIZE), NUL included.
inline constexpr std::size_t kMaxName = 31;
inline constexpr std::size_t kMaxPath = 4095;
inline constexpr std::size_t kMaxText = 1024;
// Our deepest message nests 4 levels; the limit keeps hostile input cheap.
inline constexpr std::size_t kMaxDepth = 16;
// Ids stay exact in a double, so clients in any language can echo them.
inline constexpr std::uint64_t kMaxId = (std::uint64_t{1} << 53) - 1;

using RequestId = std::uint64_t;

// The plain data types are public (amp/types.hpp, for libamp's clients);
// these names keep them where the wire format's users look for them.
using amp::ActionReply;
using amp::ChannelEvent;
using amp::ChannelInfo;
using amp::InspectItem;
using amp::InspectReply;
using amp::kAddrAny;
using amp::kMaxRpmsgPayload;
using amp::parseRemoteState;
using amp::RemoteInfo;
using amp::RemoteState;
using amp::StateEvent;
using amp::toString;
using Event = amp::RemoteEvent;

// Why `text` is not a valid remote or channel name (1..31 bytes of printable
// ASCII without spaces), or nullopt when it is one.
std::optional<std::string> nameProblem(std::string_view text);

// Why `text` is not a firmware name the kernel may be asked to load (a
// relative name under its search path: no "..", not absolute, no control
// characters, at most kMaxPath bytes), or nullopt when it is one.
std::optional<std::string> firmwareNameProblem(std::string_view text);

// ---- Requests (client -> ampd); each carries an id the reply echoes ----

// First request on a connection: the versions the peers speak.
struct Hello {
	std::uint32_t version = kVersion;
	std::string client; // free text for logs ("ampctl 0.1"), may be empty
	bool operator==(const Hello &) const = default;
};
struct Status {
	std::optional<std::string> remote; // all remotes when absent
	bool operator==(const Status &) const = default;
};
struct Start {
	std::string remote;
	std::optional<std::string> firmware; // name under the firmware search path
	// Several clients may want a remote up (a boot script, a service's
	// ExecStartPre=); with `wait` they need not race: a start already in
	// flight is joined and its outcome shared, and a remote already running
	// is a success. Without it either is EBUSY, as an explicit start should be.
	bool wait = false;
	bool operator==(const Start &) const = default;
};
struct Stop {
	std::string remote;
	bool graceful = true; // false: skip the shutdown message, stop at once
	bool operator==(const Stop &) const = default;
};
// No `wait`: a restart always acts, so there is no outcome to join.
struct Restart {
	std::string remote;
	std::optional<std::string> firmware;
	bool operator==(const Restart &) const = default;
};
struct Subscribe {
	std::optional<std::string> remote; // all remotes when absent
	bool operator==(const Subscribe &) const = default;
};
struct Inspect {
	std::string firmware; // a firmware name or an absolute path
	bool operator==(const Inspect &) const = default;
};
struct Channels {
	std::optional<std::string> remote;
	bool operator==(const Channels &) const = default;
};
// A stream to one channel through a kernel endpoint of its own; the reply
// passes the stream socket (and in direct mode the endpoint) with SCM_RIGHTS.
struct Open {
	std::string remote;
	std::string channel;
	std::optional<std::uint32_t> addr; // local address; the kernel picks when absent
	bool direct = false;               // pass the endpoint fd itself (SCM_RIGHTS)
	bool reattach = false;             // reopen when the channel returns after a restart
	bool operator==(const Open &) const = default;
};

// Variant order is RequestType order.
using RequestBody = std::variant<Hello, Status, Start, Stop, Restart, Subscribe, Inspect, Channels, Open>;
enum class RequestType { Hello, Status, Start, Stop, Restart, Subscribe, Inspect, Channels, Open };
std::string_view toString(RequestType type);
std::optional<RequestType> parseRequestType(std::string_view text);

struct Request {
	RequestId id = 0;
	RequestBody body;
	RequestType type() const { return static_cast<RequestType>(body.index()); }
	bool operator==(const Request &) const = default;
};

// ---- Responses (ampd -> client) ----

struct ErrorInfo {
	std::string code;  // errno name: "EBUSY"
	int errnum = 0;    // its number on the server
	std::string message;
	static ErrorInfo from(const Error &error);
	bool operator==(const ErrorInfo &) const = default;
};
struct Ack { // subscribe: nothing to say but yes
	bool operator==(const Ack &) const = default;
};
struct HelloReply {
	std::uint32_t version = kVersion; // the version this connection speaks
	std::string server;
	bool operator==(const HelloReply &) const = default;
};
struct StatusReply {
	std::vector<RemoteInfo> remotes;
	bool operator==(const StatusReply &) const = default;
};
struct ChannelsReply {
	std::vector<ChannelInfo> channels;
	bool operator==(const ChannelsReply &) const = default;
};
struct OpenReply {
	ChannelInfo endpoint;           // src: our endpoint's address, dst: the remote's
	std::uint32_t mtu = kMaxRpmsgPayload;
	bool direct = false;            // the endpoint fd follows the stream socket
	bool up = true;                 // false: a reattach stream waiting for its channel
	std::uint32_t window = 0;       // messages in flight allowed (0: no limit)
	bool operator==(const OpenReply &) const = default;
};

// Index 0 is the failure; the rest answer the request types as ReplyFor says.
using ResponseBody = std::variant<ErrorInfo, Ack, HelloReply, StatusReply, ActionReply, InspectReply, ChannelsReply, OpenReply>;

struct Response {
	std::optional<RequestId> id;      // null when the request did not parse that far
	std::optional<RequestType> type;  // the request answered; required when ok
	ResponseBody body;
	bool ok() const { return body.index() != 0; }
	const ErrorInfo *error() const { return std::get_if<ErrorInfo>(&body); }
	bool operator==(const Response &) const = default;
};

// The error reply to a request that failed (or did not decode).
Response failure(std::optional<RequestId> id, std::optional<RequestType> type, const Error &error);

// ---- Events (ampd -> subscribers, unsolicited) ----
// StateEvent, ChannelEvent and Event (amp::RemoteEvent) are in amp/types.hpp.

// What a client reads: a reply to one of its requests, or an event.
using ServerMessage = std::variant<Response, Event>;

// ---- Stream sockets ----
// The `open` reply carries a SOCK_SEQPACKET socket. Each packet on it starts
// with one kind byte: kStreamMessage and one rpmsg message (0..mtu bytes),
// or kStreamEvent and a JSON object (StreamEvent). In direct mode messages
// go through the endpoint fd and the socket carries only events.
inline constexpr std::uint8_t kStreamMessage = 0;
inline constexpr std::uint8_t kStreamEvent = 1;
// Kind byte plus the largest rpmsg payload.
inline constexpr std::size_t kMaxStreamPacket = 1 + kMaxRpmsgPayload;
using amp::StreamDown;
using amp::StreamError;
using amp::StreamEvent;
using amp::StreamUp;

// ---- Encoding and decoding ----

// Encoders check what decoders check (names, ranges, the packet limit), so a
// message that encodes also decodes; free text (messages, reasons) is cut at
// kMaxText on a character boundary instead of failing, so an error reply can
// always be sent. Errors: EINVAL (a field out of bounds), EMSGSIZE.
[[nodiscard]] Result<std::string> encode(const Request &request);
[[nodiscard]] Result<std::string> encode(const Response &response);
[[nodiscard]] Result<std::string> encode(const Event &event);
// The JSON object of a stream event, without the kind byte.
[[nodiscard]] Result<std::string> encode(const StreamEvent &event);

// Errors: EMSGSIZE (over kMaxPacket), EBADMSG (not a JSON object, invalid
// UTF-8, too deep), EINVAL (a field missing, of the wrong type or out of
// range), EOPNOTSUPP (unknown request type or event). Unknown fields are
// ignored. When `idSeen` is given it receives the request's id as soon as a
// valid one was read, so the error reply can echo it.
[[nodiscard]] Result<Request> decodeRequest(std::span<const char> packet, std::optional<RequestId> *idSeen = nullptr);
[[nodiscard]] Result<ServerMessage> decodeServerMessage(std::span<const char> packet);
// A stream event packet after its kind byte.
[[nodiscard]] Result<StreamEvent> decodeStreamEvent(std::span<const char> packet);

// std::string and std::string_view convert to the span; a string literal
// would bring its NUL along, so it takes this overload.
[[nodiscard]] inline Result<Request> decodeRequest(const char *packet, std::optional<RequestId> *idSeen = nullptr)
{
	return decodeRequest(std::span<const char>(packet, std::char_traits<char>::length(packet)), idSeen);
}
[[nodiscard]] inline Result<ServerMessage> decodeServerMessage(const char *packet)
{
	return decodeServerMessage(std::span<const char>(packet, std::char_traits<char>::length(packet)));
}

} // namespace amp::protocol
