// SPDX-License-Identifier: MIT
// The proxy service: ampd's endpoint per proxied remote, fed to a ProxyServer on the loop.
//
// Flow control is the remote's own: it makes one call and waits for the
// reply. A reply that finds no TX buffer (EAGAIN 5.18+, ENOMEM before; the
// endpoint never says POLLOUT) waits on a timer, and meanwhile nothing more
// is read from the endpoint, so a remote that floods gets its messages left
// in the kernel's queue rather than in ours. Reading is edge-triggered and
// a batch per wake-up, the rest on the next loop iteration.
#include "proxy_service.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"

namespace amp::daemon {

namespace {

// EPIPE or POLLERR: the remote stopped, or (5.10, where ampd's endpoint
// hangs off the channel) the channel went, taking what was queued with it;
// a TERM sent just before the demo releases its endpoint is lost that way.
const std::string kEndpointGone = "endpoint gone: the remote stopped or its channel went";

std::unique_ptr<proxy::Console> makeConsole(const std::string &alias, const ProxyConfig &cfg)
{
	switch (cfg.console) {
	case ProxyConfig::Console::File: {
		auto file = proxy::FileConsole::open(cfg.consoleFile, cfg.consoleMaxBytes);
		if (file)
			return std::move(*file);
		log::proxy()->error("{}: console file: {}; the remote's console goes to the journal instead", alias,
				    file.error().message());
		break;
	}
	case ProxyConfig::Console::Terminal:
		// ampd's own stdin and stdout: a terminal when run by hand; under
		// systemd stdin is /dev/null (fd 0 reads end-of-file at once) and
		// stdout the journal. `ampctl proxy` is the interactive way.
		return std::make_unique<proxy::FdConsole>(STDIN_FILENO, STDOUT_FILENO, "ampd's stdin and stdout");
	case ProxyConfig::Console::Journal:
		break;
	}
	return std::make_unique<proxy::JournalConsole>(alias);
}

} // namespace

struct ProxyService::Proxy {
	std::string alias;
	ProxyConfig cfg;
	std::unique_ptr<proxy::Console> console;
	std::optional<proxy::ConfinedDir> dir;

	// A session: the endpoint and the server on it.
	std::optional<kernel::RpmsgEndpoint> ept;
	EventSource eptSource;
	std::unique_ptr<proxy::ProxyServer> server;
	bool eptIn = false; // the endpoint may have messages (edge-triggered)

