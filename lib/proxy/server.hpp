// SPDX-License-Identifier: MIT
// The proxy server: a remote's OPEN/CLOSE/READ/WRITE/TERM executed, confined, over any transport.
//
// The server does no I/O of its own on the channel: the transport feeds it
// each message the remote sent (handle()) and gets each reply through the
// Send function, so ampd's event loop (daemon/proxy_service) and a blocking
// foreground loop (`ampctl proxy`) drive the same code. Every request is
// answered, unless the protocol defines no reply (ACK, TERM) or the message
// cannot be told to be a call at all (an unknown id: answering it would
// ping-pong forever with a remote that echoes, like the echo demo does with
// init_msg). A request that is malformed or not allowed gets -1, and a
// warning naming the path and the reason, rate-limited.
//
// Files: the remote sees fds kFirstFileFd (3) and up, the lowest free one
// first; they index our table, never the daemon's own fd numbers. At most
// maxOpenFiles at once. fds 0, 1, 2 are the console; CLOSE of them is 0
// and they stay.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "proxy/confine.hpp"
#include "proxy/console.hpp"
#include "proxy/rate_limit.hpp"
#include "proxy/wire.hpp"

namespace amp::proxy {

inline constexpr unsigned kMaxOpenFilesLimit = 1024;

struct ServerOptions {
	std::string name = "remote"; // the remote, as the logs name it
	unsigned maxOpenFiles = 16;  // 1..kMaxOpenFilesLimit
	RateLimit refusalLog{20, std::chrono::milliseconds(10000)};
};

struct ServerStats {
	uint64_t requests = 0;  // messages handled
	uint64_t malformed = 0; // of which did not decode
	uint64_t refused = 0;   // answered -1: not allowed, or malformed with a call id
	uint64_t opened = 0;    // files opened
	uint64_t bytesRead = 0, bytesWritten = 0; // files and console
};

class ProxyServer {
public:
	using Send = std::function<void(std::span<const uint8_t> message)>;
	enum class State {
		Serving,
		WaitingForInput, // a READ of fd 0 waits for console input (Console::inputFd)
		Ended,           // TERM came, or end() was called: every file is closed
	};

	// `dir` and `console` must outlive the server.
	ProxyServer(const ConfinedDir &dir, Console &console, Send send, ServerOptions options = {});
	// Closes every file the remote left open.
	~ProxyServer();
	ProxyServer(const ProxyServer &) = delete;
	ProxyServer &operator=(const ProxyServer &) = delete;

	// Linux talks first: sends init_msg, so the remote learns our address.
	void start();
	// One message from the remote.
	State handle(std::span<const uint8_t> message);
	// Console input may be there now: answer the READ waiting for it.
	State resumeInput();
	// The session is over on the transport's side (channel gone, remote
	// stopped): close every file, flush the console. Idempotent.
	void end(std::string_view why);

	State state() const { return state_; }
	bool terminatedByRemote() const { return termed_; }
	size_t openFiles() const;
	const ServerStats &stats() const { return stats_; }
	// "12 requests, 1 refused, 2 files opened, 46 bytes read, 47 written"
	std::string summary() const;

private:
	void reply(Call call, int32_t result, std::span<const uint8_t> data = {});
	// Whether a refusal may be logged now (rate limit); says how many were not.
	bool mayLog();
	void refuse(uint32_t call, const std::string &what, const std::string &why);
	void doOpen(const OpenRequest &r);
	void doClose(const CloseRequest &r);
	void doWrite(const WriteRequest &r);
	void doRead(const ReadRequest &r);
	void answerConsoleRead();
	void closeAll();
	UniqueFd *file(int32_t fd);

	const ConfinedDir &dir_;
	Console &console_;
	Send send_;
	ServerOptions options_;
	std::vector<UniqueFd> files_; // remote fd kFirstFileFd + i
	State state_ = State::Serving;
	bool termed_ = false;
	uint32_t pendingRead_ = 0; // length of the READ of fd 0 waiting for input
	ServerStats stats_;
	RateLimiter refusals_;
};

} // namespace amp::proxy
