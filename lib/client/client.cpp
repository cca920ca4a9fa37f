// SPDX-License-Identifier: MIT
// The C++ client: connect and hello, one request at a time matched by id, events queued meanwhile.
#include "amp/client.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "client/io.h"
#include "protocol/protocol.hpp"

namespace amp {

namespace {

using client::deadlineAfter;
using client::PassedFds;
using client::pollTimeout;
using protocol::Request;
using protocol::RequestType;
using protocol::Response;

struct QueuedEvent {
	RemoteEvent event;
	std::string json;
};

// What one non-blocking read produced.
struct Packet {
	enum class Kind { None, Skipped, Event, Response, Bad } kind = Kind::None;
	Response response;
	std::string raw;
	Error error; // Bad: why the packet could not be read
	// What came with it; closed with the packet unless a call takes them
	// (only an `open` reply should carry any).
	PassedFds fds;
};

Error closedError()
{
	return Error{ECONNRESET, "ampd closed the connection"};
}

} // namespace

struct Client::State {
	UniqueFd fd;
	std::string path;
	protocol::RequestId nextId = 1;
	std::deque<QueuedEvent> events;
	std::uint64_t dropped = 0;
	std::string lastReply;
	std::string serverName;
	std::uint32_t serverVersion = 0;
	bool closed = false;
	std::vector<char> buffer = std::vector<char>(protocol::kMaxPacket);

	void queue(RemoteEvent event, std::string json)
	{
		if (events.size() >= kMaxQueuedEvents) {
			events.pop_front();
			++dropped;
		}
		events.push_back(QueuedEvent{std::move(event), std::move(json)});
	}

	// Reads one packet if one is there, never blocking; events go to the queue.
	Result<Packet> readOne()
	{
		if (closed)
			return unexpected(closedError());
		// MSG_TRUNC makes recvmsg() return the packet's real length, so a
		// packet larger than the buffer is seen as such, not as a cut one.
		// Passed fds land in p.fds whatever the packet turns out to be.
		Packet p;
		struct iovec iov = {buffer.data(), buffer.size()};
		ssize_t n = client::receivePacket(fd.get(), &iov, 1, MSG_DONTWAIT | MSG_TRUNC, p.fds);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return Packet{};
			if (errno == ECONNRESET || errno == EPIPE) {
				closed = true;
				return unexpected(closedError());
			}
			return unexpected(lastError("read from " + path));
		}
		if (n == 0) {
			closed = true;
			return unexpected(closedError());
		}
		if (static_cast<std::size_t>(n) > buffer.size()) {
			p.kind = Packet::Kind::Bad;
			p.error = Error{EMSGSIZE, "ampd sent a packet of " + std::to_string(n) + " bytes (at most " +
							  std::to_string(protocol::kMaxPacket) + ")"};
			return p;
		}
		std::span<const char> bytes(buffer.data(), static_cast<std::size_t>(n));
		auto message = protocol::decodeServerMessage(bytes);
		if (!message) {
			// An event or reply type we do not know comes from a newer
			// daemon: skip it rather than fail whatever call is waiting.
			p.kind = message.error().code == EOPNOTSUPP ? Packet::Kind::Skipped : Packet::Kind::Bad;
			p.error = Error{EPROTO, "ampd sent a message we cannot read: " + message.error().context};
			return p;
		}
		p.raw.assign(bytes.begin(), bytes.end());
		if (auto *event = std::get_if<protocol::Event>(&*message)) {
			queue(std::move(*event), std::move(p.raw));
			p.kind = Packet::Kind::Event;
			return p;
		}
		p.kind = Packet::Kind::Response;
		p.response = std::get<Response>(std::move(*message));
		return p;
	}

	// Waits until fd is ready for `events` or the deadline passes. false on
	// timeout; EINTR is returned so callers decide whether to go on.
	Result<bool> waitFor(short wanted, client::Deadline deadline)
	{
		struct pollfd pfd = {fd.get(), wanted, 0};
		int r = ::poll(&pfd, 1, pollTimeout(deadline));
		if (r < 0)
			return unexpected(lastError("poll " + path));
		return r > 0;
	}