	std::deque<proxy::Message> out; // replies not yet taken by the kernel
	EventSource retryTimer;
	std::chrono::microseconds retryDelay{0};
	EventSource inputSource; // console input watch (or its polling timer)
	EventSource runSource;   // the next batch, on the next loop iteration
	uint64_t sessions = 0;
};

ProxyService::ProxyService(EventLoop &loop, Manager &manager, SysfsRoot root, const Config &config, ProxyLimits limits)
	: loop_(loop), manager_(manager), root_(std::move(root)), limits_(limits)
{
	limits_.batch = std::max(limits_.batch, 1u);
	for (const RemoteConfig &rc : config.remotes) {
		if (!rc.proxy.enabled)
			continue;
		auto p = std::make_unique<Proxy>();
		p->alias = rc.alias;
		p->cfg = rc.proxy;
		p->console = makeConsole(rc.alias, rc.proxy);
		log::ScopedFields fields{{"REMOTE", rc.alias}, {"CHANNEL", rc.proxy.channel}};
		log::proxy()->info("{}: proxy on \"{}\": files in \"{}\" (at most {} open), console: {}", rc.alias,
				   rc.proxy.channel, rc.proxy.directory, rc.proxy.maxOpenFiles, p->console->describe());
		proxies_.emplace(rc.alias, std::move(p));
	}
}

ProxyService::~ProxyService()
{
	for (auto &[alias, p] : proxies_) {
		Remote *r = manager_.find(alias);
		detach(*p, "ampd exiting", r && !endpointsGone(r->state()));
	}
}

size_t ProxyService::sessionCount() const
{
	return size_t(std::count_if(proxies_.begin(), proxies_.end(), [](const auto &e) { return e.second->ept.has_value(); }));
}

void ProxyService::start()
{
	for (auto &[alias, p] : proxies_)
		attach(*p);
}

void ProxyService::onEvent(const protocol::Event &event)
{
	if (const auto *st = std::get_if<protocol::StateEvent>(&event)) {
		auto it = proxies_.find(st->remote);
		if (it == proxies_.end())
			return;
		Proxy &p = *it->second;
		if (endpointsUsable(st->to)) {
			attach(p);
		} else if (st->to == RemoteState::Stopping) {
			// The core still runs: the endpoint can be destroyed properly.
			detach(p, "remote stopping", true);
		} else if (endpointsGone(st->to)) {
			detach(p, st->to == RemoteState::Crashed ? "remote crashed" : "remote " + std::string(toString(st->to)),
			       false);
		}
		return;
	}
	const auto &ch = std::get<protocol::ChannelEvent>(event);
	auto it = proxies_.find(ch.channel.remote);
	if (it == proxies_.end() || ch.channel.channel != it->second->cfg.channel)
		return;
	Proxy &p = *it->second;
	if (ch.up) {
		attach(p);
		return;
	}
	// After TERM the demo releases its endpoint and the channel goes; only
	// now is ours destroyed, so on 5.10 (where it hangs off the channel)
	// the two removals cannot race.
	Remote *r = manager_.find(p.alias);
	detach(p, "channel gone", r && !endpointsGone(r->state()));
}

void ProxyService::attach(Proxy &p)
{
	if (p.ept)
		return;
	Remote *remote = manager_.find(p.alias);
	if (!remote || !endpointsUsable(remote->state()))
		return;
	const kernel::RpmsgChannel *channel = remote->findChannel(p.cfg.channel);
	if (!channel)
		return;
	log::ScopedFields fields{{"REMOTE", p.alias}, {"CHANNEL", p.cfg.channel}};
	if (!p.dir) {
		auto dir = proxy::ConfinedDir::open(p.cfg.directory, true, 0750);
		if (!dir) {
			log::proxy()->error("{}: proxy not served: {}", p.alias, dir.error().message());
			return;
		}
		p.dir.emplace(std::move(*dir));
	}
	auto node = kernel::findControlNode(root_, *channel);
	if (!node) {
		log::proxy()->error("{}: proxy not served: no control node for \"{}\": {}", p.alias, p.cfg.channel,
				    node.error().message());
		return;
	}
	auto ctrl = kernel::RpmsgControl::open(root_, node->ctrl);
	if (!ctrl) {
		log::proxy()->error("{}: proxy not served: {}", p.alias, ctrl.error().message());
		return;
	}
	auto ept = ctrl->createEndpoint(channel->service, channel->remoteAddr());
	// A control fd kept across a stop breaks the next CREATE_EPT (kernel-abi.md 5).
	ctrl->close();
	if (!ept) {
		log::proxy()->error("{}: proxy not served: {}", p.alias, ept.error().message());
		return;
	}
	p.ept = std::move(*ept);
	Proxy *pp = &p;
	auto source = loop_.addIo(p.ept->fd(), EPOLLIN | EPOLLET, [this, pp](uint32_t revents) { onEndpoint(*pp, revents); });
	if (!source) {
		log::proxy()->error("{}: proxy not served: {}", p.alias, source.error().message());
		(void)p.ept->destroy();
		p.ept.reset();
		return;
	}
	p.eptSource = std::move(*source);
	proxy::ServerOptions options;
	options.name = p.alias;
	options.maxOpenFiles = p.cfg.maxOpenFiles;
	p.server = std::make_unique<proxy::ProxyServer>(
		*p.dir, *p.console,
		[pp](std::span<const uint8_t> message) {
			proxy::Message m;
			m.size = std::min(message.size(), m.bytes.size());
			std::copy_n(message.begin(), m.size, m.bytes.begin());
			pp->out.push_back(m);
		},
		options);
	p.sessions++;
	log::proxy()->info("{}: proxy serving \"{}\" on endpoint {} (remote address 0x{:x}), session {}", p.alias,
			   p.cfg.channel, p.ept->node(), channel->remoteAddr(), p.sessions);
	// Linux talks first: init_msg tells the remote our address.
	p.server->start();
	// Messages may have come between open() and the epoll registration.
	p.eptIn = true;
	run(p);
}

void ProxyService::detach(Proxy &p, const std::string &reason, bool remoteAlive)
{
	if (!p.ept && !p.server)
		return;
	log::ScopedFields fields{{"REMOTE", p.alias}, {"CHANNEL", p.cfg.channel}};
	p.eptSource.reset();
	p.retryTimer.reset();
	p.inputSource.reset();
	p.runSource.reset();
	p.retryDelay = std::chrono::microseconds(0);
	p.eptIn = false;
	if (!p.out.empty())
		log::proxy()->info("{}: {} replies not sent ({})", p.alias, p.out.size(), reason);
	p.out.clear();
	if (p.server) {
		p.server->end(reason); // closes every file the remote held
		p.server.reset();
	}
	if (p.ept) {
		std::string node = p.ept->node();
		if (!remoteAlive)
			p.ept->markRemoteGone();
		(void)p.ept->destroy();
		p.ept.reset();
		log::proxy()->info("{}: proxy endpoint {} {} ({})", p.alias, node, remoteAlive ? "destroyed" : "closed",
				   reason);
	}
}

void ProxyService::onEndpoint(Proxy &p, uint32_t revents)
{
	if (!p.ept)
		return;
	if (revents & EPOLLIN)
		p.eptIn = true;
	if (revents & (EPOLLERR | EPOLLHUP)) {
		// POLLERR is the kernel's "the remote went away".
		p.ept->noteRevents(POLLERR);
		gone(p, kEndpointGone);
		return;
	}
	run(p);
}

void ProxyService::run(Proxy &p)
{
	uint8_t buf[kernel::kRpmsgMaxPayload + 16];
	for (unsigned i = 0; i < limits_.batch; i++) {
		if (!p.ept || !p.server || !flush(p))
			return;
		if (p.server->state() == proxy::ProxyServer::State::WaitingForInput) {
			waitForInput(p);
			return;
		}
		if (!p.eptIn)
			return;
		ssize_t n = ::read(p.ept->fd(), buf, sizeof buf);
		if (n < 0) {
			int err = errno;
			if (err == EINTR)
				continue;
			if (err == EAGAIN) {
				p.eptIn = false;
				return;
			}
			if (err == EPIPE || err == ENOTCONN || err == ENODEV) {
				p.ept->markRemoteGone();
				gone(p, kEndpointGone);
			} else {
				// Nothing says whether the remote is there: close, never DESTROY_EPT.
				p.ept->markRemoteGone();
				gone(p, std::string("endpoint read failed: ") + strerror(err));
			}
			return;
		}
		p.server->handle({buf, size_t(n)});
	}
	if (p.ept && flush(p) && p.eptIn)
		schedule(p);
}

void ProxyService::schedule(Proxy &p)
{
	if (p.runSource.active())
		return;
	Proxy *pp = &p;
	auto src = loop_.addDefer([this, pp] {
		pp->runSource.reset();
		run(*pp);
	});
	if (src)
		p.runSource = std::move(*src);
	else
		log::proxy()->error("{}: cannot schedule the proxy: {}", p.alias, src.error().message());
}

bool ProxyService::flush(Proxy &p)
{
	while (!p.out.empty()) {
		const proxy::Message &m = p.out.front();
		ssize_t n = ::write(p.ept->fd(), m.bytes.data(), m.size);
		if (n >= 0) {
			p.out.pop_front();
			continue;
		}
		int err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == ENOMEM) {
			// No free TX buffer (EAGAIN 5.18+, ENOMEM before).
			waitForTxBuffer(p);
			return false;
		}
		if (err == EPIPE) {
			p.ept->markRemoteGone();
			gone(p, kEndpointGone);
			return false;
		}
		log::proxy()->error("{}: a {}-byte proxy message not sent: {}", p.alias, m.size, strerror(err));
		p.out.pop_front();
	}
	p.retryDelay = std::chrono::microseconds(0);
	return true;
}

