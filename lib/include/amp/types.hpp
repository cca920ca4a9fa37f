// SPDX-License-Identifier: MIT
// What libamp's client hands out: remote states, remote and channel descriptions, events.
//
// Plain data, shared with the wire format (lib/protocol re-exports these
// names into amp::protocol), so a client and ampd describe a remote with
// the same types and nothing is translated twice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace amp {

// RPMSG_ADDR_ANY: let the kernel pick the local address.
inline constexpr std::uint32_t kAddrAny = 0xFFFFFFFFu;
// Largest rpmsg payload with 512-byte buffers (512 - 16-byte header).
inline constexpr std::uint32_t kMaxRpmsgPayload = 496;

// The remote life cycle's states, spelled on the wire and by ampctl as
// toString() says ("running-degraded"); docs/design.md has the meanings.
enum class RemoteState { Offline, Loading, Starting, Running, RunningDegraded, Stopping, Crashed, Attached, Detached, Error };
std::string_view toString(RemoteState state);
std::optional<RemoteState> parseRemoteState(std::string_view text);

struct RemoteInfo {
	std::string name;                  // the alias clients use
	std::uint32_t index = 0;           // remoteprocN
	std::string kernelName;            // remoteproc `name` attribute
	RemoteState state = RemoteState::Offline;
	std::string firmware;              // empty when none is set
	std::vector<std::string> channels; // channels that are up
	bool operator==(const RemoteInfo &) const = default;
};

// start / stop / restart: where the remote ended up and how.
struct ActionReply {
	std::string remote;
	RemoteState state = RemoteState::Offline;
	std::string detail; // "shutdown acknowledged", "deadline passed, forced stop"
	bool operator==(const ActionReply &) const = default;
};

struct InspectItem {
	enum class Level { Info, Warning, Error } level = Level::Info;
	std::string text;
	bool operator==(const InspectItem &) const = default;
};
struct InspectReply {
	std::string path;   // the file that was read
	std::string format; // "ELF32 little-endian ARM"
	std::uint64_t entry = 0;
	bool resourceTable = false;
	std::uint32_t vdevs = 0;
	std::vector<InspectItem> report; // one line per header / resource entry
	bool operator==(const InspectReply &) const = default;
};

struct ChannelInfo {
	std::string remote;
	std::string channel;
	std::uint32_t src = kAddrAny;
	std::uint32_t dst = kAddrAny;
	bool operator==(const ChannelInfo &) const = default;
};

// A remote changed state ("offline -> loading (start requested)").
struct StateEvent {
	std::string remote;
	RemoteState from = RemoteState::Offline;
	RemoteState to = RemoteState::Offline;
	std::string reason;
	bool operator==(const StateEvent &) const = default;
};
// A channel of a remote appeared or went away.
struct ChannelEvent {
	bool up = true; // channel-up / channel-down
	ChannelInfo channel;
	bool operator==(const ChannelEvent &) const = default;
};
// What a subscription delivers. Not called `Event`: that name is too
// likely to be wanted by an event loop in namespace amp.
using RemoteEvent = std::variant<StateEvent, ChannelEvent>;

// ---- Channel streams (Client::open; docs/protocol.md "Streams") ----

// How an `open` asks for its stream.
struct OpenOptions {
	std::uint32_t addr = kAddrAny; // our endpoint's local address; the kernel picks when any
	// The kernel endpoint's fd itself (rpmsg_char, passed with SCM_RIGHTS):
	// no relay hop. ampd still owns the endpoint's life (it destroys it
	// when the stream closes or the remote goes), and events still come on
	// the stream socket.
	bool direct = false;
	// After a "down" (remote stopped or crashed, channel gone) keep the
	// stream and attach it again when the channel returns; also lets an
	// open wait for a channel that is not up yet.
	bool reattach = false;
	bool operator==(const OpenOptions &) const = default;
};

// The stream lost its endpoint. Messages read before it were sent before the
// loss; messages sent after it wait (reattach) or fail (not).
struct StreamDown {
	std::string reason;    // "remote stopped", "remote crashed", "channel gone"
	bool reattach = false; // the stream waits for the channel to return
	bool operator==(const StreamDown &) const = default;
};
// The stream has a (new) endpoint: after open with reattach, or a return.
struct StreamUp {
	ChannelInfo endpoint; // src: our endpoint's address, dst: the remote's
	bool operator==(const StreamUp &) const = default;
};
// A message the client sent was refused (EMSGSIZE, EBADMSG); the stream lives on.
struct StreamError {
	std::string code; // errno name: "EMSGSIZE"
	int errnum = 0;
	std::string message;
	bool operator==(const StreamError &) const = default;
};
using StreamEvent = std::variant<StreamDown, StreamUp, StreamError>;

} // namespace amp
