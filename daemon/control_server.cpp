// SPDX-License-Identifier: MIT
// Control socket sessions: decode, authorize, dispatch to the manager, reply.
#include "control_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "base/log.h"
#include "kernel/firmware.h"
#include "stream_hub.hpp"

namespace amp::daemon {

namespace {
bool named(const PeerCredentials &peer, const Principals &who);
}

bool PeerCredentials::inGroup(gid_t g) const
{
	return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

bool mayControl(const PeerCredentials &peer, const RemoteConfig *config)
{
	if (peer.uid == 0)
		return true;
	return config && named(peer, config->control);
}

namespace {

bool named(const PeerCredentials &peer, const Principals &who)
{
	for (const Principal &u : who.users)
		if (u.id && *u.id == peer.uid)
			return true;
	for (const Principal &g : who.groups)
		if (g.id && peer.inGroup(*g.id))
			return true;
	return false;
}

} // namespace

bool mayOpen(const PeerCredentials &peer, const RemoteConfig *config, const std::string &channel)
{
	if (mayControl(peer, config))
		return true;
	if (!config)
		return false;
	for (const char *key : {channel.c_str(), "*"})
		if (auto it = config->channelAccess.find(key); it != config->channelAccess.end() && named(peer, it->second))
			return true;
	return false;
}

protocol::InspectReply toInspectReply(const std::string &path, const kernel::FirmwareReport &report)
{
	using Item = protocol::InspectItem;
	protocol::InspectReply r;
	r.path = path;
	r.format = kernel::describeFormat(report);
	r.entry = report.entry;
	r.resourceTable = report.table.present && report.table.accepted;
	r.vdevs = kernel::vdevCount(report);
	for (const auto &line : kernel::reportLines(report))
		r.report.push_back({line.level == kernel::ReportLine::Level::Error     ? Item::Level::Error
				    : line.level == kernel::ReportLine::Level::Warning ? Item::Level::Warning
										       : Item::Level::Info,
				    line.text});
	bool bad = report.verdict == kernel::FirmwareVerdict::Refuse || report.verdict == kernel::FirmwareVerdict::Unsafe;
	r.report.push_back({bad ? Item::Level::Error : Item::Level::Info,
			    std::string("verdict: ") + kernel::verdictName(report.verdict) + ": " + report.reason});
	return r;
}

struct ControlServer::Session {
	uint64_t id = 0;
	UniqueFd fd;
	EventSource source;
	PeerCredentials peer;
	std::string client; // from hello
	std::string name;   // for logs: "pid 123 uid 1000"
	bool subscribedAll = false;
	std::vector<std::string> subscribed; // remote aliases
	struct Outgoing {
		std::string packet;
		std::vector<UniqueFd> fds;
	};
	std::deque<Outgoing> out;
	size_t outBytes = 0;
	bool closing = false;
};

namespace {

Result<PeerCredentials> peerCredentials(int fd)
{
	PeerCredentials p;
	struct ucred cred {};
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return unexpected(lastError("SO_PEERCRED"));
	p.pid = cred.pid;
	p.uid = cred.uid;
	p.gid = cred.gid;
	// Supplementary groups as they were at connect() (Linux 4.13+).
	std::vector<gid_t> groups(64);
	for (int attempt = 0; attempt < 4; attempt++) {
		socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
			groups.resize(glen / sizeof(gid_t));
			p.groups = std::move(groups);
			break;
		}
		if (errno != ERANGE)
			break;
		groups.resize(glen / sizeof(gid_t) + 1);
	}
	return p;
}

std::string describe(const PeerCredentials &p)
{
	return "pid " + std::to_string(p.pid) + " (uid " + std::to_string(p.uid) + ")";
}

} // namespace

ControlServer::ControlServer(EventLoop &loop, Manager &manager, const Config &config, SysfsRoot root, ServerLimits limits)
	: loop_(loop), manager_(manager), config_(config), root_(std::move(root)), limits_(limits),
	  self_(std::make_shared<ControlServer *>(this))
{
}

ControlServer::~ControlServer()
{
	sessions_.clear();
	listenSource_.reset();
	listenFd_.reset();
	if (ownsPath_)
		::unlink(path_.c_str());
}

Result<void> ControlServer::listen(const std::string &path)
{
	path_ = path;
	int n = sd_listen_fds(1);
	if (n > 0) {
		int fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, nullptr, 0) <= 0)
			return unexpected(EINVAL, "the socket systemd passed is not a listening AF_UNIX SOCK_SEQPACKET socket");
		listenFd_ = UniqueFd(fd);
		activated_ = true;
		int flags = fcntl(fd, F_GETFL);
		if (flags >= 0)
			fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	} else {
		sockaddr_un addr{};
		addr.sun_family = AF_UNIX;
		if (path.empty() || path.size() >= sizeof addr.sun_path)
			return unexpected(ENAMETOOLONG, "socket path \"" + path + "\" must be 1.." +
								std::to_string(sizeof addr.sun_path - 1) + " bytes");
		memcpy(addr.sun_path, path.c_str(), path.size());
		// The runtime directory; systemd's RuntimeDirectory= makes it too.
		if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
			std::string dir = path.substr(0, slash);
			if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
				return unexpected(lastError("create \"" + dir + "\""));
		}
		UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
		if (!fd)
			return unexpected(lastError("socket(AF_UNIX, SOCK_SEQPACKET)"));
		struct stat st {};
		if (lstat(path.c_str(), &st) == 0) {
			if (!S_ISSOCK(st.st_mode))
				return unexpected(EEXIST, "\"" + path + "\" exists and is not a socket");
			// A live socket means another ampd: never steal it.
			UniqueFd probe(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
			if (probe && connect(probe.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0)
				return unexpected(EADDRINUSE, "another ampd serves \"" + path + "\"");
			::unlink(path.c_str());
		}
		// Created with no access for anyone; the mode is set once the
		// group is, so there is no window with the wrong permissions.
		mode_t old = umask(0777);
		int r = bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
		int err = errno;
		umask(old);
		if (r < 0)
			return unexpected(err, "bind \"" + path + "\"");
		ownsPath_ = true;
		if (config_.socketGroup && config_.socketGroup->id &&
		    chown(path.c_str(), static_cast<uid_t>(-1), *config_.socketGroup->id) < 0)
			return unexpected(lastError("chown \"" + path + "\" to group " + std::to_string(*config_.socketGroup->id)));
		if (chmod(path.c_str(), config_.socketMode) < 0)
			return unexpected(lastError("chmod \"" + path + "\""));
		if (::listen(fd.get(), 128) < 0)
			return unexpected(lastError("listen on \"" + path + "\""));
		listenFd_ = std::move(fd);
	}
	auto source = loop_.addIo(listenFd_.get(), EPOLLIN, [this](uint32_t) { onAccept(); });
	if (!source)
		return unexpected(source.error());
	listenSource_ = std::move(*source);
	auto reaper = loop_.addDefer([] {});
	if (reaper)
		reaper_ = std::move(*reaper);
	return {};
}