	Result<void> send(const Request &request, client::Deadline deadline)
	{
		if (closed)
			return unexpected(closedError());
		auto text = protocol::encode(request);
		if (!text)
			return unexpected(std::move(text).error());
		for (;;) {
			ssize_t n = ::send(fd.get(), text->data(), text->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n >= 0)
				return {};
			if (errno == EPIPE || errno == ECONNRESET) {
				closed = true;
				return unexpected(closedError());
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return unexpected(lastError("send " + std::string(protocol::toString(request.type())) + " to " + path));
			auto ready = waitFor(POLLOUT, deadline);
			if (!ready && ready.error().code != EINTR)
				return unexpected(std::move(ready).error());
			if (ready && !*ready)
				return unexpected(ETIMEDOUT, "ampd did not take the " + std::string(protocol::toString(request.type())) +
								     " request in time");
		}
	}

	// One request, its reply: the body of a successful one, the server's
	// errno and message for a refusal. The fds passed with a successful
	// reply go to `fds` when given; all others are closed.
	Result<Response> call(protocol::RequestBody body, std::chrono::milliseconds timeout, PassedFds *fds = nullptr)
	{
		auto deadline = deadlineAfter(timeout);
		Request request{nextId++, std::move(body)};
		if (nextId > protocol::kMaxId)
			nextId = 1;
		const std::string what(protocol::toString(request.type()));
		if (auto sent = send(request, deadline); !sent)
			return unexpected(std::move(sent).error());
		for (;;) {
			auto packet = readOne();
			if (!packet)
				return unexpected(std::move(packet).error());
			switch (packet->kind) {
			case Packet::Kind::Bad:
				// We have one request out: whatever could not be read was
				// most likely its reply, and waiting on would only time out.
				return unexpected(std::move(packet->error));
			case Packet::Kind::Event:
			case Packet::Kind::Skipped:
				continue;
			case Packet::Kind::Response: {
				Response &r = packet->response;
				// A null id answers a packet the server could not read: ours.
				// Any other id is a late reply to a call that timed out.
				if (r.id && *r.id != request.id)
					continue;
				lastReply = std::move(packet->raw);
				if (const auto *error = r.error()) {
					int code = error->errnum > 0 ? error->errnum : EPROTO;
					return unexpected(code, error->message.empty() ? what + " refused" : error->message);
				}
				if (r.type != request.type())
					return unexpected(EPROTO, "ampd answered " + what + " with a " +
									  std::string(r.type ? protocol::toString(*r.type) : "untyped") + " reply");
				if (fds)
					*fds = std::move(packet->fds);
				return std::move(r);
			}
			case Packet::Kind::None: break;
			}
			auto ready = waitFor(POLLIN, deadline);
			if (!ready && ready.error().code != EINTR)
				return unexpected(std::move(ready).error());
			if (ready && !*ready)
				return unexpected(ETIMEDOUT, "no reply to " + what + " within " + std::to_string(timeout.count()) + " ms");
		}
	}
};

Client::Client(std::unique_ptr<State> state) : s_(std::move(state)) {}
Client::Client(Client &&) noexcept = default;
Client &Client::operator=(Client &&) noexcept = default;
Client::~Client() = default;

std::string Client::defaultSocketPath()
{
	if (const char *env = std::getenv("AMPD_SOCKET"); env && *env)
		return env;
	return std::string(kDefaultSocket);
}

Result<Client> Client::connect(std::string socketPath, std::string clientName, std::chrono::milliseconds timeout)
{
	struct sockaddr_un addr = {};
	addr.sun_family = AF_UNIX;
	if (socketPath.empty() || socketPath.size() >= sizeof(addr.sun_path))
		return unexpected(ENAMETOOLONG, "socket path \"" + socketPath + "\" does not fit a Unix socket address (1.." +
							std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
	std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());

	auto state = std::make_unique<State>();
	state->path = socketPath;
	state->fd = UniqueFd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
	if (!state->fd)
		return unexpected(lastError("socket(AF_UNIX, SOCK_SEQPACKET)"));
	// Blocking connect: on a Unix socket it completes at once or fails,
	// except when the listen backlog is full, and then waiting is right.
	int r;
	do
		r = ::connect(state->fd.get(), reinterpret_cast<const struct sockaddr *>(&addr), sizeof(addr));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return unexpected(lastError("connect to " + socketPath));
	// From here on every wait is a poll() with a deadline.
	int flags = ::fcntl(state->fd.get(), F_GETFL);
	if (flags < 0 || ::fcntl(state->fd.get(), F_SETFL, flags | O_NONBLOCK) < 0)
		return unexpected(lastError("make " + socketPath + " non-blocking"));

	auto reply = state->call(protocol::Hello{protocol::kVersion, std::move(clientName)}, timeout);
	if (!reply)
		return unexpected(std::move(reply).error());
	const auto &hello = std::get<protocol::HelloReply>(reply->body);
	if (hello.version != protocol::kVersion)
		return unexpected(EPROTONOSUPPORT, "ampd at " + socketPath + " speaks protocol version " + std::to_string(hello.version) +
							   ", libamp speaks " + std::to_string(protocol::kVersion));
	state->serverName = hello.server;
	state->serverVersion = hello.version;
	return Client(std::move(state));
}

namespace {
Error movedFrom()
{
	return Error{ENOTCONN, "client has been moved from"};
}
} // namespace

Result<std::vector<RemoteInfo>> Client::status(std::optional<std::string> remote, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Status{std::move(remote)}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<protocol::StatusReply>(r->body).remotes);
}

Result<ActionReply> Client::start(const std::string &remote, const StartOptions &options, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Start{remote, options.firmware, options.wait}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<ActionReply>(r->body));
}

