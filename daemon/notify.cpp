// SPDX-License-Identifier: MIT
// The service manager's notification protocol, sent non-blocking.
#include "notify.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

namespace amp::daemon {

Notifier::Notifier(EventLoop &loop) : loop_(loop)
{
	const char *env = getenv("NOTIFY_SOCKET");
	if (!env || !*env)
		return;
	address_ = env;
	if ((address_[0] != '/' && address_[0] != '@') || address_.size() >= sizeof(sockaddr_un::sun_path)) {
		log::control()->warn("ignoring NOTIFY_SOCKET \"{}\": not a usable AF_UNIX address", address_);
		return;
	}
	fd_ = UniqueFd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd_)
		log::control()->warn("no notification socket: {}", strerror(errno));
	// NOTIFY_SOCKET stays set: sd-event's watchdog pings read it.
}

void Notifier::ready(const std::string &status)
{
	readyPending_ = true;
	statusPending_ = status;
	statusDirty_ = true;
	flush();
}

void Notifier::status(const std::string &status)
{
	if (status == statusPending_ && !statusDirty_)
		return;
	statusPending_ = status;
	statusDirty_ = true;
	flush();
}

void Notifier::stopping()
{
	stoppingPending_ = true;
	flush();
}

void Notifier::flush()
{
	if (!fd_)
		return;
	std::string message;
	if (readyPending_)
		message += "READY=1\nMAINPID=" + std::to_string(getpid()) + "\n";
	if (stoppingPending_)
		message += "STOPPING=1\n";
	if (statusDirty_)
		message += "STATUS=" + statusPending_ + "\n";
	if (message.empty())
		return;
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, address_.data(), address_.size());
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';
	socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
	ssize_t n = sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&addr), len);
	if (n >= 0) {
		readyPending_ = stoppingPending_ = statusDirty_ = false;
		retry_.reset();
		return;
	}
	if (errno != EAGAIN && errno != ENOBUFS) {
		log::control()->debug("notification not sent: {}", strerror(errno));
		readyPending_ = stoppingPending_ = statusDirty_ = false;
		return;
	}
	// The reader is behind: try again later, with whatever is newest then.
	if (!retry_.active())
		if (auto t = loop_.addTimer(Millis(100), [this] {
			    retry_.reset();
			    flush();
		    }))
			retry_ = std::move(*t);
}

} // namespace amp::daemon
