// SPDX-License-Identifier: MIT
// Faults of the daemon and of its clients, end to end: ampd SIGKILLed at
// random points (then restarted: remotes re-adopted, not rebooted; clients
// reconnect), clients that leave mid-request, 1000 clients at once, and a
// client sending a gigabyte of junk. The remote's faults are in
// test_faults.cpp; docs/reliability.md has the table.
#include "faults.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <random>

namespace amp::e2e {
namespace {

class DaemonFaults : public FaultTest {
protected:
	// A raw SOCK_SEQPACKET connection to ampd's control socket; -1 on failure
	// (errno set).
	int connectRaw(bool nonblock = false) const
	{
		int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
		if (fd < 0)
			return -1;
		sockaddr_un a{};
		a.sun_family = AF_UNIX;
		std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socketPath_.c_str());
		if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
			int err = errno;
			::close(fd);
			errno = err;
			return -1;
		}
		return fd;
	}
	static bool sendText(int fd, const std::string &text)
	{
		return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
	}
	// The next packet within `deadline`; nullopt at end-of-file, error or timeout.
	static std::optional<std::string> receiveText(int fd, std::chrono::milliseconds deadline = 10s)
	{
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0)
			return std::nullopt;
		std::string buf(70000, '\0');
		ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
		if (n <= 0)
			return std::nullopt;
		buf.resize(static_cast<size_t>(n));
		return buf;
	}
	// ampd's memory is what these tests measure, not the sanitizer's: ASan
	// keeps freed blocks in a quarantine of up to 256 MiB, which 1 GiB of
	// traffic fills. Bounded to 16 MiB for the ampd started next (without
	// ASan the option is ignored).
	static void boundSanitizerQuarantine()
	{
		std::string opts = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
		opts += std::string(opts.empty() ? "" : ":") + "quarantine_size_mb=16";
		::setenv("ASAN_OPTIONS", opts.c_str(), 1);
	}
	// Whether the current state is one ampd settles in (no transition in flight).
	static bool settled(const std::string &state)
	{
		return state == "offline" || state == "running" || state == "running-degraded" || state == "crashed" ||
		       state == "error";
	}
};

// --- ampd SIGKILLed at random points ----------------------------------------

