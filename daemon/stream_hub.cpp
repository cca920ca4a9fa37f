// SPDX-License-Identifier: MIT
// Channel streams: endpoints per client, the relay, and following the remote.
//
// I/O is edge-triggered: a callback only records that a side may be ready,
// and run() moves what it can, at most a batch per direction; a stream with
// work left joins the run queue, which gives every such stream one more
// batch per loop iteration. So no fd's readiness is re-polled while it is
// known (on the simulator each poll of an endpoint is a round trip to it),
// and no stream waits behind another one's flood.
#include "stream_hub.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

namespace amp::daemon {

namespace {

constexpr size_t kPayload = kernel::kRpmsgMaxPayload;
// Slots of the client queue kept for events, so "down" and "up" always fit.
constexpr unsigned kEventReserve = 4;

// One packet: a kind byte and up to one rpmsg payload, stored in place so
// moving a message costs no allocation. An "up" event in direct mode
// carries the new endpoint fd with it.
struct Slot {
	uint8_t kind = protocol::kStreamMessage;
	uint16_t len = 0;
	uint8_t data[kPayload];
	UniqueFd fd;
};

// Fixed-capacity FIFO of slots, allocated once per stream.
class Ring {
public:
	explicit Ring(unsigned capacity) : slots_(new Slot[capacity]), cap_(capacity) {}
	unsigned size() const { return size_; }
	unsigned capacity() const { return cap_; }
	bool empty() const { return size_ == 0; }
	Slot &at(unsigned i) { return slots_[(head_ + i) % cap_]; }
	Slot &front() { return at(0); }
	// The next free slot; push() makes it part of the queue.
	Slot &tail() { return at(size_); }
	void push() { size_++; }
	void pop()
	{
		front().fd.reset();
		head_ = (head_ + 1) % cap_;
		size_--;
	}
	void clear()
	{
		while (!empty())
			pop();
		head_ = 0;
	}

private:
	std::unique_ptr<Slot[]> slots_;
	unsigned cap_;
	unsigned head_ = 0;
	unsigned size_ = 0;
};

std::string channelNames(const Remote &remote)
{
	std::string list;
	for (const auto &c : remote.channels())
		list += (list.empty() ? "" : ", ") + c.channel;
	return list.empty() ? "none" : list;
}

// Take nothing more from a client whose stream is ending, and drop what it
// sent that we did not read. A SOCK_SEQPACKET socket closed with packets
// unread makes the kernel report ECONNRESET on the peer's next read, ahead
// of the packets still queued for it, so the client would never see the
// last messages nor the down event. After SHUT_RD its sends fail (EPIPE)
// and nothing more can arrive, so the queue stays empty until we close.
// (An empty packet reads like the end here: one left at the tail of the
// queue can still make the client see ECONNRESET.)
void refuseClient(int sock)
{
	::shutdown(sock, SHUT_RD);
	char byte;
	for (;;) {
		ssize_t n = ::recv(sock, &byte, 1, MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		int queued = 0;
		if (n == 0 && ::ioctl(sock, SIOCINQ, &queued) == 0 && queued > 0)
			continue;
		return;
	}
}

} // namespace

struct StreamHub::Stream {
	Stream(unsigned clientQueue, unsigned batch) : toKernel(batch), toClient(clientQueue + kEventReserve) {}

	uint64_t id = 0;
	std::string remote;
	std::string channel;
	std::string who;
	uint32_t addr = kernel::kRpmsgAddrAny;
	uint32_t dst = kernel::kRpmsgAddrAny;
	bool direct = false;
	bool reattach = false;
	unsigned window = 0;

	UniqueFd sock; // our end of the stream socket
	EventSource sockSource;
	std::optional<kernel::RpmsgEndpoint> ept;
	EventSource eptSource;

	Ring toKernel; // read from the client, not yet accepted by the kernel
	Ring toClient; // from the remote (and events), not yet taken by the client
	unsigned inFlight = 0;

	// What the edge-triggered sources said and nothing since contradicted.
	bool sockIn = false;
	bool sockOut = true;
	bool sockHup = false;
	bool eptIn = false;