void ControlServer::onAccept()
{
	for (int i = 0; i < 64; i++) {
		UniqueFd fd(accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
		if (!fd) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log::control()->warn("accept on \"{}\": {}", path_, strerror(errno));
			return;
		}
		auto peer = peerCredentials(fd.get());
		if (!peer) {
			log::control()->warn("refusing a client: {}", peer.error().message());
			continue;
		}
		if (sessions_.size() >= limits_.maxSessions) {
			auto packet = protocol::encode(protocol::failure(
				std::nullopt, std::nullopt,
				Error{EMFILE, "ampd serves " + std::to_string(sessions_.size()) + " clients already; try again later"}));
			if (packet)
				(void)!send(fd.get(), packet->data(), packet->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
			log::control()->warn("refusing {}: {} clients connected", describe(*peer), sessions_.size());
			continue;
		}
		auto s = std::make_unique<Session>();
		s->id = nextSession_++;
		s->peer = *peer;
		s->name = describe(*peer);
		uint64_t id = s->id;
		auto source = loop_.addIo(fd.get(), EPOLLIN, [this, id](uint32_t revents) { onSessionEvents(id, revents); });
		if (!source) {
			log::control()->error("cannot watch a client: {}", source.error().message());
			continue;
		}
		s->fd = std::move(fd);
		s->source = std::move(*source);
		log::control()->debug("client {} connected", s->name);
		sessions_.emplace(id, std::move(s));
	}
}

void ControlServer::onSessionEvents(uint64_t id, uint32_t revents)
{
	auto it = sessions_.find(id);
	if (it == sessions_.end() || it->second->closing)
		return;
	Session &s = *it->second;
	log::ScopedFields fields{{"CLIENT_PID", std::to_string(s.peer.pid)}};
	if (revents & EPOLLOUT)
		flush(s);
	if (!s.closing && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		readPackets(s);
}

void ControlServer::readPackets(Session &s)
{
	// One extra byte and MSG_TRUNC tell an oversized packet from a full one.
	static thread_local std::vector<char> buffer(protocol::kMaxPacket + 1);
	for (unsigned i = 0; i < limits_.packetsPerWakeup && !s.closing; i++) {
		ssize_t n = recv(s.fd.get(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			closeSession(s.id, std::string("read error: ") + strerror(errno));
			return;
		}
		if (n == 0) {
			closeSession(s.id, "disconnected");
			return;
		}
		if (static_cast<size_t>(n) > protocol::kMaxPacket) {
			log::control()->warn("client {}: {}-byte packet refused (at most {})", s.name, n, protocol::kMaxPacket);
			respond(s.id, protocol::failure(std::nullopt, std::nullopt,
							Error{EMSGSIZE, "packet of " + std::to_string(n) + " bytes; at most " +
										std::to_string(protocol::kMaxPacket)}));
			continue;
		}
		std::optional<protocol::RequestId> idSeen;
		auto request = protocol::decodeRequest(std::span<const char>(buffer.data(), static_cast<size_t>(n)), &idSeen);
		if (!request) {
			log::control()->info("client {}: bad request: {}", s.name, request.error().context);
			respond(s.id, protocol::failure(idSeen, std::nullopt, request.error()));
			continue;
		}
		handle(s, *request);
	}
	// More may be waiting: EPOLLIN is level-triggered, so the loop comes
	// back after the other clients had their turn.
}

Remote *ControlServer::remoteFor(Session &s, const protocol::Request &request, const std::string &name, bool control)
{
	Remote *r = manager_.find(name);
	if (!r) {
		respond(s.id, protocol::failure(request.id, request.type(), Error{ENODEV, "no remote named \"" + name + "\""}));
		return nullptr;
	}
	if (control && !mayControl(s.peer, r->config())) {
		log::control()->warn("client {}: {} of {} refused: not allowed", s.name, protocol::toString(request.type()),
				     r->alias());
		respond(s.id, protocol::failure(request.id, request.type(),
						Error{EACCES, "uid " + std::to_string(s.peer.uid) + " may not control " +
								      r->alias() + " (root and the remote's allow.control may)"}));
		return nullptr;
	}
	return r;
}

// Reading and checking an image (up to 256 MiB) is the worker's job, so the
// loop serves everyone else meanwhile; it queues behind a start's write, as
// a start of that image would.
void ControlServer::inspect(Session &s, protocol::RequestId id, const std::string &firmware)
{
	using namespace protocol;
	const bool byPath = !firmware.empty() && firmware[0] == '/';
	// ampd runs as root: a path would let anyone probe any file. `ampctl
	// firmware inspect FILE` reads it locally.
	if (byPath && s.peer.uid != 0) {
		respond(s.id, failure(id, RequestType::Inspect,
				      Error{EPERM, "only root may inspect a file by path; give a firmware name, or run "
						   "`ampctl firmware inspect FILE`"}));
		return;
	}
	manager_.worker().submit([root = root_, firmware, byPath, sid = s.id, id,
				  weak = std::weak_ptr<ControlServer *>(self_)]() -> std::function<void()> {
		auto inspectNow = [&]() -> Result<InspectReply> {
			if (byPath) {
				auto report = kernel::inspectFirmwareFile(root, firmware.substr(1), kernel::inspectOptionsFor(root));
				if (!report)
					return unexpected(std::move(report).error());
				return toInspectReply(firmware, *report);
			}
			// As a start would meet it: the same search, the same kernel.
			auto found = kernel::inspectFirmwareByName(root, firmware);
			if (!found)
				return unexpected(std::move(found).error());
			return toInspectReply("/" + found->location.rel, found->report);
		};
		Result<InspectReply> reply = inspectNow();
		return [weak, sid, id, reply = std::move(reply)] {
			auto alive = weak.lock();
			if (!alive)
				return;
			if (reply)
				(*alive)->respond(sid, Response{id, RequestType::Inspect, *reply});
			else
				(*alive)->respond(sid, failure(id, RequestType::Inspect, reply.error()));
		};
	});
}

void ControlServer::handle(Session &s, const protocol::Request &request)
{
	using namespace protocol;
	const RequestId id = request.id;
	const RequestType type = request.type();
	auto ok = [&](ResponseBody body) { respond(s.id, Response{id, type, std::move(body)}); };
	auto fail = [&](Error e) { respond(s.id, failure(id, type, e)); };
	// Replies that come later (start, stop) find the session by id, if it
	// is still there.
	auto later = [this, sid = s.id, id, type](Result<ActionReply> r) {
		if (r)
			respond(sid, Response{id, type, *r});
		else
			respond(sid, failure(id, type, r.error()));
	};
	std::string who = "client " + s.name;

	std::visit(
		[&](const auto &body) {
			using T = std::decay_t<decltype(body)>;
			if constexpr (std::is_same_v<T, Hello>) {
				s.client = body.client;
				if (!body.client.empty())
					s.name += " \"" + body.client.substr(0, 64) + "\"";
				ok(HelloReply{std::min(body.version, kVersion), "ampd"});
			} else if constexpr (std::is_same_v<T, Status>) {
				StatusReply reply;
				if (body.remote) {
					Remote *r = remoteFor(s, request, *body.remote, false);
					if (!r)
						return;
					reply.remotes.push_back(r->info());
				} else {
					for (Remote *r : manager_.remotes())
						reply.remotes.push_back(r->info());
				}
				ok(reply);
			} else if constexpr (std::is_same_v<T, Start>) {
				if (Remote *r = remoteFor(s, request, body.remote, true))
					r->start(body.firmware, body.wait, who, later);
			} else if constexpr (std::is_same_v<T, Stop>) {
				if (Remote *r = remoteFor(s, request, body.remote, true))
					r->stop(body.graceful, who, later);
			} else if constexpr (std::is_same_v<T, Restart>) {
				if (Remote *r = remoteFor(s, request, body.remote, true))
					r->restart(body.firmware, who, later);
			} else if constexpr (std::is_same_v<T, Subscribe>) {
				if (body.remote) {
					Remote *r = remoteFor(s, request, *body.remote, false);
					if (!r)
						return;
					s.subscribed.push_back(r->alias());
				} else {
					s.subscribedAll = true;
				}
				ok(Ack{});
			} else if constexpr (std::is_same_v<T, Inspect>) {
				inspect(s, id, body.firmware);
			} else if constexpr (std::is_same_v<T, Channels>) {
				ChannelsReply reply;
				if (body.remote) {
					Remote *r = remoteFor(s, request, *body.remote, false);
					if (!r)
						return;
					reply.channels = manager_.channels(r);
				} else {
					reply.channels = manager_.channels();
				}
				ok(reply);
			} else if constexpr (std::is_same_v<T, Open>) {
				Remote *r = remoteFor(s, request, body.remote, false);
				if (!r)
					return;
				if (!mayOpen(s.peer, r->config(), body.channel)) {
					log::control()->warn("client {}: open of \"{}\" on {} refused: not allowed", s.name,
							     body.channel, r->alias());
					return fail(Error{EACCES, "uid " + std::to_string(s.peer.uid) + " may not open channel \"" +
									  body.channel + "\" of " + r->alias() +
									  " (root, allow.control and allow.channels may)"});
				}
				if (!streams_)
					return fail(Error{EOPNOTSUPP, "this ampd serves no channel streams"});
				auto opened = streams_->open(*r, body, who);
				if (!opened)
					return fail(opened.error());
				std::vector<UniqueFd> fds;
				fds.push_back(std::move(opened->stream));
				if (opened->endpoint)
					fds.push_back(std::move(opened->endpoint));
				respond(s.id, Response{id, type, opened->reply}, std::move(fds));
			}
		},
		request.body);
}

void ControlServer::respond(uint64_t sessionId, const protocol::Response &response, std::vector<UniqueFd> fds)
{
	auto it = sessions_.find(sessionId);
	if (it == sessions_.end() || it->second->closing)
		return;
	auto packet = protocol::encode(response);
	if (!packet) {
		log::control()->error("cannot encode a reply: {}", packet.error().message());
		packet = protocol::encode(protocol::failure(response.id, response.type, packet.error()));
		if (!packet)
			return;
		fds.clear();
	}
	queue(*it->second, std::move(*packet), std::move(fds));
}

void ControlServer::publish(const protocol::Event &event)
{
	const std::string &remote = std::visit(
		[](const auto &e) -> const std::string & {
			if constexpr (std::is_same_v<std::decay_t<decltype(e)>, protocol::StateEvent>)
				return e.remote;
			else
				return e.channel.remote;
		},
		event);
	std::optional<std::string> packet;
	std::vector<uint64_t> ids;
	for (auto &[id, s] : sessions_)
		if (!s->closing && (s->subscribedAll || std::find(s->subscribed.begin(), s->subscribed.end(), remote) !=
								      s->subscribed.end()))
			ids.push_back(id);
	if (ids.empty())
		return;
	auto encoded = protocol::encode(event);
	if (!encoded) {
		log::control()->error("cannot encode an event: {}", encoded.error().message());
		return;
	}
	for (uint64_t id : ids)
		if (auto it = sessions_.find(id); it != sessions_.end())
			queue(*it->second, *encoded);
}

ssize_t ControlServer::sendPacket(Session &s, const std::string &packet, const std::vector<UniqueFd> &fds)
{
	iovec iov{const_cast<char *>(packet.data()), packet.size()};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
	if (!fds.empty()) {
		size_t n = std::min<size_t>(fds.size(), 2);
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			int fd = fds[i].get();
			std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
		}
	}
	return sendmsg(s.fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void ControlServer::queue(Session &s, std::string packet, std::vector<UniqueFd> fds)
{
	if (s.closing)
		return;
	if (s.out.empty()) {
		ssize_t n = sendPacket(s, packet, fds);
		if (n >= 0)
			return;
		if (errno != EAGAIN) {
			closeSession(s.id, std::string("write error: ") + strerror(errno));
			return;
		}
	}
	if (s.out.size() >= limits_.maxQueuedPackets || s.outBytes + packet.size() > limits_.maxQueuedBytes) {
		closeSession(s.id, "does not read its replies and events (" + std::to_string(s.out.size()) +
					   " packets queued)");
		return;
	}
	s.outBytes += packet.size();
	s.out.push_back({std::move(packet), std::move(fds)});
	(void)s.source.setIoEvents(EPOLLIN | EPOLLOUT);
}

void ControlServer::flush(Session &s)
{
	while (!s.out.empty()) {
		const auto &p = s.out.front();
		ssize_t n = sendPacket(s, p.packet, p.fds);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			closeSession(s.id, std::string("write error: ") + strerror(errno));
			return;
		}
		s.outBytes -= p.packet.size();
		s.out.pop_front();
	}
	(void)s.source.setIoEvents(EPOLLIN);
}

void ControlServer::closeSession(uint64_t id, const std::string &why)
{
	auto it = sessions_.find(id);
	if (it == sessions_.end() || it->second->closing)
		return;
	Session &s = *it->second;
	s.closing = true;
	// Disabled, not destroyed: we may be inside this session's own
	// callback. The reaper below frees it on the next loop iteration.
	s.source.disable();
	s.out.clear();
	log::control()->debug("client {}: {}", s.name, why);
	if (why != "disconnected")
		log::control()->info("client {} dropped: {}", s.name, why);
	doomed_.push_back(id);
	auto reaper = loop_.addDefer([this] {
		for (uint64_t d : std::exchange(doomed_, {}))
			sessions_.erase(d);
	});
	if (reaper)
		reaper_ = std::move(*reaper);
}

} // namespace amp::daemon