// A seeded loop: each round does one thing (a start, a stop with the
// shutdown handshake, stream traffic), kills ampd at a random moment in it
// and starts a new one. Then: ampd agrees with the kernel; a core the
// kernel had running was adopted, not rebooted (ampsim counts boots); no
// endpoint node of the old ampd's streams is left once it has settled;
// the stream clients reconnect through libamp; and the remote is still
// under control (it stops and starts). AMP_FAULT_SEED replays a run.
TEST_P(DaemonFaults, SigkillAtRandomPointsThenRestart)
{
	unsigned seed = 0;
	if (const char *s = std::getenv("AMP_FAULT_SEED"))
		seed = static_cast<unsigned>(std::strtoul(s, nullptr, 0));
	else
		seed = std::random_device{}();
	std::cout << "    seed " << seed << " (AMP_FAULT_SEED=" << seed << " replays it)\n";
	RecordProperty("seed", std::to_string(seed));
	SCOPED_TRACE("AMP_FAULT_SEED=" + std::to_string(seed));
	std::mt19937 rng(seed);

	writeConfig(config({{"shutdown", {{"message", "0xEF56A55A"}, {"channel", kDemoChannel}}},
			    {"deadlines", {{"shutdown_ms", 1000}, {"start_to_channel_ms", 1000}}}}));
	ASSERT_TRUE(startDaemon());
	constexpr int kRounds = 6;
	for (int round = 0; round < kRounds; ++round) {
		const int what = std::uniform_int_distribution<int>(0, 2)(rng);
		const int delayMs = std::uniform_int_distribution<int>(0, 60)(rng);
		const char *names[] = {"start", "stop", "traffic"};
		SCOPED_TRACE("round " + std::to_string(round) + ": kill during " + names[what] + " after " +
			     std::to_string(delayMs) + " ms");
		std::cout << "    round " << round << ": kill during " << names[what] << " after " << delayMs << " ms";

		// Set up the round's precondition with the current ampd.
		std::string state = daemonState();
		if (what == 0 && state != "offline") {
			ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk) << daemonLog();
		} else if (what != 0 && state != "running") {
			if (state != "offline") {
				ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk);
			}
			RunResult st = ampctl({"start", kRemote, "--firmware", kMultiEcho});
			ASSERT_EQ(st.exit, kOk) << st.describe();
		}
		Process action;
		std::vector<Stream> streams;
		if (what == 0)
			action = ampctlAsync({"start", kRemote, "--firmware", kMultiEcho});
		else if (what == 1)
			action = ampctlAsync({"stop", kRemote});
		else {
			streams = openStreams(3, OpenOptions{kAddrAny, false, true});
			ASSERT_EQ(streams.size(), 3u);
			for (unsigned i = 0; i < streams.size(); ++i)
				for (unsigned k = 0; k < 20; ++k)
					ASSERT_TRUE(streams[i].send(message(i, k), 5s));
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(delayMs)); // the random kill point, not a wait
		const unsigned bootsAtKill = boots();
		killDaemon();
		action.wait(10s);
		// The kernel finishes what it was asked (a start write in flight
		// completes); then a new ampd.
		const std::string kernelBefore = sysState();
		const unsigned bootsBefore = boots();
		ASSERT_TRUE(restartDaemon());
		std::string now;
		ASSERT_TRUE(eventually([&] { return settled(now = daemonState()); }, 10s)) << now << "\n" << daemonLog();
		std::cout << ": kernel " << kernelBefore << ", ampd " << now << ", boots " << bootsAtKill << " -> "
			  << boots() << ", endpoint nodes " << endpointNodes().size() << "\n";
		EXPECT_EQ(boots(), bootsBefore) << "the new ampd rebooted a core";
		EXPECT_EQ(sysState(), kernelBefore);
		if (kernelBefore == "running")
			EXPECT_TRUE(now == "running" || now == "running-degraded") << now;
		else
			EXPECT_EQ(now, kernelBefore);

		if (!streams.empty()) {
			// The old ampd's streams end (its relay is gone); the clients
			// reconnect to the new one and carry on.
			std::vector<uint8_t> buf(512);
			for (auto &s : streams) {
				Result<std::size_t> got = s.receive(buf, 100ms);
				while (got)
					got = s.receive(buf, 5s);
				EXPECT_TRUE(got.error().code == EPIPE || got.error().code == ENOTCONN ||
					    got.error().code == ECONNRESET)
					<< got.error().message();
			}
			streams.clear();
			if (now == "running") {
				auto again = openStreams(3);
				ASSERT_EQ(again.size(), 3u);
				for (unsigned i = 0; i < again.size(); ++i)
					for (unsigned k = 0; k < 5; ++k)
						ASSERT_TRUE(again[i].send(message(i, k), 5s));
				for (unsigned i = 0; i < again.size(); ++i)
					expectEchoes(again[i], i, 5);
			}
		}
	}
	// Still under control: stop, and no endpoint node survives the stop.
	ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	EXPECT_EQ(sysState(), "offline");
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); })) << testing::PrintToString(endpointNodes());
	RunResult start = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	EXPECT_EQ(start.exit, kOk) << start.describe();
}

// --- clients that leave mid-request -----------------------------------------

TEST_P(DaemonFaults, ClientsThatLeaveMidRequest)
{
	ASSERT_TRUE(startEcho());
	ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	const size_t fdsBefore = settledFds();

	// Half a request, then gone. On SOCK_SEQPACKET a packet arrives whole
	// or not at all, so "half" is a packet cut short: it is refused
	// (EBADMSG) to a peer that is no longer there (EPIPE: dropped).
	for (int i = 0; i < 20; ++i) {
		int fd = connectRaw();
		ASSERT_GE(fd, 0) << strerror(errno);
		ASSERT_TRUE(sendText(fd, R"({"type":"start","id":1,"remote":"r5-0","firm)"));
		::close(fd);
	}
	// A start, and gone before the answer: the start goes on, its answer
	// goes nowhere.
	{
		int fd = connectRaw();
		ASSERT_GE(fd, 0);
		ASSERT_TRUE(sendText(fd, R"({"type":"start","id":2,"remote":"r5-0","firmware":")" + kMultiEcho + "\"}"));
		::close(fd);
	}
	RunResult running = ampctl({"wait", kRemote, "running", "--timeout", "10"});
	EXPECT_EQ(running.exit, kOk) << running.describe();
	// An open, and gone before the answer: the stream ampd made for nobody
	// (its socket went with the undeliverable answer) goes, and its
	// endpoint with it.
	for (int i = 0; i < 10; ++i) {
		int fd = connectRaw();
		ASSERT_GE(fd, 0);
		ASSERT_TRUE(sendText(fd, R"({"type":"open","id":2,"remote":"r5-0","channel":")" + kDemoChannel + "\"}"));
		::close(fd);
	}
	EXPECT_TRUE(eventually([&] { return daemonLog().find("stream 10 on") != std::string::npos; }))
		<< "ampd opened the ten streams";
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); })) << testing::PrintToString(endpointNodes());
	// A stop, and gone: it goes on too.
	{
		int fd = connectRaw();
		ASSERT_GE(fd, 0);
		ASSERT_TRUE(sendText(fd, R"({"type":"stop","id":3,"remote":"r5-0"})"));
		::close(fd);
	}
	RunResult offline = ampctl({"wait", kRemote, "offline", "--timeout", "10"});
	EXPECT_EQ(offline.exit, kOk) << offline.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsBefore; })) << fdsBefore << " before, now:\n" << ampdFdList();
	// A client with answers unread that leaves: the kernel reports
	// ECONNRESET to ampd before any packet still queued from it, so a
	// request ampd had not read yet is not carried out (it may have been:
	// the race is the client's). Either way ampd goes on.
	{
		int fd = connectRaw();
		ASSERT_GE(fd, 0);
		ASSERT_TRUE(sendText(fd, R"({"type":"hello","id":1,"version":1})"));
		ASSERT_TRUE(sendText(fd, R"({"type":"status","id":2})"));
		::close(fd);
	}
	// A stream client that leaves in the middle of an exchange (killed with
	// messages in flight): test_streams.cpp AKilledClientsEndpointGoesTheOthersGoOn.
	RunResult status = ampctl({"status"});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	RunResult start = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	EXPECT_EQ(start.exit, kOk) << start.describe();
}