	bool waitingTx = false; // in the remote's retry queue
	bool queued = false;    // in the run queue
	bool ending = false;    // down for good: close once the client has everything
	bool clientGone = false;
	bool closing = false;
	uint64_t sent = 0, received = 0;
};

struct StreamHub::RemoteLinks {
	std::map<std::string, kernel::RpmsgControl> controls; // open rpmsg_ctrlN, by name
	std::deque<uint64_t> txWaiters;                        // oldest first
	EventSource retryTimer;
	std::chrono::microseconds retryDelay{0};
	bool retrying = false; // retryTx() is running: it re-arms the timer itself
};

StreamHub::StreamHub(EventLoop &loop, Manager &manager, SysfsRoot root, StreamLimits limits)
	: loop_(loop), manager_(manager), root_(std::move(root)), limits_(limits)
{
	limits_.batch = std::clamp(limits_.batch, 1u, 64u);
	limits_.clientQueue = std::max(limits_.clientQueue, 1u);
}

StreamHub::~StreamHub()
{
	for (auto &[id, s] : streams_) {
		s->eptSource.reset();
		if (s->ept) {
			Remote *r = manager_.find(s->remote);
			if (!r || endpointsGone(r->state()))
				s->ept->markRemoteGone();
			(void)s->ept->destroy();
		}
	}
	streams_.clear();
	links_.clear();
}

size_t StreamHub::endpointCount() const
{
	return static_cast<size_t>(std::count_if(streams_.begin(), streams_.end(), [](const auto &p) { return p.second->ept.has_value(); }));
}

// ---- open, attach, detach ------------------------------------------------------

Result<StreamHub::Opened> StreamHub::open(Remote &remote, const protocol::Open &request, const std::string &who)
{
	if (streams_.size() >= limits_.maxStreams)
		return unexpected(EMFILE, "ampd has " + std::to_string(streams_.size()) + " streams open, its limit");
	const kernel::RpmsgChannel *channel = endpointsUsable(remote.state()) ? remote.findChannel(request.channel) : nullptr;
	if (!channel && !request.reattach)
		return unexpected(ENOENT, "remote " + remote.alias() + " (" + std::string(toString(remote.state())) +
						  ") has no channel \"" + request.channel + "\" up (channels: " + channelNames(remote) +
						  "); open with reattach to wait for it");
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return unexpected(lastError("socketpair(AF_UNIX, SOCK_SEQPACKET)"));
	UniqueFd ours(pair[0]), theirs(pair[1]);
	if (fcntl(ours.get(), F_SETFL, O_NONBLOCK) < 0)
		return unexpected(lastError("O_NONBLOCK on a stream socket"));

	auto s = std::make_unique<Stream>(limits_.clientQueue, limits_.batch);
	s->id = nextId_++;
	s->remote = remote.alias();
	s->channel = request.channel;
	s->who = who;
	s->addr = request.addr.value_or(kernel::kRpmsgAddrAny);
	s->direct = request.direct;
	s->reattach = request.reattach;
	s->window = remote.config() ? remote.config()->maxInFlight : RemoteConfig{}.maxInFlight;
	s->sock = std::move(ours);
	if (channel)
		if (auto r = attach(*s, remote, *channel); !r)
			return unexpected(std::move(r).error());
	uint64_t id = s->id;
	auto source = loop_.addIo(s->sock.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  [this, id](uint32_t revents) { onSocket(id, revents); });
	if (!source) {
		if (s->ept)
			(void)s->ept->destroy();
		return unexpected(source.error());
	}
	s->sockSource = std::move(*source);

	Opened opened;
	opened.reply.endpoint = {remote.alias(), request.channel, s->addr, s->dst};
	opened.reply.direct = s->direct;
	opened.reply.up = s->ept.has_value();
	opened.reply.window = s->window;
	opened.stream = std::move(theirs);
	if (s->direct && s->ept) {
		opened.endpoint = UniqueFd(fcntl(s->ept->fd(), F_DUPFD_CLOEXEC, 3));
		if (!opened.endpoint) {
			Error e = lastError("dup of the endpoint fd");
			(void)s->ept->destroy();
			return unexpected(std::move(e));
		}
	}
	log::ScopedFields fields{{"REMOTE", s->remote}, {"CHANNEL", s->channel}};
	log::rpmsg()->info("{}: stream {} on \"{}\" opened for {}: {}{}{}", s->remote, id, s->channel, who,
			   s->ept ? "endpoint " + s->ept->node() : "waiting for the channel", s->direct ? ", direct" : "",
			   s->reattach ? ", reattach" : "");
	streams_.emplace(id, std::move(s));
	return opened;
}

Result<kernel::RpmsgControl *> StreamHub::controlFor(Remote &remote, const kernel::RpmsgChannel &channel)
{
	auto node = kernel::findControlNode(root_, channel);
	if (!node)
		return unexpected(std::move(node).error());
	auto &links = links_[remote.alias()];
	if (!links)
		links = std::make_unique<RemoteLinks>();
	auto it = links->controls.find(node->ctrl);
	if (it != links->controls.end() && it->second.isOpen())
		return &it->second;
	auto ctrl = kernel::RpmsgControl::open(root_, node->ctrl);
	if (!ctrl)
		return unexpected(std::move(ctrl).error());
	auto [pos, inserted] = links->controls.insert_or_assign(node->ctrl, std::move(*ctrl));
	return &pos->second;
}

void StreamHub::closeControls(const std::string &remote)
{
	// A control fd kept across a stop makes the next CREATE_EPT fail with
	// ENOENT and a kernel WARNING (kernel-abi.md 5): reopen after the start.
	if (auto it = links_.find(remote); it != links_.end())
		it->second->controls.clear();
}

Result<void> StreamHub::attach(Stream &s, Remote &remote, const kernel::RpmsgChannel &channel)
{
	auto ctrl = controlFor(remote, channel);
	if (!ctrl)
		return unexpected(std::move(ctrl).error());
	auto ept = (*ctrl)->createEndpoint(channel.service, channel.remoteAddr(), s.addr);
	if (!ept)
		return unexpected(std::move(ept).error());
	s.ept = std::move(*ept);
	s.dst = channel.remoteAddr();
	s.inFlight = 0;
	s.eptIn = false;
	if (!s.direct) {
		uint64_t id = s.id;
		auto source = loop_.addIo(s.ept->fd(), EPOLLIN | EPOLLET, [this, id](uint32_t revents) { onEndpoint(id, revents); });
		if (!source) {
			(void)s.ept->destroy();
			s.ept.reset();
			return unexpected(source.error());
		}
		s.eptSource = std::move(*source);
		// Messages may have come between open() and the epoll registration.
		s.eptIn = true;
	}
	return {};
}

void StreamHub::detach(Stream &s, const std::string &reason, bool remoteAlive)
{
	if (!s.ept || s.closing)
		return;
	// What the remote sent before it went is in the endpoint's queue still
	// (the demo's TERM just before its channel goes): the client gets it
	// ahead of "down". Once the remote is gone the kernel has dropped it.
	if (remoteAlive && !s.direct)
		(void)readEndpoint(s, limits_.clientQueue);
	s.eptSource.reset();
	if (!remoteAlive)
		s.ept->markRemoteGone();
	std::string node = s.ept->node();
	(void)s.ept->destroy();
	s.ept.reset();
	s.eptIn = false;
	s.waitingTx = false;
	s.inFlight = 0;
	log::ScopedFields fields{{"REMOTE", s.remote}, {"CHANNEL", s.channel}};
	log::rpmsg()->info("{}: stream {} on \"{}\" down ({}): endpoint {} closed after {} messages out, {} in{}", s.remote,
			   s.id, s.channel, reason, node, s.sent, s.received, s.reattach ? "; waiting for the channel" : "");
	if (!s.reattach) {
		// Read from the client but never sent: the down event tells it
		// that what it sent after the last answer may not have arrived.
		s.toKernel.clear();
		s.ending = true;
		refuseClient(s.sock.get());
	}
	if (!queueEvent(s, protocol::StreamDown{reason, s.reattach}))
		return;
	run(s);
}

void StreamHub::attachWaiting(Remote &remote)
{
	if (!endpointsUsable(remote.state()))
		return;
	for (auto &[id, sp] : streams_) {
		Stream &s = *sp;
		if (s.remote != remote.alias() || s.ept || s.ending || s.closing)
			continue;
		const kernel::RpmsgChannel *channel = remote.findChannel(s.channel);
		if (!channel)
			continue;
		if (auto r = attach(s, remote, *channel); !r) {
			log::rpmsg()->warn("{}: stream {} cannot reattach to \"{}\": {}", s.remote, s.id, s.channel,
					   r.error().message());
			continue;
		}
		log::rpmsg()->info("{}: stream {} on \"{}\" up again: endpoint {}", s.remote, s.id, s.channel, s.ept->node());
		UniqueFd fd;
		if (s.direct) {
			fd = UniqueFd(fcntl(s.ept->fd(), F_DUPFD_CLOEXEC, 3));
			if (!fd) {
				close(s.id, std::string("cannot pass the new endpoint: ") + strerror(errno));
				continue;
			}
		}
		if (!queueEvent(s, protocol::StreamUp{{s.remote, s.channel, s.addr, s.dst}}, std::move(fd)))
			continue;
		run(s);
	}
}

void StreamHub::onEvent(const protocol::Event &event)
{
	if (const auto *st = std::get_if<protocol::StateEvent>(&event)) {
		Remote *remote = manager_.find(st->remote);
		if (endpointsUsable(st->to)) {
			if (remote)
				attachWaiting(*remote);
			return;
		}
		if (st->to == RemoteState::Stopping || endpointsGone(st->to)) {
			// Stopping: the core still runs, so the endpoints can be
			// destroyed properly before the stop; after it they cannot.
			std::string reason = st->to == RemoteState::Crashed ? "remote crashed"
					     : st->to == RemoteState::Stopping ? "remote stopping"
										: "remote " + std::string(toString(st->to));
			for (auto &[id, s] : streams_)
				if (s->remote == st->remote)
					detach(*s, reason, st->to == RemoteState::Stopping);
			closeControls(st->remote);
		}
		return;
	}
	const auto &ch = std::get<protocol::ChannelEvent>(event);
	Remote *remote = manager_.find(ch.channel.remote);
	if (ch.up) {
		if (remote)
			attachWaiting(*remote);
		return;
	}
	bool alive = remote && !endpointsGone(remote->state());
	for (auto &[id, s] : streams_)
		if (s->remote == ch.channel.remote && s->channel == ch.channel.channel)
			detach(*s, "channel gone", alive);
	// The last channel going can be a stop behind ampd's back, seen
	// before the state is: do not keep a control fd across it.
	if (!remote || remote->channels().empty())
		closeControls(ch.channel.remote);
}

// ---- the relay -----------------------------------------------------------------

StreamHub::Stream *StreamHub::find(uint64_t id)
{
	auto it = streams_.find(id);
	return it == streams_.end() || it->second->closing ? nullptr : it->second.get();
}

void StreamHub::onSocket(uint64_t id, uint32_t revents)
{
	Stream *live = find(id);
	if (!live)
		return;
	Stream &s = *live;
	if (revents & EPOLLIN)
		s.sockIn = true;
	if (revents & EPOLLOUT)
		s.sockOut = true;
	if (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		// Read what the client sent before it went; end-of-file ends it.
		s.sockIn = true;
		s.sockHup = true;
	}
	run(s);
}

void StreamHub::onEndpoint(uint64_t id, uint32_t revents)
{
	Stream *live = find(id);
	if (!live)
		return;
	Stream &s = *live;
	if (revents & EPOLLIN)
		s.eptIn = true;
	if (revents & (EPOLLERR | EPOLLHUP)) {
		// POLLERR is the kernel's word for "the remote went away"; what
		// was queued before is lost to the kernel, not to us.
		s.ept->noteRevents(POLLERR);
		detach(s, "remote gone", false);
		manager_.pokeSoon(s.remote);
		return;
	}
	run(s);
}

void StreamHub::run(Stream &s)
{
	if (s.closing)
		return;
	pumpToClient(s);
	if (s.closing)
		return;
	pumpToKernel(s);
	if (s.closing)
		return;
	if (s.ending && s.toClient.empty()) {
		close(s.id, "stream over");
		return;
	}
	if (s.clientGone && s.toKernel.empty()) {
		close(s.id, "client closed the stream");
		return;
	}
	if (moreWork(s))
		schedule(s);
}

// Work left after a batch, that no edge will announce again.
bool StreamHub::moreWork(const Stream &s) const
{
	bool fromKernel = s.ept && !s.direct && s.eptIn && s.toClient.size() < limits_.clientQueue;
	bool toClient = s.sockOut && !s.toClient.empty();
	return fromKernel || toClient || canReadClient(s) || (canWriteKernel(s) && !s.toKernel.empty());
}

bool StreamHub::canWriteKernel(const Stream &s) const
{
	return s.ept && !s.direct && !s.waitingTx && (s.window == 0 || s.inFlight < s.window);
}

bool StreamHub::canReadClient(const Stream &s) const
{
	if (!s.sockIn || s.clientGone || s.ending || !s.toKernel.empty())
		return false;
	// Each packet may need an error event: keep room for it.
	if (s.toClient.size() + 1 >= s.toClient.capacity() - 2)
		return false;
	// Direct streams: anything the client sends here is an error to report;
	// relay streams read only what the kernel can take now.
	return s.direct || canWriteKernel(s);
}

void StreamHub::schedule(Stream &s)
{
	if (s.queued)
		return;
	s.queued = true;
	runQueue_.push_back(s.id);
	if (!runSource_.active()) {
		auto src = loop_.addDefer([this] {
			runSource_.reset();
			auto ids = std::exchange(runQueue_, {});
			for (uint64_t id : ids) {
				if (Stream *s = find(id)) {
					s->queued = false;
					run(*s);
				}
			}
		});
		if (src)
			runSource_ = std::move(*src);
	}
}

void StreamHub::pumpToClient(Stream &s)
{
	// A slow client's messages wait in its queue; only a full queue stops
	// reading the endpoint.
	flushClient(s);
	if (!s.ept || s.direct || !s.eptIn)
		return;
	if (int err = readEndpoint(s, limits_.batch); err == EAGAIN) {
		s.eptIn = false;
	} else if (err) {
		bool gone = err == EPIPE || err == ENOTCONN || err == ENODEV;
		if (gone)
			s.ept->markRemoteGone();
		detach(s, gone ? std::string("remote gone") : std::string("endpoint read failed: ") + strerror(err), !gone);
		manager_.pokeSoon(s.remote);
		return;
	}
	flushClient(s);
}

int StreamHub::readEndpoint(Stream &s, unsigned max)
{
	for (unsigned moved = 0; moved < max && s.toClient.size() < limits_.clientQueue;) {
		Slot &slot = s.toClient.tail();
		ssize_t n = ::read(s.ept->fd(), slot.data, kPayload);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		// 0 bytes is an empty message, not end-of-file (rpmsg_char).
		slot.kind = protocol::kStreamMessage;
		slot.len = static_cast<uint16_t>(n);
		s.toClient.push();
		s.received++;
		if (s.inFlight)
			s.inFlight--;
		moved++;
	}
	return 0;
}

bool StreamHub::flushClient(Stream &s)
{
	if (s.clientGone) {
		s.toClient.clear();
		return true;
	}
	while (!s.toClient.empty() && s.sockOut) {
		// Consecutive plain packets go in one sendmmsg; a packet with an fd
		// goes alone with its SCM_RIGHTS.
		mmsghdr msgs[64];
		iovec iov[64][2];
		unsigned n = 0;
		if (s.toClient.front().fd) {
			Slot &slot = s.toClient.front();
			iovec v[2] = {{&slot.kind, 1}, {slot.data, slot.len}};
			alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
			msghdr msg{};
			msg.msg_iov = v;
			msg.msg_iovlen = 2;
			msg.msg_control = control;
			msg.msg_controllen = sizeof control;
			cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			int fd = slot.fd.get();
			std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
			if (::sendmsg(s.sock.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				if (errno == EAGAIN) {
					s.sockOut = false;
					return false;
				}
				s.clientGone = true;
				s.toClient.clear();
				return true;
			}
			s.toClient.pop();
			continue;
		}
		while (n < s.toClient.size() && n < std::size(msgs) && !s.toClient.at(n).fd) {
			Slot &slot = s.toClient.at(n);
			iov[n][0] = {&slot.kind, 1};
			iov[n][1] = {slot.data, slot.len};
			msgs[n] = {};
			msgs[n].msg_hdr.msg_iov = iov[n];
			msgs[n].msg_hdr.msg_iovlen = 2;
			n++;
		}
		int sent = ::sendmmsg(s.sock.get(), msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s.sockOut = false;
				return false;
			}
			// EPIPE, ECONNRESET: the client is gone; nothing more to deliver.
			s.clientGone = true;
			s.toClient.clear();
			return true;
		}
		for (int i = 0; i < sent; i++)
			s.toClient.pop();
		if (static_cast<unsigned>(sent) < n) {
			s.sockOut = false;
			return false;
		}
	}
	return s.toClient.empty();
}

void StreamHub::pumpToKernel(Stream &s)
{
	for (int round = 0; round < 2; round++) {
		while (!s.toKernel.empty() && canWriteKernel(s)) {
			Slot &slot = s.toKernel.front();
			ssize_t n = ::write(s.ept->fd(), slot.data, slot.len);
			if (n >= 0) {
				s.toKernel.pop();
				s.sent++;
				s.inFlight++;
				continue;
			}
			int err = errno;
			if (err == EINTR)
				continue;
			if (err == EAGAIN || err == ENOMEM) {
				// No free TX buffer (EAGAIN 5.18+, ENOMEM before). The
				// endpoint never says POLLOUT: retry on a timer.
				waitForTxBuffer(s);
				return;
			}
			if (err == EPIPE) {
				s.ept->markRemoteGone();
				detach(s, "remote gone", false);
				manager_.pokeSoon(s.remote);
				return;
			}
			// Refused by the kernel (its errno): say so, keep going.
			Error e{err, "the kernel refused a " + std::to_string(slot.len) + "-byte message"};
			s.toKernel.pop();
			if (!queueEvent(s, protocol::StreamError{e.name(), err, e.context}))
				return;
		}
		if (round == 1 || !canReadClient(s))
			return;
		readClient(s);
		if (s.closing)
			return;
	}
}

void StreamHub::readClient(Stream &s)
{
	// toKernel is empty here: read straight into its slots.
	s.toKernel.clear();
	unsigned want = s.toKernel.capacity();
	// Room for an error event per packet.
	want = std::min(want, s.toClient.capacity() - 2 - s.toClient.size());
	mmsghdr msgs[64];
	iovec iov[64][2];
	for (unsigned i = 0; i < want; i++) {
		Slot &slot = s.toKernel.at(i);
		iov[i][0] = {&slot.kind, 1};
		iov[i][1] = {slot.data, kPayload};
		msgs[i] = {};
		msgs[i].msg_hdr.msg_iov = iov[i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	// MSG_TRUNC: msg_len is the packet's real size, so an oversized one is
	// told apart from a full one.
	int n = ::recvmmsg(s.sock.get(), msgs, want, MSG_DONTWAIT | MSG_TRUNC, nullptr);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			s.sockIn = errno == EINTR;
			return;
		}
		s.clientGone = true;
		return;
	}
	if (static_cast<unsigned>(n) < want)
		s.sockIn = false;
	for (int i = 0; i < n; i++) {
		Slot &slot = s.toKernel.at(static_cast<unsigned>(i));
		size_t len = msgs[i].msg_len;
		auto refuse = [&](int code, const std::string &why) {
			Error e{code, why};
			return queueEvent(s, protocol::StreamError{e.name(), code, why});
		};
		if (len == 0) {
			// End-of-file reads as an empty packet too: the peer's
			// shutdown tells them apart.
			pollfd p{s.sock.get(), POLLRDHUP, 0};
			if (s.sockHup || (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)))) {
				s.clientGone = true;
				break;
			}
			if (!refuse(EBADMSG, "empty packet (a stream packet starts with its kind byte)"))
				return;
			continue;
		}
		if (slot.kind != protocol::kStreamMessage) {
			if (!refuse(EPROTO, "packet of kind " + std::to_string(slot.kind) + " (clients send kind 0: a message)"))
				return;
			continue;
		}
		if (len > protocol::kMaxStreamPacket) {
			if (!refuse(EMSGSIZE, "message of " + std::to_string(len - 1) + " bytes not sent (at most " +
						      std::to_string(kPayload) + ")"))
				return;
			continue;
		}
		if (s.direct) {
			if (!refuse(EPROTO, "direct stream: messages go through the endpoint fd, not the stream socket"))
				return;
			continue;
		}
		// Keep it: compact into the queue's order.
		Slot &dst = s.toKernel.tail();
		if (&dst != &slot) {
			std::memcpy(dst.data, slot.data, len - 1);
			dst.kind = slot.kind;
		}
		dst.len = static_cast<uint16_t>(len - 1);
		s.toKernel.push();
	}
}

