// SPDX-License-Identifier: MIT
// Endpoint nodes in an epoll set, as a daemon's event loop holds them:
// opened O_RDWR|O_NONBLOCK, registered level-triggered for EPOLLIN. The
// kernel's rpmsg_eptdev_poll() reports POLLIN|POLLRDNORM while a message is
// queued and POLLERR once the endpoint is gone, never POLLOUT or POLLHUP
// (kernel-abi.md section 3); over FUSE that takes a poll notification for
// every change while a waiter is registered. On every layout.
#include "test_support.h"

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace ampsim::test {
namespace {

// Whether thread `tid` of this process sleeps in an epoll wait now. Used
// only to make a wake-up race more likely to be exercised; never required.
bool sleepsInEpollWait(pid_t tid)
{
	std::string base = "/proc/self/task/" + std::to_string(tid);
	std::ifstream sc(base + "/syscall");
	long nr = -1;
	if (!(sc >> nr))
		return false;
	bool epoll = nr == SYS_epoll_pwait;
#ifdef SYS_epoll_wait
	epoll = epoll || nr == SYS_epoll_wait;
#endif
#ifdef SYS_epoll_pwait2
	epoll = epoll || nr == SYS_epoll_pwait2;
#endif
	std::ifstream st(base + "/stat");
	std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
	auto paren = stat.rfind(')');
	return epoll && paren != std::string::npos && stat.compare(paren + 1, 3, " S ") == 0;
}

class Epoll : public ::testing::TestWithParam<std::string> {
protected:
	void SetUp() override
	{
		Simulator::Options o;
		o.layout = GetParam();
		if (!sim.start(o))
			GTEST_SKIP() << "simulator not running";
		FirmwareSpec echo;
		echo.flags = AMPSIM_FW_REPLY_TO_SENDER;
		sim.installFirmware("echo", echo);
		FirmwareSpec slow;
		slow.app = "slow";
		slow.replyDelayMs = 100;
		slow.flags = AMPSIM_FW_REPLY_TO_SENDER;
		sim.installFirmware("slow", slow);
		ep = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_GE(ep, 0);
	}
	void TearDown() override
	{
		if (ep >= 0)
			close(ep);
		for (int fd : fds)
			close(fd);
	}
	std::string layout() const { return GetParam(); }

	void boot(const std::string &firmware)
	{
		ASSERT_EQ(sim.boot(firmware), 0);
		channel = sim.waitChannel();
		ASSERT_FALSE(channel.empty());
		ctrl = controlNodeFor(sim, layout(), channel);
		ASSERT_FALSE(ctrl.empty());
	}
	// A new endpoint to the remote's demo endpoint, opened as the daemon
	// opens it and registered in the epoll set with `tag` as its data.
	int addEndpoint(const std::string &name, uint32_t tag, uint32_t events = EPOLLIN)
	{
		std::string node = createEndpoint(sim, ctrl, name, 0xFFFFFFFF, 0x400);
		EXPECT_FALSE(node.empty()) << name;
		int fd = open(sim.dev(node).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
		EXPECT_GE(fd, 0) << node << ": " << strerror(errno);
		if (fd < 0)
			return -1;
		fds.push_back(fd);
		epoll_event ev{};
		ev.events = events; // level-triggered
		ev.data.u32 = tag;
		EXPECT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0) << strerror(errno);
		return fd;
	}
	// One epoll_wait: tag -> events reported.
	std::map<uint32_t, uint32_t> wait(int timeoutMs) { return waitOn(ep, timeoutMs); }
	std::map<uint32_t, uint32_t> waitOn(int set, int timeoutMs)
	{
		epoll_event evs[8];
		int n = epoll_wait(set, evs, 8, timeoutMs);
		EXPECT_GE(n, 0) << strerror(errno);
		std::map<uint32_t, uint32_t> got;
		for (int i = 0; i < n; ++i)
			got[evs[i].data.u32] |= evs[i].events;
		return got;
	}
	// epoll_wait on this thread while `trigger` runs on another, started
	// once this thread sleeps in the wait (or after a while: the result
	// must be the same either way, only the path taken differs).
	std::map<uint32_t, uint32_t> waitWhile(const std::function<void()> &trigger, int set = -1)
	{
		pid_t self = gettid();
		std::thread t([&] {
			waitUntil([&] { return sleepsInEpollWait(self); }, 2s);
			trigger();
		});
		auto got = waitOn(set < 0 ? ep : set, 10000);
		t.join();
		return got;
	}

	Simulator sim;
	std::string channel, ctrl;
	int ep = -1;
	std::vector<int> fds;
};

TEST_P(Epoll, WakesWhenAMessageArrives)
{
	boot("slow"); // the echo comes 100 ms after the write: the waiter sleeps by then
	int fd = addEndpoint("a", 1, EPOLLIN | EPOLLOUT);
	ASSERT_GE(fd, 0);
	EXPECT_TRUE(wait(0).empty()) << "nothing queued, and never EPOLLOUT";
	ASSERT_EQ(write(fd, "ping", 4), 4);
	auto got = wait(10000);
	ASSERT_EQ(got.size(), 1u) << "no wake-up for the echo";
	EXPECT_EQ(got[1], static_cast<uint32_t>(EPOLLIN)) << "EPOLLIN only: no EPOLLOUT, no EPOLLHUP";
	char buf[16];
	ASSERT_EQ(read(fd, buf, sizeof buf), 4);
	EXPECT_EQ(std::string(buf, 4), "ping");
	EXPECT_TRUE(wait(0).empty()) << "drained";
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EAGAIN);
	// Again with the message sent from the remote (ctl flood) while we sleep.
	got = waitWhile([&] { EXPECT_EQ(sim.ctl({"flood", "remoteproc0", "1", "8"}), 0); });
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(got[1], static_cast<uint32_t>(EPOLLIN));
	EXPECT_EQ(read(fd, buf, sizeof buf), 8);
}

TEST_P(Epoll, StaysReadableUntilDrained)
{
	boot("echo");
	int fd = addEndpoint("a", 1);
	ASSERT_GE(fd, 0);
	// Hold the remote so that all the echoes come in one burst.
	ASSERT_EQ(sim.ctl({"hang", "remoteproc0"}), 0);
	constexpr int kCount = 40;
	for (int i = 0; i < kCount; ++i) {
		std::string msg = "m" + std::to_string(i);
		ASSERT_EQ(write(fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
	}
	EXPECT_TRUE(wait(0).empty());
	auto got = waitWhile([&] { EXPECT_EQ(sim.ctl({"resume", "remoteproc0"}), 0); });
	ASSERT_EQ(got[1], static_cast<uint32_t>(EPOLLIN));
	// Level-triggered: reported again and again while nothing is read.
	for (int i = 0; i < 3; ++i)
		EXPECT_EQ(wait(0)[1], static_cast<uint32_t>(EPOLLIN));
	// Each report means a read succeeds; every message, in order.
	for (int i = 0; i < kCount; ++i) {
		got = wait(10000);
		ASSERT_EQ(got[1], static_cast<uint32_t>(EPOLLIN)) << "message " << i;
		char buf[16];
		ssize_t n = read(fd, buf, sizeof buf);
		ASSERT_GT(n, 0) << "message " << i << ": " << strerror(errno);
		EXPECT_EQ(std::string(buf, n), "m" + std::to_string(i));
	}
	EXPECT_TRUE(wait(100).empty()) << "drained: no more EPOLLIN";
	char buf[16];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EAGAIN);
}

TEST_P(Epoll, TwoEndpointsInOneSetLoseNoWakeUp)
{
	boot("echo");
	int a = addEndpoint("a", 1);
	int b = addEndpoint("b", 2);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	// Only the endpoint a message is for is reported.
	ASSERT_EQ(write(b, "to-b", 4), 4);
	auto got = wait(10000);
	EXPECT_EQ(got, (std::map<uint32_t, uint32_t>{{2, EPOLLIN}}));
	char buf[64];
	ASSERT_EQ(read(b, buf, sizeof buf), 4);
	// A writer thread sends to both, in bursts, while this loop sleeps in
	// epoll_wait and reads whatever is reported: every echo must come,
	// none may wait for a wake-up that was lost.
	constexpr int kRounds = 300;
	std::atomic<bool> failed{false};
	std::thread writer([&] {
		for (int i = 0; i < kRounds && !failed; ++i) {
			std::string m = std::to_string(i);
			for (int fd : {a, b, (i % 3 == 0 ? a : b)}) {
				// EAGAIN/ENOMEM: every TX buffer in flight; retry.
				while (write(fd, m.data(), m.size()) < 0 && !failed) {
					if (errno != EAGAIN && errno != ENOMEM) {
						ADD_FAILURE() << "write: " << strerror(errno);
						failed = true;
					}
					std::this_thread::sleep_for(100us);
				}
			}
			if (i % 10 == 0)
				std::this_thread::sleep_for(1ms);
		}
	});
	int expectedA = kRounds + (kRounds + 2) / 3, expectedB = kRounds + kRounds - (kRounds + 2) / 3;
	int seenA = 0, seenB = 0;
	while ((seenA < expectedA || seenB < expectedB) && !failed) {
		got = wait(10000);
		if (got.empty()) {
			ADD_FAILURE() << "no wake-up within 10 s: a " << seenA << "/" << expectedA << ", b " << seenB << "/"
				      << expectedB;
			failed = true;
			break;
		}
		for (auto [tag, events] : got) {
			EXPECT_EQ(events, static_cast<uint32_t>(EPOLLIN));
			int fd = tag == 1 ? a : b;
			if (read(fd, buf, sizeof buf) <= 0) {
				ADD_FAILURE() << "reported readable, read failed: " << strerror(errno);
				failed = true;
				break;
			}
			(tag == 1 ? seenA : seenB)++;
		}
	}
	writer.join();
	EXPECT_EQ(seenA, expectedA);
	EXPECT_EQ(seenB, expectedB);
	EXPECT_TRUE(wait(100).empty());
}

TEST_P(Epoll, StopGivesEpollerrOnly)
{
	boot("echo");
	int a = addEndpoint("a", 1);
	int b = addEndpoint("b", 2);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	// a has a message queued, b nothing; b is also in a second set, whose
	// waiter sleeps when the remote stops.
	ASSERT_EQ(write(a, "left", 4), 4);
	ASSERT_EQ(wait(10000), (std::map<uint32_t, uint32_t>{{1, EPOLLIN}}));
	int second = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(second, 0);
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.u32 = 2;
	ASSERT_EQ(epoll_ctl(second, EPOLL_CTL_ADD, b, &ev), 0);
	auto got = waitWhile([&] { EXPECT_EQ(writeText(sim.rproc() + "/state", "stop"), 0); }, second);
	EXPECT_EQ(got, (std::map<uint32_t, uint32_t>{{2, EPOLLERR}})) << "woken, EPOLLERR only";
	close(second);
	// Queued data is lost: EPOLLERR only, never EPOLLIN or EPOLLHUP; and
	// level-triggered, it stays.
	for (int i = 0; i < 2; ++i)
		EXPECT_EQ(wait(0), (std::map<uint32_t, uint32_t>{{1, EPOLLERR}, {2, EPOLLERR}}));
	char buf[16];
	EXPECT_EQ(read(a, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EPIPE);
	EXPECT_EQ(read(b, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EPIPE);
}

TEST_P(Epoll, CrashWithRecoveryGivesEpollerr)
{
	boot("echo");
	int fd = addEndpoint("a", 1);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(readText(sim.rproc() + "/recovery"), "enabled\n");
	// Recovery stops the core (its nodes go) and boots it again.
	auto got = waitWhile([&] { EXPECT_EQ(sim.ctl({"crash", "remoteproc0"}), 0); });
	EXPECT_EQ(got, (std::map<uint32_t, uint32_t>{{1, EPOLLERR}}));
	char buf[16];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EPIPE);
	EXPECT_FALSE(sim.waitChannel().empty()) << "recovered";
}

INSTANTIATE_TEST_SUITE_P(Layouts, Epoll, AMP_ALL_LAYOUTS);

} // namespace
} // namespace ampsim::test