// --- 1000 clients at once ---------------------------------------------------

// 1000 connections made at once (8 threads), each sends `hello` and
// `status` without waiting; ampd must serve them all or refuse cleanly, and
// its loop must not stall: an `ampctl status` started in the middle answers
// within 5 s. Then they all leave and ampd's fds are back where they were.
TEST_P(DaemonFaults, AThousandClientsAtOnce)
{
	struct rlimit lim {};
	ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_cur < 4096) {
		lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4096);
		ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0) << strerror(errno);
	}
	ASSERT_GE(lim.rlim_cur, 1100u) << "need 1000 fds";
	ASSERT_TRUE(startEcho());
	const size_t fdsBefore = settledFds();
	constexpr int kClients = 1000, kThreads = 8;
	std::vector<int> fds(kClients, -1);
	std::atomic<int> refusedAtConnect{0};
	std::vector<std::thread> threads;
	auto t0 = std::chrono::steady_clock::now();
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = t; i < kClients; i += kThreads) {
				int fd = connectRaw();
				if (fd < 0) {
					refusedAtConnect++;
					continue;
				}
				(void)sendText(fd, R"({"type":"hello","id":1,"version":1,"client":"e2e-thousand"})");
				(void)sendText(fd, R"({"type":"status","id":2})");
				fds[size_t(i)] = fd;
			}
		});
	// In the middle of it, an ordinary client.
	int statusExit = -1;
	auto latency = statusLatency(&statusExit);
	for (auto &th : threads)
		th.join();
	auto connected = std::chrono::steady_clock::now() - t0;
	// Each gets its two answers, or a refusal (EMFILE) and end-of-file.
	int served = 0, refused = 0, silent = 0;
	for (int fd : fds) {
		if (fd < 0)
			continue;
		auto hello = receiveText(fd, 20s);
		auto status = hello ? receiveText(fd, 20s) : std::nullopt;
		if (status && status->find("\"remotes\"") != std::string::npos)
			served++;
		else if (hello && hello->find("EMFILE") != std::string::npos)
			refused++;
		else
			silent++;
	}
	auto all = std::chrono::steady_clock::now() - t0;
	std::cout << "    1000 clients: " << served << " served, " << refused << " refused (EMFILE), "
		  << refusedAtConnect << " refused at connect, " << silent << " unanswered; connected in "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(connected).count() << " ms, all answered in "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(all).count() << " ms; `ampctl status` meanwhile "
		  << latency.count() << " ms; ampd fds " << ampdFds() << "\n";
	EXPECT_EQ(statusExit, kOk);
	EXPECT_LT(latency, 5s) << "ampd's loop stalled behind 1000 clients";
	EXPECT_EQ(silent, 0);
	EXPECT_EQ(served + refused + refusedAtConnect, kClients);
	EXPECT_EQ(served, kClients) << "ampd allows 4096 clients and raises its fd limit";
	for (int fd : fds)
		if (fd >= 0)
			::close(fd);
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsBefore; })) << fdsBefore << " before, now:\n" << ampdFdList();
	EXPECT_LT(statusLatency(), 5s);
}

// --- a stray SIGHUP ---------------------------------------------------------