bool StreamHub::queueEvent(Stream &s, const protocol::StreamEvent &event, UniqueFd fd)
{
	if (s.clientGone)
		return true;
	auto json = protocol::encode(event);
	if (!json || json->size() > kPayload) {
		log::rpmsg()->error("{}: stream {}: cannot encode an event", s.remote, s.id);
		return true;
	}
	if (s.toClient.size() >= s.toClient.capacity()) {
		close(s.id, "does not read its stream (" + std::to_string(s.toClient.size()) + " packets waiting)");
		return false;
	}
	Slot &slot = s.toClient.tail();
	slot.kind = protocol::kStreamEvent;
	slot.len = static_cast<uint16_t>(json->size());
	std::memcpy(slot.data, json->data(), json->size());
	slot.fd = std::move(fd);
	s.toClient.push();
	return true;
}

void StreamHub::waitForTxBuffer(Stream &s)
{
	auto &links = links_[s.remote];
	if (!links)
		links = std::make_unique<RemoteLinks>();
	if (!s.waitingTx) {
		s.waitingTx = true;
		links->txWaiters.push_back(s.id);
	}
	if (!links->retrying && !links->retryTimer.active()) {
		links->retryDelay = links->retryDelay.count() ? std::min(links->retryDelay * 2, limits_.retryMax) : limits_.retryMin;
		armRetry(*links, s.remote);
	}
}

