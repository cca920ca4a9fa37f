// SPDX-License-Identifier: MIT
// End-to-end fixture: ampsim, a real ampd on it and ampctl as child
// processes, all in this test binary's private network namespace.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/files.h"
#include "support/process.h"
#include "support/simulator.h"

namespace amp::e2e {

using namespace std::chrono_literals;
using nlohmann::json;
using test::Process;
using test::RunResult;
using test::SpawnOptions;

// The OpenAMP demos' firmware names (docs/openamp-demos.md) and their channel.
inline const std::string kEcho = "image_echo_test";
inline const std::string kMatmul = "image_matrix_multiply";
inline const std::string kRpc = "image_rpc_demo";
inline const std::string kDemoChannel = "rpmsg-openamp-demo-channel";
inline const std::string kRemote = "r5-0";
// The OpenAMP echo replies to the first Linux address it heard from; this
// one answers each sender, as a remote serving several clients does.
inline const std::string kMultiEcho = "image_echo_multi";

// Called once from main(), before any thread: a private network namespace
// (ampsim's udev-format uevents reach our ampd and nobody else) and a private
// mount namespace (a test that dies leaves no FUSE mount behind).
void isolate();

// ampctl's exit codes (the command-line contract).
enum Exit { kOk = 0, kFailed = 1, kUsage = 2, kNotFound = 3, kDenied = 4, kTimeout = 5, kUnreachable = 6, kBusy = 7 };

// An AF_UNIX datagram socket in the abstract namespace standing in for
// systemd's: ampd's sd_notify() READY=1 arrives here. A thread reads every
// datagram as it comes, as systemd does: sd_notify() blocks once the queue is
// full (10 datagrams in a fresh network namespace), so an unread socket would
// stall ampd's loop after a few STATUS= updates.
class NotifySocket {
public:
	NotifySocket();
	~NotifySocket();
	NotifySocket(const NotifySocket &) = delete;
	NotifySocket &operator=(const NotifySocket &) = delete;
	// The NOTIFY_SOCKET value ("@name").
	const std::string &address() const { return address_; }
	// Forget the READY=1 of an earlier daemon.
	void reset();
	// Wait for a READY=1 line, or for `process` to exit, or the deadline.
	// Empty on success, otherwise what happened.
	std::string waitReady(const Process &process, std::chrono::milliseconds deadline);

private:
	void receive();
	std::string received() const;

	int fd_ = -1;
	int readyFd_ = -1; // eventfd: the reader counts each READY=1 here
	int stopFd_ = -1;  // eventfd: tells the reader to end
	std::string address_;
	mutable std::mutex mutex_;
	std::string received_; // every datagram, '|'-separated, for failure messages
	std::thread reader_;
};

class AmpdFixture : public ::testing::Test {
protected:
	// The kernel layout this test runs on ("6.1", "5.15", "5.10").
	virtual std::string layout() const = 0;

	void SetUp() override;
	void TearDown() override;

	// The configuration: state directory in our tree, r5-0 on remoteproc0;
	// `remote` is merged into r5-0's object, `top` into the top level.
	static json config(const json &remote = json::object(), const json &top = json::object());
	void writeConfig(const json &config);
	// Start ampd on the config written last (the default one if none) and
	// wait for READY=1. False with a failure recorded.
	bool startDaemon();
	// SIGKILL ampd and reap it: the remotes are left as they are.
	void killDaemon();
	bool restartDaemon() { return startDaemon(); }
	std::string daemonLog() const;

	// ampctl --socket ... ARGS (args may begin with --json).
	RunResult ampctl(const std::vector<std::string> &args, SpawnOptions options = {},
			 std::chrono::milliseconds deadline = 20s);
	Process ampctlAsync(const std::vector<std::string> &args, SpawnOptions options = {});
	// The reply ampctl --json printed (the last JSON object on stdout).
	static json parseReply(const std::string &out);
	// The state of r5-0 as `ampctl --json status r5-0` reports it.
	std::string daemonState();

	// `ampsim mkfw --app APP [extra]` installed as lib/firmware/NAME.
	void installFirmware(const std::string &name, const std::string &app, const std::vector<std::string> &extra = {});
	// kMultiEcho, the echo that answers each sender.
	void installMultiEcho() { installFirmware(kMultiEcho, "echo", {"--reply-to-sender"}); }
	// ampd on this configuration, r5-0 running kMultiEcho.
	bool startEcho(const json &remote = json::object(), const json &top = json::object());
	// `ampctl start r5-0 --firmware FIRMWARE`, which must succeed.
	void boot(const std::string &firmware);
	// remoteproc0's attributes as the kernel shows them (without the newline).
	std::string sysState() const { return attr("state"); }
	std::string sysFirmware() const { return attr("firmware"); }
	std::string attr(const std::string &name) const;
	std::string simStatus();

