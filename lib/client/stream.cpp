// SPDX-License-Identifier: MIT
// amp::Stream: one rpmsg message per packet on the stream socket (relay) or per read()/write() on the endpoint (direct).
//
// Nothing here allocates per message: a message is read straight into the
// caller's buffer (relay: behind the kind byte, through an iovec), and what
// does not fit goes to a spare buffer the stream allocated once, where a cut
// message is recognised and the rest of an event JSON is found. Only events
// (rare) allocate. Every wait is a poll() with the caller's deadline, and
// EINTR is handed back, so a caller's signal flag is seen at once.
#include "amp/stream.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "client/io.h"
#include "protocol/protocol.hpp"

namespace amp {

namespace {

using client::Clock;
using client::Deadline;

// The kernel endpoint has no POLLOUT for "a TX buffer is free again", so
// a full one is retried: soon at first, then less often.
constexpr auto kFirstRetry = std::chrono::microseconds(100);
constexpr auto kLastRetry = std::chrono::microseconds(5000);

Unexpected<Error> interrupted()
{
	return unexpected(EINTR, "interrupted by a signal");
}

std::string within(std::chrono::milliseconds timeout)
{
	return "within " + std::to_string(timeout.count()) + " ms";
}

Result<void> makeNonBlocking(int fd)
{
	int flags = ::fcntl(fd, F_GETFL);
	if (flags < 0)
		return unexpected(lastError("fcntl(F_GETFL) on the endpoint"));
	if (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return unexpected(lastError("make the endpoint non-blocking"));
	return {};
}

} // namespace

struct Stream::State {
	UniqueFd socket;   // the stream socket: messages (relay) and events
	UniqueFd endpoint; // direct mode: the kernel endpoint while up
	ChannelInfo info;
	std::uint32_t mtu = kMaxRpmsgPayload;
	std::uint32_t window = 0;
	bool direct = false;
	bool up = false;
	bool over = false;
	std::string overReason; // the EPIPE's context once over
	std::optional<StreamEvent> last;
	// Events send() read while looking for the way back up, for next().
	std::deque<StreamEvent> pending;
	// Where a message longer than the caller's buffer, or the rest of an
	// event, lands; large enough for any packet ampd may send.
	std::vector<char> spare = std::vector<char>(protocol::kMaxPacket);
	std::string eventText; // an event's JSON when it spans buffer and spare
	client::PassedFds fds; // what came with the last packet
	std::uint8_t kindIn = 0;
	std::uint8_t kindOut = protocol::kStreamMessage;

	// What one non-blocking read of the stream socket found.
	struct Read {
		enum class What { Nothing, Skipped, Got } what = What::Nothing;
		Item item;
	};

	void end(std::string reason)
	{
		over = true;
		up = false;
		endpoint.reset();
		if (overReason.empty())
			overReason = std::move(reason);
	}

	Unexpected<Error> overError() const { return unexpected(EPIPE, overReason.empty() ? "the stream is over" : overReason); }

	// The state an event brings; `fds` holds what came with it.
	Result<void> apply(const StreamEvent &event)
	{
		last = event;
		if (const auto *down = std::get_if<StreamDown>(&event)) {
			up = false;
			endpoint.reset(); // ampd destroyed it; polling it would only say POLLERR
			if (!down->reattach)
				end("the stream is over: " + (down->reason.empty() ? std::string("the channel went down") : down->reason));
			return {};
		}
		if (const auto *upEvent = std::get_if<StreamUp>(&event)) {
			info = upEvent->endpoint;
			if (direct) {
				UniqueFd fd = fds.take(0);
				if (!fd) {
					end("ampd sent a direct stream's up event without its endpoint");
					return unexpected(EPROTO, overReason);
				}
				if (auto nb = makeNonBlocking(fd.get()); !nb)
					return nb;
				endpoint = std::move(fd); // the old one, if any, is closed here
			}
			up = true;
		}
		return {};
	}