void StreamHub::armRetry(RemoteLinks &links, const std::string &remote)
{
	auto t = loop_.addTimer(links.retryDelay, [this, remote] { retryTx(remote); }, std::chrono::microseconds(1));
	if (t)
		links.retryTimer = std::move(*t);
	else
		log::rpmsg()->error("{}: cannot arm the TX retry timer: {}", remote, t.error().message());
}

void StreamHub::retryTx(const std::string &remote)
{
	auto it = links_.find(remote);
	if (it == links_.end())
		return;
	RemoteLinks &links = *it->second;
	links.retryTimer.reset();
	// Oldest waiter first: whoever found the buffers gone first gets the
	// first one freed. A stream that fails again re-queues at the back.
	auto waiters = std::exchange(links.txWaiters, {});
	bool progress = false;
	links.retrying = true;
	for (uint64_t id : waiters) {
		Stream *s = find(id);
		if (!s || !s->waitingTx)
			continue;
		s->waitingTx = false;
		uint64_t before = s->sent;
		run(*s);
		progress |= s->sent != before;
	}
	links.retrying = false;
	if (links.txWaiters.empty()) {
		links.retryDelay = std::chrono::microseconds(0);
		return;
	}
	links.retryDelay = progress ? limits_.retryMin : std::min(links.retryDelay * 2, limits_.retryMax);
	armRetry(links, remote);
}

