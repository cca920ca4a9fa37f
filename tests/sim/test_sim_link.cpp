// SPDX-License-Identifier: MIT
// `ampsim run --link`: messages cross a link that takes time, one at a time
// per direction, and are seen only once across (README "Link timing").
// Timing is only ever checked as a lower bound: the model can only make
// things slower, and shared machines make them slower still, by any amount.
#include "test_support.h"

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <thread>
#include <unistd.h>

namespace ampsim::test {
namespace {

using Clock = std::chrono::steady_clock;

class Link : public ::testing::TestWithParam<std::string> {
protected:
	// Start with the given link arguments and boot a reply-to-sender echo.
	bool startWith(std::vector<std::string> linkArgs)
	{
		Simulator::Options o;
		o.layout = GetParam();
		o.extraArgs = std::move(linkArgs);
		if (!sim.start(o))
			return false;
		FirmwareSpec echo;
		echo.flags = AMPSIM_FW_REPLY_TO_SENDER;
		sim.installFirmware("echo", echo);
		EXPECT_EQ(sim.boot("echo"), 0);
		std::string channel = sim.waitChannel();
		EXPECT_FALSE(channel.empty());
		ctrl = controlNodeFor(sim, GetParam(), channel);
		EXPECT_FALSE(ctrl.empty());
		return !ctrl.empty();
	}
	int openEndpoint(const std::string &name, int flags = 0)
	{
		std::string node = createEndpoint(sim, ctrl, name, 0xFFFFFFFF, 0x400);
		EXPECT_FALSE(node.empty()) << name;
		int fd = open(sim.dev(node).c_str(), O_RDWR | O_CLOEXEC | flags);
		EXPECT_GE(fd, 0) << strerror(errno);
		if (fd >= 0)
			fds.push_back(fd);
		return fd;
	}
	// The next message on `fd` (waiting up to `timeoutMs`), or "<timeout>".
	std::string receive(int fd, int timeoutMs = 10000)
	{
		pollfd p{fd, POLLIN, 0};
		if (poll(&p, 1, timeoutMs) != 1 || !(p.revents & POLLIN))
			return "<timeout>";
		char buf[512];
		ssize_t n = read(fd, buf, sizeof buf);
		return n < 0 ? "<error " + std::string(strerror(errno)) + ">" : std::string(buf, n);
	}
	void TearDown() override
	{
		for (int fd : fds)
			close(fd);
	}

