// SPDX-License-Identifier: MIT
// Channel streams: each client's own kernel endpoint on a remote's channel,
// relayed to a SOCK_SEQPACKET stream socket (docs/protocol.md "Streams").
//
// One stream = one CREATE_EPT endpoint + one socket pair. Messages move one
// packet per rpmsg message, in order, never dropped: a stream whose kernel
// has no TX buffer (EAGAIN/ENOMEM) waits in its remote's retry queue and
// stops reading its client; a stream whose client is slow keeps a bounded
// queue and then stops reading its endpoint; a stream at its window stops
// reading its client until the remote answers. Every wake-up moves at most
// a batch per stream, so one busy stream cannot starve the others. The
// streams follow their remote: down when it stops, crashes or drops the
// channel, back up (reattach) when the channel returns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"
#include "base/unique_fd.h"
#include "event_loop.hpp"
#include "kernel/rpmsg.h"
#include "manager.hpp"
#include "protocol/protocol.hpp"

namespace amp::daemon {

struct StreamLimits {
	size_t maxStreams = 1024;
	// Messages from the remote held for a client that does not read fast
	// enough; past it ampd leaves them in the kernel.
	unsigned clientQueue = 64;
	// Packets moved per stream, direction and wake-up (recvmmsg/sendmmsg size).
	unsigned batch = 16;
	// The kernel endpoint never reports POLLOUT: a write that found no TX
	// buffer is retried after this, doubling up to retryMax.
	std::chrono::microseconds retryMin{50};
	std::chrono::microseconds retryMax{5000};
};

class StreamHub {
public:
	StreamHub(EventLoop &loop, Manager &manager, SysfsRoot root, StreamLimits limits = {});
	// Destroys every endpoint (DESTROY_EPT where the remote is still there).
	~StreamHub();
	StreamHub(const StreamHub &) = delete;
	StreamHub &operator=(const StreamHub &) = delete;

	struct Opened {
		protocol::OpenReply reply;
		UniqueFd stream;   // the client's end of the stream socket
		UniqueFd endpoint; // direct mode: the kernel endpoint, else invalid
	};
	// Authorization is the caller's; `who` goes into the logs.
	[[nodiscard]] Result<Opened> open(Remote &remote, const protocol::Open &request, const std::string &who);

	// The manager's events: states and channels decide when streams go
	// down and come back.
	void onEvent(const protocol::Event &event);

	size_t streamCount() const { return streams_.size(); }
	size_t endpointCount() const;

private:
	struct Stream;
	struct RemoteLinks;

	Result<void> attach(Stream &s, Remote &remote, const kernel::RpmsgChannel &channel);
	void detach(Stream &s, const std::string &reason, bool remoteAlive);
	void attachWaiting(Remote &remote);
	Result<kernel::RpmsgControl *> controlFor(Remote &remote, const kernel::RpmsgChannel &channel);
	void closeControls(const std::string &remote);

	// The stream with this id, unless it is gone or closing (a callback or
	// a queue may still name it).
	Stream *find(uint64_t id);
	void onSocket(uint64_t id, uint32_t revents);
	void onEndpoint(uint64_t id, uint32_t revents);
	// Move what can move now, a batch per direction; queue the rest.
	void run(Stream &s);
	bool moreWork(const Stream &s) const;
	bool canWriteKernel(const Stream &s) const;
	bool canReadClient(const Stream &s) const;
	void schedule(Stream &s);
	void pumpToKernel(Stream &s);
	void readClient(Stream &s);
	void pumpToClient(Stream &s);
	// Up to `max` messages from the endpoint into the client queue (never
	// past its bound); 0, or the errno that stopped it (EAGAIN: no more).
	int readEndpoint(Stream &s, unsigned max);
	// True when nothing is left for the client.
	bool flushClient(Stream &s);
	// False when the client's queue is full: the stream is closed then.
	bool queueEvent(Stream &s, const protocol::StreamEvent &event, UniqueFd fd = {});
	void waitForTxBuffer(Stream &s);
	void armRetry(RemoteLinks &links, const std::string &remote);
	void retryTx(const std::string &remote);
	void close(uint64_t id, const std::string &why);
	void reap();

	EventLoop &loop_;
	Manager &manager_;
	SysfsRoot root_;
	StreamLimits limits_;
	uint64_t nextId_ = 1;
	std::map<uint64_t, std::unique_ptr<Stream>> streams_;
	std::map<std::string, std::unique_ptr<RemoteLinks>> links_; // by remote alias
	std::vector<uint64_t> runQueue_; // streams with work left after their batch
	EventSource runSource_;
	std::vector<uint64_t> doomed_;
	EventSource reaper_;
};

} // namespace amp::daemon