// `kill -HUP` is how many daemons are told to reload; ampd does not reload,
// and a SIGHUP must not end it (systemd would count that a clean exit and
// not restart it): it says so and goes on serving, the remote untouched.
TEST_P(DaemonFaults, ASighupIsLoggedAndChangesNothing)
{
	ASSERT_TRUE(startEcho());
	const unsigned bootsBefore = boots();
	ASSERT_TRUE(ampd_.signal(SIGHUP));
	ASSERT_TRUE(eventually([&] { return daemonLog().find("SIGHUP: ampd does not reload") != std::string::npos; }))
		<< daemonLog();
	EXPECT_TRUE(ampd_.running());
	RunResult send = ampctl({"send", kRemote, kDemoChannel, "after-hup", "--reply"});
	EXPECT_EQ(send.exit, kOk) << send.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(boots(), bootsBefore);
}

// --- a gigabyte of junk -----------------------------------------------------

// One client sends 1 GiB of junk in 64 KiB packets (and some oversize
// ones) on the control socket and reads the answers (EBADMSG, EMSGSIZE):
// ampd refuses each, quickly, its memory stays bounded, and another client
// is answered meanwhile. A second client sends junk and never reads: ampd
// drops it once its unread answers reach the bound (4096 packets).
TEST_P(DaemonFaults, AGigabyteOfJunk)
{
	boundSanitizerQuarantine();
	ASSERT_TRUE(startEcho());
	const long rssBefore = ampdRssKb();
	int fd = connectRaw();
	ASSERT_GE(fd, 0) << strerror(errno);
	int sndbuf = 1 << 20;
	(void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	std::mt19937 rng(1);
	std::string junk(65536, '\0');
	for (auto &c : junk)
		c = static_cast<char>(rng());
	junk[0] = '{'; // past the first byte at least
	const std::string oversize(100000, 'x');
	constexpr size_t kTotal = size_t(1) << 30;
	size_t sent = 0, packets = 0, answers = 0, badmsg = 0, msgsize = 0;
	long rssPeak = rssBefore;
	std::chrono::milliseconds worstStatus{0};
	auto t0 = std::chrono::steady_clock::now();
	std::string buf(70000, '\0');
	auto drain = [&](int timeoutMs) {
		pollfd p{fd, POLLIN, 0};
		while (::poll(&p, 1, timeoutMs) > 0) {
			ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
			if (n <= 0)
				return false;
			answers++;
			std::string_view a(buf.data(), size_t(n));
			badmsg += a.find("EBADMSG") != std::string_view::npos;
			msgsize += a.find("EMSGSIZE") != std::string_view::npos;
			timeoutMs = 0;
		}
		return true;
	};
	while (sent < kTotal) {
		const std::string &pkt = packets % 1024 == 1023 ? oversize : junk;
		pollfd p[1] = {{fd, POLLOUT | POLLIN, 0}};
		ASSERT_GT(::poll(p, 1, 10000), 0) << "ampd stopped reading after " << sent << " bytes";
		if (p[0].revents & POLLIN) {
			ASSERT_TRUE(drain(0)) << "ampd closed the connection after " << sent << " bytes";
		}
		if (!(p[0].revents & POLLOUT))
			continue;
		ssize_t n = ::send(fd, pkt.data(), pkt.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		ASSERT_EQ(n, static_cast<ssize_t>(pkt.size())) << strerror(errno) << " after " << sent << " bytes";
		sent += pkt.size();
		packets++;
		if (packets % 4096 == 0) {
			rssPeak = std::max(rssPeak, ampdRssKb());
			worstStatus = std::max(worstStatus, statusLatency());
		}
	}
	while (answers < packets && drain(10000))
		;
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	rssPeak = std::max(rssPeak, ampdRssKb());
	std::cout << "    1 GiB of junk: " << packets << " packets in " << seconds << " s (" << (sent >> 20) / seconds
		  << " MiB/s), " << answers << " answers (" << badmsg << " EBADMSG, " << msgsize
		  << " EMSGSIZE); ampd RSS " << rssBefore << " -> peak " << rssPeak << " kB; `ampctl status` at worst "
		  << worstStatus.count() << " ms\n";
	::close(fd);
	EXPECT_EQ(answers, packets);
	EXPECT_EQ(badmsg + msgsize, packets);
	EXPECT_GT(msgsize, 0u);
	EXPECT_LT(rssPeak - rssBefore, 64 * 1024) << "ampd grew by more than 64 MiB";
	EXPECT_LT(worstStatus, 5s);

	// Junk from a client that never reads: dropped at the bound.
	int deaf = connectRaw();
	ASSERT_GE(deaf, 0);
	size_t deafSent = 0;
	bool dropped = false;
	auto d0 = std::chrono::steady_clock::now();
	while (deafSent < kTotal) {
		pollfd p{deaf, POLLOUT, 0};
		if (::poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = ::send(deaf, "not json", 8, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			dropped = errno == EPIPE || errno == ECONNRESET;
			break;
		}
		deafSent++;
	}
	double deafSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
	std::cout << "    a client that never reads: dropped after " << deafSent << " packets, " << deafSeconds << " s\n";
	::close(deaf);
	EXPECT_TRUE(dropped) << "ampd kept a client that never reads its answers";
	EXPECT_LT(ampdRssKb() - rssBefore, 64 * 1024);
	EXPECT_LT(statusLatency(), 5s);
}

// The same on a stream socket: a gigabyte of packets of an unknown kind
// and oversize ones, each answered with an error event, while the client
// reads; then a client that sends junk and reads nothing.
TEST_P(DaemonFaults, AGigabyteOfJunkOnAStream)
{
	boundSanitizerQuarantine();
	ASSERT_TRUE(startEcho());
	const long rssBefore = ampdRssKb();
	auto streams = openStreams(1);
	ASSERT_EQ(streams.size(), 1u);
	int fd = streams[0].eventFd();
	std::string junk(497 + 1, '\x07'); // kind 7: unknown
	const std::string oversize(60000, '\0'); // a message of 59999 bytes
	constexpr size_t kTotal = size_t(1) << 30;
	size_t sent = 0, packets = 0, errors = 0;
	std::string buf(70000, '\0');
	long rssPeak = rssBefore;
	auto t0 = std::chrono::steady_clock::now();
	while (sent < kTotal) {
		const std::string &pkt = packets % 2 ? oversize : junk;
		pollfd p{fd, POLLOUT | POLLIN, 0};
		ASSERT_GT(::poll(&p, 1, 10000), 0) << "ampd stopped reading after " << sent << " bytes";
		if (p.revents & POLLIN)
			for (ssize_t n; (n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT)) > 0;)
				errors += std::string_view(buf.data(), size_t(n)).find("\"error\"") != std::string_view::npos;
		if (!(p.revents & POLLOUT))
			continue;
		ssize_t n = ::send(fd, pkt.data(), pkt.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		ASSERT_EQ(n, static_cast<ssize_t>(pkt.size())) << strerror(errno) << " after " << sent << " bytes";
		sent += pkt.size();
		if (++packets % 8192 == 0)
			rssPeak = std::max(rssPeak, ampdRssKb());
	}
	pollfd p{fd, POLLIN, 0};
	while (errors < packets && ::poll(&p, 1, 10000) > 0) {
		ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
		if (n <= 0)
			break;
		errors += std::string_view(buf.data(), size_t(n)).find("\"error\"") != std::string_view::npos;
	}
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	rssPeak = std::max(rssPeak, ampdRssKb());
	std::cout << "    1 GiB of junk on a stream: " << packets << " packets in " << seconds << " s, " << errors
		  << " error events; ampd RSS " << rssBefore << " -> peak " << rssPeak << " kB\n";
	EXPECT_EQ(errors, packets);
	EXPECT_LT(rssPeak - rssBefore, 64 * 1024);
	// The stream still works.
	ASSERT_TRUE(streams[0].send(message(0, 0), 5s));
	expectEchoes(streams[0], 0, 1);

	// A stream client that sends junk and never reads its error events.
	auto deaf = openStreams(1);
	ASSERT_EQ(deaf.size(), 1u);
	int dfd = deaf[0].eventFd();
	size_t deafSent = 0;
	std::string outcome = "sent everything";
	while (deafSent < 200000) {
		pollfd q{dfd, POLLOUT, 0};
		if (::poll(&q, 1, 3000) <= 0) {
			outcome = "ampd stopped reading it";
			break;
		}
		ssize_t n = ::send(dfd, junk.data(), junk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			outcome = std::string("dropped (") + strerror(errno) + ")";
			break;
		}
		deafSent++;
	}
	std::cout << "    a stream client that never reads: " << outcome << " after " << deafSent << " packets; ampd RSS "
		  << ampdRssKb() << " kB\n";
	EXPECT_NE(outcome, "sent everything") << "ampd took 200000 junk packets without a bound";
	EXPECT_LT(ampdRssKb() - rssBefore, 64 * 1024);
	EXPECT_LT(statusLatency(), 5s);
	// And the first stream is unaffected.
	ASSERT_TRUE(streams[0].send(message(0, 1), 5s));
	expectEchoes(streams[0], 0, 1, 1);
}

INSTANTIATE_TEST_SUITE_P(Layouts, DaemonFaults, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