	// amp-stream-stress (tests/e2e/stress) on `remote`'s demo channel, its
	// report as JSON on stdout, `--timeout` seconds (args may add more).
	Process stressAsync(const std::vector<std::string> &args, const std::string &remote = kRemote,
			    int timeoutSeconds = 120, SpawnOptions options = {});
	Process stressAsync(const std::vector<std::string> &args, SpawnOptions options)
	{
		return stressAsync(args, kRemote, 120, std::move(options));
	}
	struct Stress {
		RunResult run;
		json report; // null when none was printed
		const json &stream(size_t i) const { return report["streams"][i]; }
		std::string describe() const { return run.describe(); }
	};
	// Its exit and report; the summary line goes to the test log.
	static Stress finish(Process &p, std::chrono::milliseconds deadline = 150s);
	// Lines of `out` that start with `prefix`, and a wait for `count` of them.
	static size_t lines(const std::string &out, const std::string &prefix);
	static bool waitLines(Process &p, const std::string &prefix, size_t count, std::chrono::milliseconds deadline = 20s);
	// The endpoint nodes (dev/rpmsgK) the simulated kernel has now.
	std::set<std::string> endpointNodes() const;
	// ampd's fds, less the sysfs attributes and firmware files it opens for
	// one read or write (state is re-read every second): open at a baseline
	// by chance and closed after, they made counts drop, not grow. What
	// could leak (sockets, endpoint and control nodes, timers) is counted.
	size_t ampdFds() const;
	// Of those, the client connections ampd accepted on its socket and the
	// stream sockets it made (socketpairs): both are closed after the
	// request or stream that used them is over (a deferred close, after the
	// reply or the endpoint's removal a test waits on).
	struct ClientSockets {
		size_t connections = 0, streams = 0;
	};
	ClientSockets ampdClientSockets() const;
	// ampd's fds once exactly `streams` stream sockets and `connections`
	// client connections (the test's own Clients) remain: a baseline no
	// closing client inflates.
	size_t settledFds(size_t streams = 0, size_t connections = 0);
	// ampd's fds with no stream open, once one has come and gone (ampd
	// keeps the remote's rpmsg_ctrl open until the remote stops).
	size_t idleFds(size_t connections = 0);
	// Every fd of ampd and what it is, for a failure message.
	std::string ampdFdList() const;
	// Something ampd does after a request returned (closing an endpoint,
	// an fd) raises no event the test can wait on: test::waitUntil, with a
	// deadline for ampd under the sanitizers.
	static bool eventually(const std::function<bool()> &pred, std::chrono::milliseconds deadline = 10s)
	{
		return test::waitUntil(pred, deadline);
	}

	// More `ampsim run` options (e.g. a second --remote), set before SetUp().
	std::vector<std::string> simArgs_;
	test::Simulator sim_;
	test::TempDir dir_{"amp-e2e"};
	std::string configPath_, socketPath_, logPath_;
	Process ampd_;
	NotifySocket notify_;
};

// The usual case: one layout per test instance.
class AmpdTest : public AmpdFixture, public ::testing::WithParamInterface<std::string> {
protected:
	std::string layout() const override { return GetParam(); }
};

// Many clients on one remote: kMultiEcho installed.
class MultiEchoTest : public AmpdTest {
protected:
	void SetUp() override
	{
		AmpdTest::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		installMultiEcho();
	}
};

// The matmul demo's 6x6 matrices, and the product its answers are checked
// against, computed here rather than by ampctl.
using Matrix = std::vector<std::vector<std::uint64_t>>;
Matrix matrixProduct(const Matrix &a, const Matrix &b);

// Lines of an `ampctl --json events` stream that are state events, as
// (from, to) pairs, in order.
std::vector<std::pair<std::string, std::string>> stateEvents(const std::string &stream);
// Whether the `to` states of `seen` pass through `wantTo` in order (not necessarily adjacent).
bool inOrder(const std::vector<std::pair<std::string, std::string>> &seen, const std::vector<std::string> &wantTo);

} // namespace amp::e2e