Result<ActionReply> Client::stop(const std::string &remote, bool graceful, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Stop{remote, graceful}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<ActionReply>(r->body));
}

Result<ActionReply> Client::restart(const std::string &remote, std::optional<std::string> firmware, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Restart{remote, std::move(firmware)}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<ActionReply>(r->body));
}

Result<void> Client::subscribe(std::optional<std::string> remote, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Subscribe{std::move(remote)}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return {};
}

Result<InspectReply> Client::inspect(const std::string &firmware, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Inspect{firmware}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<InspectReply>(r->body));
}

Result<std::vector<ChannelInfo>> Client::channels(std::optional<std::string> remote, std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	auto r = s_->call(protocol::Channels{std::move(remote)}, timeout);
	if (!r)
		return unexpected(std::move(r).error());
	return std::move(std::get<protocol::ChannelsReply>(r->body).channels);
}

Result<Stream> Client::open(const std::string &remote, const std::string &channel, const OpenOptions &options,
			    std::chrono::milliseconds timeout)
{
	if (!s_)
		return unexpected(movedFrom());
	protocol::Open request{remote, channel, std::nullopt, options.direct, options.reattach};
	if (options.addr != kAddrAny)
		request.addr = options.addr;
	PassedFds fds;
	auto r = s_->call(std::move(request), timeout, &fds);
	if (!r)
		return unexpected(std::move(r).error());
	const auto &reply = std::get<protocol::OpenReply>(r->body);
	const std::string what = "open " + remote + " " + channel + ": ";
	// Closing what did come closes the stream: ampd then destroys the
	// endpoint, so a reply we cannot use leaves nothing behind.
	if (fds.truncated())
		return unexpected(EPROTO, what + "ampd passed more file descriptors than an open reply has");
	// The endpoint comes with the reply only when there is one: a reattach
	// stream that waits for its channel gets it with the up event.
	std::size_t needed = reply.direct && reply.up ? 2 : 1;
	if (fds.size() < needed)
		return unexpected(EPROTO, what + "the reply passed " + std::to_string(fds.size()) + " file descriptor(s), " +
						 (needed == 2 ? "a direct stream needs 2 (stream socket, endpoint)" : "it needs the stream socket"));
	UniqueFd socket = fds.take(0);
	UniqueFd endpoint = needed == 2 ? fds.take(1) : UniqueFd();
	return Stream::adopt(reply.endpoint, reply.mtu, reply.window, reply.direct, reply.up, socket.release(), endpoint.release());
}

Result<RemoteEvent> Client::nextEvent(std::chrono::milliseconds timeout, std::string *json)
{
	if (!s_)
		return unexpected(movedFrom());
	auto deadline = deadlineAfter(timeout);
	for (;;) {
		if (auto event = pollEvent(json))
			return std::move(*event);
		auto packet = s_->readOne();
		if (!packet)
			return unexpected(std::move(packet).error());
		if (packet->kind == Packet::Kind::Bad)
			return unexpected(std::move(packet->error));
		if (packet->kind != Packet::Kind::None)
			continue; // an event is queued now, or a stale reply was dropped
		auto ready = s_->waitFor(POLLIN, deadline);
		if (!ready)
			return unexpected(std::move(ready).error());
		if (!*ready)
			return unexpected(ETIMEDOUT, "no event within " + std::to_string(timeout.count()) + " ms");
	}
}

int Client::fd() const
{
	return s_ ? s_->fd.get() : -1;
}

Result<std::size_t> Client::dispatch()
{
	if (!s_)
		return unexpected(movedFrom());
	std::size_t count = 0;
	for (;;) {
		auto packet = s_->readOne();
		if (!packet)
			return unexpected(std::move(packet).error());
		if (packet->kind == Packet::Kind::None)
			return count;
		++count;
		// The packet is consumed: the next dispatch() goes on after it.
		if (packet->kind == Packet::Kind::Bad)
			return unexpected(std::move(packet->error));
	}
}

std::optional<RemoteEvent> Client::pollEvent(std::string *json)
{
	if (!s_ || s_->events.empty())
		return std::nullopt;
	QueuedEvent front = std::move(s_->events.front());
	s_->events.pop_front();
	if (json)
		*json = std::move(front.json);
	return std::move(front.event);
}

std::size_t Client::queuedEvents() const
{
	return s_ ? s_->events.size() : 0;
}

void Client::discardEvents()
{
	if (s_)
		s_->events.clear();
}

std::uint64_t Client::droppedEvents() const
{
	return s_ ? s_->dropped : 0;
}

const std::string &Client::lastReplyJson() const
{
	static const std::string empty;
	return s_ ? s_->lastReply : empty;
}

const std::string &Client::serverName() const
{
	static const std::string empty;
	return s_ ? s_->serverName : empty;
}

std::uint32_t Client::serverVersion() const
{
	return s_ ? s_->serverVersion : 0;
}

} // namespace amp