	// One packet from the stream socket, if one is there. A message goes to
	// `buffer` (relay mode); direct mode passes an empty one.
	Result<Read> readPacket(std::span<std::uint8_t> buffer)
	{
		struct iovec iov[3] = {{&kindIn, 1}, {buffer.data(), buffer.size()}, {spare.data(), spare.size()}};
		int flags = 0;
		ssize_t n = client::receivePacket(socket.get(), iov, 3, MSG_DONTWAIT | MSG_TRUNC, fds, &flags);
		// A peer that closed with packets of ours unread makes the kernel
		// report ECONNRESET once, ahead of the packets still queued for us:
		// read on, the end (0) comes after them.
		if (n < 0 && errno == ECONNRESET)
			n = client::receivePacket(socket.get(), iov, 3, MSG_DONTWAIT | MSG_TRUNC, fds, &flags);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return Read{};
		if (n < 0 && errno == EINTR)
			return interrupted();
		if (n < 0 && errno != ECONNRESET)
			return unexpected(lastError("read the stream socket"));
		if (n <= 0) {
			end("ampd closed the stream");
			return overError();
		}
		const std::size_t payload = static_cast<std::size_t>(n) - 1;
		if (kindIn == protocol::kStreamMessage && !direct) {
			fds.clear();
			if ((flags & MSG_TRUNC) || payload > buffer.size())
				return unexpected(EMSGSIZE, "a message of " + std::to_string(payload) + " bytes did not fit the buffer of " +
								    std::to_string(buffer.size()) + " (it is lost)");
			return Read{Read::What::Got, Message{payload}};
		}
		if (kindIn != protocol::kStreamEvent) {
			// A kind a newer ampd knows (or a message on a direct
			// stream's socket, which ampd does not send): not ours.
			fds.clear();
			return Read{Read::What::Skipped, {}};
		}
		if (flags & MSG_TRUNC) {
			fds.clear();
			return unexpected(EPROTO, "ampd sent a stream event of " + std::to_string(payload) + " bytes (at most " +
							  std::to_string(spare.size()) + ")");
		}
		std::span<const char> json(reinterpret_cast<const char *>(buffer.data()), payload);
		if (payload > buffer.size()) {
			eventText.assign(reinterpret_cast<const char *>(buffer.data()), buffer.size());
			eventText.append(spare.data(), payload - buffer.size());
			json = eventText;
		}
		auto event = protocol::decodeStreamEvent(json);
		if (!event) {
			fds.clear();
			// An event a newer ampd knows: pass it over, as the Client does.
			if (event.error().code == EOPNOTSUPP)
				return Read{Read::What::Skipped, {}};
			return unexpected(EPROTO, "ampd sent a stream event we cannot read: " + event.error().context);
		}
		auto applied = apply(*event);
		fds.clear(); // an fd no event asked for (relay up, down, error) is closed
		if (!applied)
			return unexpected(std::move(applied).error());
		return Read{Read::What::Got, std::move(*event)};
	}

	// The next message or event within the deadline.
	Result<Item> next(std::span<std::uint8_t> buffer, Deadline deadline, std::chrono::milliseconds timeout)
	{
		for (;;) {
			if (!pending.empty()) {
				Item item = std::move(pending.front());
				pending.pop_front();
				return item;
			}
			if (over)
				return overError();
			if (direct && endpoint) {
				// Messages before events: what the remote sent before it
				// went away comes first, as in relay mode.
				struct iovec iov[2] = {{buffer.data(), buffer.size()}, {spare.data(), spare.size()}};
				ssize_t n = ::readv(endpoint.get(), iov, 2);
				if (n >= 0) {
					// 0 bytes is an empty message: an endpoint has no end of file.
					if (static_cast<std::size_t>(n) > buffer.size())
						return unexpected(EMSGSIZE, "a message of " + std::to_string(n) + " bytes did not fit the buffer of " +
										    std::to_string(buffer.size()) + " (it is lost)");
					return Message{static_cast<std::size_t>(n)};
				}
				if (errno == EINTR)
					return interrupted();
				if (errno == EPIPE)
					endpoint.reset(); // the remote went away; its down event follows on the socket
				else if (errno != EAGAIN && errno != EWOULDBLOCK)
					return unexpected(lastError("read the endpoint"));
			}
			auto read = readPacket(direct ? std::span<std::uint8_t>() : buffer);
			if (!read)
				return unexpected(std::move(read).error());
			if (read->what == Read::What::Got)
				return std::move(read->item);
			if (read->what == Read::What::Skipped)
				continue;
			struct pollfd pfd[2] = {{socket.get(), POLLIN, 0}, {endpoint.get(), POLLIN, 0}};
			int r = ::poll(pfd, direct && endpoint ? 2 : 1, client::pollTimeout(deadline));
			if (r < 0)
				return errno == EINTR ? interrupted() : unexpected(lastError("poll the stream"));
			if (r == 0)
				return unexpected(ETIMEDOUT, "no message " + within(timeout));
		}
	}

