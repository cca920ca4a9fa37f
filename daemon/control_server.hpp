// SPDX-License-Identifier: MIT
// The control socket: SOCK_SEQPACKET, one JSON message per packet
// (docs/protocol.md), clients authorized by SO_PEERCRED. Slow or hostile
// clients cost only themselves: bounded queues, bounded reads per wake-up.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "config.hpp"
#include "event_loop.hpp"
#include "manager.hpp"
#include "protocol/protocol.hpp"

namespace amp::daemon {

class StreamHub;

struct PeerCredentials {
	pid_t pid = 0;
	uid_t uid = static_cast<uid_t>(-1);
	gid_t gid = static_cast<gid_t>(-1);
	std::vector<gid_t> groups; // supplementary (SO_PEERGROUPS)
	bool inGroup(gid_t g) const;
};

// Root always; else the remote's `allow.control` users and groups.
bool mayControl(const PeerCredentials &peer, const RemoteConfig *config);
// Whoever may control the remote, and the remote's `allow.channels` entry
// for `channel` (or "*").
bool mayOpen(const PeerCredentials &peer, const RemoteConfig *config, const std::string &channel);

// The inspector's findings in the wire's shape.
protocol::InspectReply toInspectReply(const std::string &path, const kernel::FirmwareReport &report);

struct ServerLimits {
	size_t maxSessions = 4096;
	size_t maxQueuedPackets = 4096;     // per client, replies and events not yet read
	size_t maxQueuedBytes = 16u << 20;  // per client
	unsigned packetsPerWakeup = 64;     // then the next client gets its turn
};

class ControlServer {
public:
	ControlServer(EventLoop &loop, Manager &manager, const Config &config, SysfsRoot root, ServerLimits limits = {});
	~ControlServer();
	ControlServer(const ControlServer &) = delete;
	ControlServer &operator=(const ControlServer &) = delete;

	// Serve on the socket systemd passed (socket activation) when there is
	// one, else create `path` with the configured mode and group.
	[[nodiscard]] Result<void> listen(const std::string &path);
	bool activated() const { return activated_; }
	const std::string &path() const { return path_; }

	// `open` requests go there; without one they are EOPNOTSUPP.
	void setStreams(StreamHub *streams) { streams_ = streams; }

	// To every subscribed client.
	void publish(const protocol::Event &event);
	size_t sessionCount() const { return sessions_.size(); }

private:
	struct Session;
	void onAccept();
	void onSessionEvents(uint64_t id, uint32_t revents);
	void readPackets(Session &s);
	void handle(Session &s, const protocol::Request &request);
	// `fds` go with the reply (SCM_RIGHTS), in order.
	void respond(uint64_t sessionId, const protocol::Response &response, std::vector<UniqueFd> fds = {});
	void queue(Session &s, std::string packet, std::vector<UniqueFd> fds = {});
	// One packet; -1 with errno like send().
	ssize_t sendPacket(Session &s, const std::string &packet, const std::vector<UniqueFd> &fds);
	void flush(Session &s);
	void closeSession(uint64_t id, const std::string &why);
	Remote *remoteFor(Session &s, const protocol::Request &request, const std::string &name, bool control);
	void inspect(Session &s, protocol::RequestId id, const std::string &firmware);

	EventLoop &loop_;
	Manager &manager_;
	StreamHub *streams_ = nullptr;
	const Config &config_;
	SysfsRoot root_;
	ServerLimits limits_;
	UniqueFd listenFd_;
	EventSource listenSource_;
	std::string path_;
	bool activated_ = false;
	bool ownsPath_ = false;
	uint64_t nextSession_ = 1;
	std::map<uint64_t, std::unique_ptr<Session>> sessions_;
	std::vector<uint64_t> doomed_; // closed from inside their own callback
	EventSource reaper_;
	std::shared_ptr<ControlServer *> self_; // weak copies tell a worker's reply whether we are still here
};

} // namespace amp::daemon