	Simulator sim;
	std::string ctrl;
	std::vector<int> fds;
};

// Every echo round trip crosses the link twice; on the board link that is
// at least 33 us for 1 byte and 155 us for 490 (2 x (16.375 + 0.1247 n) us).
TEST_P(Link, BoardRoundTripsTakeAtLeastTheLinkTime)
{
	if (!startWith({"--link", "board"}))
		return;
	EXPECT_NE(sim.stderrText().find("link timing: 16.3753 us + 0.12474 us/byte"), std::string::npos);
	int fd = openEndpoint("bench");
	ASSERT_GE(fd, 0);
	for (auto [size, floor] : {std::pair{size_t(1), 33000ns}, std::pair{size_t(490), 155000ns}}) {
		constexpr int kRounds = 200;
		std::string msg(size, 'e');
		auto shortest = Clock::duration::max();
		auto start = Clock::now();
		for (int i = 0; i < kRounds; ++i) {
			msg[0] = static_cast<char>(i);
			auto t0 = Clock::now();
			ASSERT_EQ(write(fd, msg.data(), size), static_cast<ssize_t>(size));
			ASSERT_EQ(receive(fd), msg) << "round trip " << i;
			shortest = std::min(shortest, Clock::now() - t0);
		}
		auto total = Clock::now() - start;
		EXPECT_GE(shortest, floor) << size << " bytes: a round trip faster than the link";
		EXPECT_GE(total, kRounds * floor) << size << " bytes";
	}
}

// One message at a time per direction: a burst of K messages needs K
// transfers out, and the k-th echo cannot be back before k+2 of them.
TEST_P(Link, MessagesCrossOneAtATimeInOrder)
{
	constexpr auto kPerMessage = 20ms;
	if (!startWith({"--link-us", "20000,0"}))
		return;
	int fd = openEndpoint("burst");
	ASSERT_GE(fd, 0);
	constexpr int kCount = 8;
	auto t0 = Clock::now();
	for (int i = 0; i < kCount; ++i) {
		std::string m = "b" + std::to_string(i);
		ASSERT_EQ(write(fd, m.data(), m.size()), static_cast<ssize_t>(m.size()));
	}
	for (int i = 0; i < kCount; ++i) {
		EXPECT_EQ(receive(fd), "b" + std::to_string(i));
		EXPECT_GE(Clock::now() - t0, (i + 2) * kPerMessage) << "echo " << i << " came before its transfers";
	}
}

// Two endpoints share the link: what one sends queues behind the other's.
TEST_P(Link, EndpointsShareTheLink)
{
	constexpr auto kPerMessage = 50ms;
	if (!startWith({"--link-us", "50000,0"}))
		return;
	int a = openEndpoint("a");
	int b = openEndpoint("b");
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	auto t0 = Clock::now();
	ASSERT_EQ(write(a, "to-a", 4), 4);
	ASSERT_EQ(write(b, "to-b", 4), 4);
	// a's echo: out, back (2 transfers); b's: behind a's both ways (3).
	std::atomic<int64_t> aNs{0};
	std::thread ra([&] {
		EXPECT_EQ(receive(a), "to-a");
		aNs = (Clock::now() - t0).count();
	});
	EXPECT_EQ(receive(b), "to-b");
	auto bTime = Clock::now() - t0;
	ra.join();
	EXPECT_GE(Clock::duration(aNs.load()), 2 * kPerMessage);
	EXPECT_GE(bTime, 3 * kPerMessage);
}

// Under load, from both sides at once: every message arrives, in the order
// sent, on the board link.
TEST_P(Link, OrderKeptAndNothingLostUnderLoad)
{
	if (!startWith({"--link", "board"}))
		return;
	int a = openEndpoint("a", O_NONBLOCK);
	int b = openEndpoint("b", O_NONBLOCK);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	constexpr int kPerEndpoint = 600;
	std::atomic<bool> failed{false};
	auto writer = [&](int fd, char tag) {
		for (int i = 0; i < kPerEndpoint && !failed; ++i) {
			// 3 to 202 bytes: the link's per-byte cost varies too.
			std::string m = tag + std::to_string(i) + "|" + std::string(static_cast<size_t>(i % 200), '.');
			// No POLLOUT on rpmsg: on EAGAIN/ENOMEM retry on a timer.
			while (write(fd, m.data(), m.size()) < 0) {
				if (errno != EAGAIN && errno != ENOMEM) {
					ADD_FAILURE() << "write: " << strerror(errno);
					failed = true;
					return;
				}
				std::this_thread::sleep_for(200us);
			}
		}
	};
	std::thread wa(writer, a, 'a'), wb(writer, b, 'b');
	std::map<char, int> next{{'a', 0}, {'b', 0}};
	// Meanwhile the remote floods whichever of a and b it heard from last:
	// 8-byte messages k, k+1, ..., k+7 for k = 0..kFlood-1.
	constexpr int kFlood = 200;
	int floods = 0;
	std::map<char, int> lastFlood{{'a', -1}, {'b', -1}};
	bool flooded = false;
	while ((next['a'] < kPerEndpoint || next['b'] < kPerEndpoint || !flooded || floods < kFlood) && !failed) {
		// Once the remote has heard from us (it floods the last sender).
		if (!flooded && next['a'] + next['b'] > 0) {
			EXPECT_EQ(sim.ctl({"flood", "remoteproc0", std::to_string(kFlood), "8"}), 0);
			flooded = true;
		}
		pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
		if (poll(p, 2, 10000) <= 0) {
			ADD_FAILURE() << "nothing for 10 s: a " << next['a'] << ", b " << next['b'] << ", flood "
				      << floods << "/" << kFlood;
			break;
		}
		for (auto [i, tag] : {std::pair{0, 'a'}, std::pair{1, 'b'}}) {
			char buf[512];
			ssize_t n;
			while ((n = read(p[i].fd, buf, sizeof buf)) > 0) {
				std::string m(buf, n);
				bool isFlood = m.size() == 8;
				for (size_t j = 1; j < m.size() && isFlood; ++j)
					isFlood = static_cast<uint8_t>(m[j]) == static_cast<uint8_t>(m[0] + j);
				if (isFlood) {
					int k = static_cast<uint8_t>(m[0]);
					EXPECT_GT(k, lastFlood[tag]) << "flood message out of order on " << tag;
					lastFlood[tag] = k;
					floods++;
					continue;
				}
				std::string want = tag + std::to_string(next[tag]);
				EXPECT_EQ(m.substr(0, m.find('|')), want) << "out of order or lost on " << tag;
				next[tag]++;
			}
		}
	}
	failed = true;
	wa.join();
	wb.join();
	EXPECT_EQ(next['a'], kPerEndpoint);
	EXPECT_EQ(next['b'], kPerEndpoint);
	EXPECT_EQ(floods, kFlood);
}

// Writing faster than the link: the 256 TX buffers are all in flight, and
// a nonblocking write fails as the layout's kernel fails it; a blocking one
// waits for a transfer to end. Nothing is lost.
TEST_P(Link, WritingFasterThanTheLinkRunsOutOfBuffers)
{
	// 5 ms a message: the writer below is a hundred times faster.
	if (!startWith({"--link-us", "5000,0"}))
		return;
	int fd = openEndpoint("fast", O_NONBLOCK);
	ASSERT_GE(fd, 0);
	int sent = 0;
	for (; sent < 2000; ++sent) {
		std::string m = std::to_string(sent);
		if (write(fd, m.data(), m.size()) < 0)
			break;
	}
	int err = errno;
	ASSERT_LT(sent, 2000) << "never out of buffers";
	EXPECT_EQ(err, GetParam() == "6.1" ? EAGAIN : ENOMEM);
	EXPECT_GE(sent, 256) << "at least every TX buffer";
	// A blocking write waits for the next transfer to end, then goes.
	fcntl(fd, F_SETFL, 0);
	std::string m = std::to_string(sent);
	ASSERT_EQ(write(fd, m.data(), m.size()), static_cast<ssize_t>(m.size()));
	++sent;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	// Every echo, in order (all sent ones are in flight; 5 ms each way).
	for (int i = 0; i < sent; ++i) {
		std::string got = receive(fd);
		ASSERT_EQ(got, std::to_string(i));
	}
	char buf[16];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EAGAIN);
	std::string status;
	ASSERT_EQ(sim.ctl({"status"}, &status), 0);
	EXPECT_NE(status.find("tx_free=256"), std::string::npos) << status;
}

// The remote's name-service messages cross the same link, in order: the
// channel cannot be gone before the echoes sent ahead of its destroy are in.
TEST_P(Link, NameServiceMessagesKeepTheirPlace)
{
	if (GetParam() == "5.10")
		GTEST_SKIP() << "5.10 endpoints die with their channel: nothing left to look at";
	if (!startWith({"--link-us", "20000,0"}))
		return;
	int fd = openEndpoint("ns", O_NONBLOCK);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "hi", 2), 2);
	ASSERT_EQ(receive(fd), "hi");
	// Ten messages from the remote take 200 ms to cross; the shutdown
	// word reaches it after 20 ms and it destroys its channel at once.
	ASSERT_EQ(sim.ctl({"flood", "remoteproc0", "10", "8"}), 0);
	uint32_t word = AMPSIM_SHUTDOWN_WORD;
	ASSERT_EQ(write(fd, &word, 4), 4);
	ASSERT_TRUE(waitUntil([&] { return !sim.hasChannel(); }, 10s));
	for (int i = 0; i < 10; ++i) {
		char buf[16];
		ssize_t n = read(fd, buf, sizeof buf);
		ASSERT_EQ(n, 8) << "message " << i << " not in before the channel went: " << strerror(errno);
		EXPECT_EQ(buf[0], static_cast<char>(i));
	}
}

