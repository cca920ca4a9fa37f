// SPDX-License-Identifier: MIT
// libamp's C++ client: one connection to ampd's control socket, synchronous calls, queued events.
//
// Calls send one request and wait for the reply with the same id; events
// that arrive meanwhile are queued for nextEvent(), never dropped silently.
// For an application with its own event loop, fd() is pollable: when it is
// readable, dispatch() reads what is there without blocking and pollEvent()
// hands the events out. A Client is not thread-safe: use it from one thread
// at a time. Nothing throws: failures are amp::Error values whose code is
// the errno (the server's, for a refused request) and whose context is the
// server's message or what the client was doing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amp/result.hpp"
#include "amp/stream.hpp"
#include "amp/types.hpp"

namespace amp {

struct StartOptions {
	std::optional<std::string> firmware; // a name under the firmware search path; the configured one when absent
	// Join a start already in flight and share its outcome; a remote already
	// running counts as success (otherwise both are EBUSY).
	bool wait = false;
};

class Client {
public:
	static constexpr std::string_view kDefaultSocket = "/run/ampd/ampd.sock";
	// Queries answer at once; start, stop and restart answer when the remote
	// got where it was going, which includes loading firmware and waiting for
	// its channels, so their default is longer.
	static constexpr std::chrono::milliseconds kQueryTimeout{10000};
	static constexpr std::chrono::milliseconds kActionTimeout{60000};
	// Events queued while nobody reads them; beyond this the oldest go
	// (droppedEvents() counts them) rather than memory growing without bound.
	static constexpr std::size_t kMaxQueuedEvents = 4096;

	// $AMPD_SOCKET when set and not empty, else kDefaultSocket.
	static std::string defaultSocketPath();

	// Connects (SOCK_SEQPACKET) and says hello. Errors: connect()'s errno
	// (ENOENT: no socket, ECONNREFUSED: no daemon behind it, EACCES: socket
	// permissions), ENAMETOOLONG, ETIMEDOUT, EPROTONOSUPPORT (the daemon
	// speaks another protocol version), or the daemon's refusal of hello.
	[[nodiscard]] static Result<Client> connect(std::string socketPath = defaultSocketPath(), std::string clientName = "libamp",
						    std::chrono::milliseconds timeout = kQueryTimeout);

	Client(Client &&) noexcept;
	Client &operator=(Client &&) noexcept;
	~Client();

	// One remote's or all remotes' state. ENOENT (or ENODEV) for an unknown remote.
	[[nodiscard]] Result<std::vector<RemoteInfo>> status(std::optional<std::string> remote = std::nullopt,
							     std::chrono::milliseconds timeout = kQueryTimeout);
	[[nodiscard]] Result<ActionReply> start(const std::string &remote, const StartOptions &options = {},
						std::chrono::milliseconds timeout = kActionTimeout);
	// graceful false: no shutdown message, the core is stopped at once.
	[[nodiscard]] Result<ActionReply> stop(const std::string &remote, bool graceful = true,
					       std::chrono::milliseconds timeout = kActionTimeout);
	[[nodiscard]] Result<ActionReply> restart(const std::string &remote, std::optional<std::string> firmware = std::nullopt,
						  std::chrono::milliseconds timeout = kActionTimeout);
	// From the reply on, events of `remote` (all remotes when absent) are queued.
	[[nodiscard]] Result<void> subscribe(std::optional<std::string> remote = std::nullopt,
					     std::chrono::milliseconds timeout = kQueryTimeout);
	// The daemon's verdict on a firmware name or absolute path.
	[[nodiscard]] Result<InspectReply> inspect(const std::string &firmware, std::chrono::milliseconds timeout = kQueryTimeout);
	[[nodiscard]] Result<std::vector<ChannelInfo>> channels(std::optional<std::string> remote = std::nullopt,
								std::chrono::milliseconds timeout = kQueryTimeout);

	// A stream of our own on `channel` of `remote` (amp/stream.hpp). ENODEV
	// (no such remote), ENOENT (the channel is not up; a `reattach` open
	// instead succeeds and waits for it), EACCES (the remote's
	// allow.channels does not name us), EMFILE (too many streams).
	[[nodiscard]] Result<Stream> open(const std::string &remote, const std::string &channel,
					  const OpenOptions &options = {}, std::chrono::milliseconds timeout = kQueryTimeout);

	// The next event, queued or read within `timeout` (negative: no limit).
	// ETIMEDOUT when none came, EINTR when a signal interrupted the wait (so
	// the caller can look at its flags), ECONNRESET when ampd went away.
	// `json`, when given, receives the event as the daemon sent it.
	[[nodiscard]] Result<RemoteEvent> nextEvent(std::chrono::milliseconds timeout, std::string *json = nullptr);

	// For other event loops: poll fd() for POLLIN, then dispatch() reads
	// every packet already there without blocking (events are queued,
	// replies no call waits for are dropped) and returns how many it read.
	// ECONNRESET once ampd has closed the connection.
	int fd() const;
	[[nodiscard]] Result<std::size_t> dispatch();
	// A queued event, or nullopt; never reads the socket.
	std::optional<RemoteEvent> pollEvent(std::string *json = nullptr);
	std::size_t queuedEvents() const;
	// Forget the queued events: after a status reply they are history the
	// reply already includes.
	void discardEvents();
	std::uint64_t droppedEvents() const;

	// The last reply as the daemon sent it (success or error), for tools
	// that print it; empty before the first reply.
	const std::string &lastReplyJson() const;
	// What the hello reply said.
	const std::string &serverName() const;
	std::uint32_t serverVersion() const;

private:
	struct State;
	explicit Client(std::unique_ptr<State> state);
	std::unique_ptr<State> s_;
};

} // namespace amp
