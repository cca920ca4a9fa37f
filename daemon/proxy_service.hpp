// SPDX-License-Identifier: MIT
// The OpenAMP proxy service: for each remote with `proxy.enabled`, ampd's own
// endpoint on the proxy channel, serving the remote's file and console calls
// (lib/proxy) on the event loop, confined to the configured directory.
//
// Following the remote like channel streams do (docs/design.md "Proxy
// service"): when the channel comes up ampd creates its endpoint, sends
// init_msg and serves; when the channel goes or the remote stops, every
// file the remote held is closed and the endpoint is destroyed (only closed
// once the remote is gone: DESTROY_EPT on a stopped remote's endpoint
// oopses 6.1); when the channel returns a new session starts.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/sysfs_root.h"
#include "config.hpp"
#include "event_loop.hpp"
#include "kernel/rpmsg.h"
#include "manager.hpp"
#include "protocol/protocol.hpp"
#include "proxy/console.hpp"
#include "proxy/confine.hpp"
#include "proxy/server.hpp"

namespace amp::daemon {

struct ProxyLimits {
	// Messages handled per proxy and wake-up; more go on the next loop
	// iteration, so a flooding remote cannot starve the rest of ampd.
	unsigned batch = 16;
	// The endpoint never reports POLLOUT: a reply that found no TX buffer
	// is retried after this, doubling up to retryMax.
	std::chrono::microseconds retryMin{50};
	std::chrono::microseconds retryMax{5000};
	// Console input that cannot be watched with epoll is looked at this often.
	std::chrono::milliseconds inputPoll{100};
};

class ProxyService {
public:
	ProxyService(EventLoop &loop, Manager &manager, SysfsRoot root, const Config &config, ProxyLimits limits = {});
	// Ends every session; endpoints destroyed where the remote is still there.
	~ProxyService();
	ProxyService(const ProxyService &) = delete;
	ProxyService &operator=(const ProxyService &) = delete;

	// Serve the proxy channels that are up already (adopted remotes).
	void start();
	// The manager's events: states and channels start and end sessions.
	void onEvent(const protocol::Event &event);

	// Remotes with the proxy enabled, and those with a session now.
	size_t proxyCount() const { return proxies_.size(); }
	size_t sessionCount() const;

private:
	struct Proxy;

	void attach(Proxy &p);
	void detach(Proxy &p, const std::string &reason, bool remoteAlive);
	void onEndpoint(Proxy &p, uint32_t revents);
	void run(Proxy &p);
	void schedule(Proxy &p);
	// False while a message waits for a TX buffer.
	bool flush(Proxy &p);
	void waitForTxBuffer(Proxy &p);
	void waitForInput(Proxy &p);
	void gone(Proxy &p, const std::string &why);

	EventLoop &loop_;
	Manager &manager_;
	SysfsRoot root_;
	ProxyLimits limits_;
	std::map<std::string, std::unique_ptr<Proxy>> proxies_; // by remote alias
};

} // namespace amp::daemon