// Stopping the remote with messages still crossing: they are lost, the
// endpoints get EPIPE, and the simulator exits cleanly.
TEST_P(Link, StopWithMessagesInFlight)
{
	if (!startWith({"--link-us", "100000,0"}))
		return;
	int fd = openEndpoint("doomed");
	ASSERT_GE(fd, 0);
	for (int i = 0; i < 5; ++i)
		ASSERT_EQ(write(fd, "x", 1), 1);
	// Once the first echo is back, messages cross both ways.
	ASSERT_EQ(receive(fd), "x");
	ASSERT_EQ(sim.ctl({"flood", "remoteproc0", "5", "8"}), 0);
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	char buf[8];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EPIPE);
	// Boot again: the link starts empty.
	ASSERT_EQ(sim.boot("echo"), 0);
	ASSERT_FALSE(sim.waitChannel().empty());
	EXPECT_EQ(sim.stop(), 0) << sim.stderrText();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Link, AMP_ALL_LAYOUTS);

TEST(LinkOptions, BadValuesAreRefused)
{
	using amp::test::run;
	auto r = run({amp::test::ampsimBinary(), "run", "--root", "/nonexistent", "--link-us", "16"});
	EXPECT_EQ(r.exit, 2) << r.describe();
	EXPECT_NE(r.err.find("--link-us 16: expected A,B"), std::string::npos) << r.err;
	r = run({amp::test::ampsimBinary(), "run", "--root", "/nonexistent", "--link", "fast"});
	EXPECT_NE(r.exit, 0) << r.describe();
	r = run({amp::test::ampsimBinary(), "run", "--root", "/nonexistent", "--link", "board", "--link-us", "1,1"});
	EXPECT_NE(r.exit, 0) << "one or the other: " << r.describe();
}

} // namespace
} // namespace ampsim::test
