// SPDX-License-Identifier: MIT
// libamp's channel stream: one client's own rpmsg endpoint on a remote's channel, through ampd.
//
// Client::open() asks ampd for an endpoint on a channel and gets a Stream:
// a message pipe where one send() is one rpmsg message (0..mtu() bytes) and
// one receive() returns one message. ampd relays between the stream socket
// and the kernel endpoint (docs/protocol.md "Streams"); in direct mode the
// Stream holds the kernel endpoint itself and only events go through ampd.
// Either way the Stream looks the same to its user.
//
// The remote may go away (stopped, crashed, channel gone): receive() then
// returns ENOTCONN once with the reason (lastEvent() has it as a StreamDown),
// and the stream is over (EPIPE from then on) unless it was opened with
// `reattach`, in which case it comes back when the channel does (an up event
// that receive() passes over; next() shows it). A Stream is not thread-safe;
// it does not need its Client once open (closing the Client keeps it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <variant>

#include "amp/result.hpp"
#include "amp/types.hpp"

namespace amp {

class Stream {
public:
	// What next() found: a message of `size` bytes copied into the caller's
	// buffer, or an event (up, down, error).
	struct Message {
		std::size_t size = 0;
	};
	using Item = std::variant<Message, StreamEvent>;

	Stream(Stream &&) noexcept;
	Stream &operator=(Stream &&) noexcept;
	~Stream(); // closes: ampd destroys the endpoint

	// Sends one message. EMSGSIZE when larger than mtu() (nothing sent);
	// EAGAIN when it could not go within `timeout` (0: do not wait; the
	// remote or ampd is not keeping up); ENOTCONN while down (reattach
	// streams: try again after the up event, which send() notices by itself
	// while next() still reports it); EPIPE once the stream is over.
	[[nodiscard]] Result<void> send(std::span<const std::uint8_t> message,
					std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
	// The next message into `buffer` (a longer one is cut: EMSGSIZE, lost,
	// as the kernel does); negative timeout waits forever. ETIMEDOUT, EINTR,
	// ENOTCONN (a down event: lastEvent()), EPIPE (over).
	[[nodiscard]] Result<std::size_t> receive(std::span<std::uint8_t> buffer,
						  std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
	// Like receive(), but events are returned instead of being passed over.
	// What the buffer holds after an event is unspecified (an event may
	// be read through it).
	[[nodiscard]] Result<Item> next(std::span<std::uint8_t> buffer,
					std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));

	// Poll both for POLLIN in another event loop (they are the same fd in
	// relay mode), then call next() with timeout 0. Do not read them. In
	// direct mode fd() is the kernel endpoint: -1 while down, another fd
	// after an up event (ask again after each event).
	int fd() const;      // messages
	int eventFd() const; // events (the stream socket)

	const ChannelInfo &endpoint() const; // src: ours, dst: the remote's
	std::uint32_t mtu() const;
	std::uint32_t window() const; // messages in flight ampd allows (0: no limit)
	bool direct() const;
	bool up() const;   // has an endpoint now
	bool over() const; // down for good, or ampd closed the stream
	const std::optional<StreamEvent> &lastEvent() const;

private:
	friend class Client;
	struct State;
	explicit Stream(std::unique_ptr<State> state);
	// From an open reply; owns both fds from here on (endpointFd: -1 unless
	// direct and up).
	static Result<Stream> adopt(ChannelInfo endpoint, std::uint32_t mtu, std::uint32_t window, bool direct, bool up, int socketFd,
				    int endpointFd);
	std::unique_ptr<State> s_;
};

} // namespace amp