	// While down (or after the endpoint said EPIPE), read the events that
	// are there without waiting: the up may have come. A message (relay)
	// stays where it is for receive(); events go to `pending` for next().
	void catchUp()
	{
		while (!over && (!up || (direct && !endpoint))) {
			std::uint8_t kind;
			ssize_t n = ::recv(socket.get(), &kind, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n < 0 || (n == 1 && kind == protocol::kStreamMessage))
				return;
			auto read = readPacket({});
			if (!read || read->what == Read::What::Nothing)
				return;
			if (read->what == Read::What::Got)
				pending.push_back(std::get<StreamEvent>(std::move(read->item)));
		}
	}

	Result<void> sendRelay(std::span<const std::uint8_t> message, Deadline deadline, std::chrono::milliseconds timeout)
	{
		// Kind byte and message as one packet, without copying them together.
		struct iovec iov[2] = {{&kindOut, 1}, {const_cast<std::uint8_t *>(message.data()), message.size()}};
		struct msghdr msg = {};
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		for (;;) {
			if (::sendmsg(socket.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
				return {};
			if (errno == EINTR)
				return interrupted();
			// ampd closed its end; receive() reads what it sent before.
			if (errno == EPIPE || errno == ECONNRESET)
				return unexpected(EPIPE, overReason.empty() ? "ampd closed the stream" : overReason);
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return unexpected(lastError("send on the stream socket"));
			struct pollfd pfd = {socket.get(), POLLOUT, 0};
			int r = ::poll(&pfd, 1, client::pollTimeout(deadline));
			if (r < 0)
				return errno == EINTR ? interrupted() : unexpected(lastError("poll the stream socket"));
			if (r == 0)
				return unexpected(EAGAIN, "ampd did not take the message " + within(timeout));
		}
	}

	Result<void> sendDirect(std::span<const std::uint8_t> message, Deadline deadline, std::chrono::milliseconds timeout)
	{
		std::chrono::nanoseconds wait = kFirstRetry;
		for (;;) {
			if (::write(endpoint.get(), message.data(), message.size()) >= 0)
				return {}; // rpmsg sends a message whole or not at all
			int err = errno;
			if (err == EINTR)
				return interrupted();
			if (err == EPIPE) {
				endpoint.reset();
				return unexpected(ENOTCONN, "the remote's endpoint is gone (the stream is down)");
			}
			// No free TX buffer: EAGAIN since 5.18, ENOMEM before.
			if (err != EAGAIN && err != EWOULDBLOCK && err != ENOMEM)
				return unexpected(Error{err, "write to the endpoint"});
			auto now = Clock::now();
			if (deadline && now >= *deadline)
				return unexpected(EAGAIN, "no rpmsg buffer came free " + within(timeout));
			auto nap = deadline ? std::min<std::chrono::nanoseconds>(wait, *deadline - now) : wait;
			struct timespec ts = {static_cast<time_t>(nap.count() / 1000000000), static_cast<long>(nap.count() % 1000000000)};
			if (::nanosleep(&ts, nullptr) < 0 && errno == EINTR)
				return interrupted();
			wait = std::min<std::chrono::nanoseconds>(wait * 2, kLastRetry);
		}
	}
};

Stream::Stream(std::unique_ptr<State> state) : s_(std::move(state)) {}
Stream::Stream(Stream &&) noexcept = default;
Stream &Stream::operator=(Stream &&) noexcept = default;
Stream::~Stream() = default;

Result<Stream> Stream::adopt(ChannelInfo endpoint, std::uint32_t mtu, std::uint32_t window, bool direct, bool up, int socketFd,
			     int endpointFd)
{
	auto s = std::make_unique<State>();
	s->socket.reset(socketFd);
	s->endpoint.reset(endpointFd);
	s->info = std::move(endpoint);
	s->mtu = mtu;
	s->window = window;
	s->direct = direct;
	s->up = up;
	if (s->endpoint)
		if (auto nb = makeNonBlocking(s->endpoint.get()); !nb)
			return unexpected(std::move(nb).error());
	return Stream(std::move(s));
}

namespace {
Unexpected<Error> closedStream()
{
	return unexpected(EBADF, "the stream has been moved from");
}
} // namespace

Result<void> Stream::send(std::span<const std::uint8_t> message, std::chrono::milliseconds timeout)
{
	if (!s_)
		return closedStream();
	if (message.size() > s_->mtu)
		return unexpected(EMSGSIZE, "a message of " + std::to_string(message.size()) + " bytes is more than the channel's mtu (" +
						    std::to_string(s_->mtu) + ")");
	s_->catchUp();
	if (s_->over)
		return s_->overError();
	if (!s_->up || (s_->direct && !s_->endpoint))
		return unexpected(ENOTCONN, "the stream is down (waiting for the channel to return)");
	auto deadline = client::deadlineAfter(timeout);
	return s_->direct ? s_->sendDirect(message, deadline, timeout) : s_->sendRelay(message, deadline, timeout);
}

Result<Stream::Item> Stream::next(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout)
{
	if (!s_)
		return closedStream();
	return s_->next(buffer, client::deadlineAfter(timeout), timeout);
}

Result<std::size_t> Stream::receive(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout)
{
	if (!s_)
		return closedStream();
	auto deadline = client::deadlineAfter(timeout);
	for (;;) {
		auto item = s_->next(buffer, deadline, timeout);
		if (!item)
			return unexpected(std::move(item).error());
		if (const auto *m = std::get_if<Message>(&*item))
			return m->size;
		const auto &event = std::get<StreamEvent>(*item);
		if (const auto *down = std::get_if<StreamDown>(&event))
			return unexpected(ENOTCONN, down->reason.empty() ? "the channel went down" : down->reason);
		if (const auto *error = std::get_if<StreamError>(&event))
			return unexpected(error->errnum > 0 ? error->errnum : EPROTO, error->message.empty() ? error->code : error->message);
		// An up event: the stream goes on, and so does the wait.
	}
}

int Stream::fd() const
{
	if (!s_)
		return -1;
	return s_->direct ? s_->endpoint.get() : s_->socket.get();
}

int Stream::eventFd() const
{
	return s_ ? s_->socket.get() : -1;
}

const ChannelInfo &Stream::endpoint() const
{
	static const ChannelInfo none;
	return s_ ? s_->info : none;
}

std::uint32_t Stream::mtu() const
{
	return s_ ? s_->mtu : 0;
}

std::uint32_t Stream::window() const
{
	return s_ ? s_->window : 0;
}

bool Stream::direct() const
{
	return s_ && s_->direct;
}

bool Stream::up() const
{
	return s_ && s_->up;
}

bool Stream::over() const
{
	return !s_ || s_->over;
}

const std::optional<StreamEvent> &Stream::lastEvent() const
{
	static const std::optional<StreamEvent> none;
	return s_ ? s_->last : none;
}

} // namespace amp