void ProxyService::waitForTxBuffer(Proxy &p)
{
	if (p.retryTimer.active())
		return;
	p.retryDelay = p.retryDelay.count() ? std::min(p.retryDelay * 2, limits_.retryMax) : limits_.retryMin;
	Proxy *pp = &p;
	auto t = loop_.addTimer(
		p.retryDelay,
		[this, pp] {
			pp->retryTimer.reset();
			run(*pp);
		},
		std::chrono::microseconds(1));
	if (t)
		p.retryTimer = std::move(*t);
	else
		log::proxy()->error("{}: cannot arm the TX retry timer: {}", p.alias, t.error().message());
}

void ProxyService::waitForInput(Proxy &p)
{
	if (p.inputSource.active())
		return;
	Proxy *pp = &p;
	auto resume = [this, pp] {
		if (!pp->server)
			return;
		if (pp->server->resumeInput() == proxy::ProxyServer::State::WaitingForInput)
			return;
		pp->inputSource.reset();
		run(*pp);
	};
	int fd = p.console->inputFd();
	if (fd >= 0) {
		auto src = loop_.addIo(fd, EPOLLIN, [resume](uint32_t) { resume(); });
		if (src) {
			p.inputSource = std::move(*src);
			return;
		}
	}
	// Input epoll cannot watch (a regular file): look again on a timer.
	auto t = loop_.addTimer(limits_.inputPoll, [this, pp, resume] {
		pp->inputSource.reset();
		resume();
		if (pp->server && pp->server->state() == proxy::ProxyServer::State::WaitingForInput)
			waitForInput(*pp);
	});
	if (t)
		p.inputSource = std::move(*t);
}

void ProxyService::gone(Proxy &p, const std::string &why)
{
	detach(p, why, false);
	manager_.pokeSoon(p.alias);
}

} // namespace amp::daemon