void StreamHub::close(uint64_t id, const std::string &why)
{
	Stream *live = find(id);
	if (!live)
		return;
	Stream &s = *live;
	s.closing = true;
	// Disabled, not destroyed: this may run inside the stream's own callback.
	s.sockSource.disable();
	s.eptSource.disable();
	if (!s.clientGone)
		refuseClient(s.sock.get());
	std::string node;
	if (s.ept) {
		node = s.ept->node();
		Remote *r = manager_.find(s.remote);
		if (!r || endpointsGone(r->state()))
			s.ept->markRemoteGone();
		(void)s.ept->destroy();
		s.ept.reset();
	}
	log::ScopedFields fields{{"REMOTE", s.remote}, {"CHANNEL", s.channel}};
	log::rpmsg()->info("{}: stream {} on \"{}\" closed ({}){}{}; {} messages out, {} in", s.remote, id, s.channel, why,
			   node.empty() ? "" : ", endpoint ", node, s.sent, s.received);
	doomed_.push_back(id);
	auto reaper = loop_.addDefer([this] { reap(); });
	if (reaper)
		reaper_ = std::move(*reaper);
}

void StreamHub::reap()
{
	for (uint64_t id : std::exchange(doomed_, {}))
		streams_.erase(id);
}

} // namespace amp::daemon
