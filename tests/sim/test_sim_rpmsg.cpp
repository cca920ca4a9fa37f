// SPDX-License-Identifier: MIT
// The simulated rpmsg bus and rpmsg_char endpoints against the kernel's
// documented behaviour (kernel-abi.md sections 2, 3 and 5), on every layout.
#include "test_support.h"

#include <atomic>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ampsim::test {
namespace {

constexpr unsigned long kDestroyEpt = 0xb502;

class Rpmsg : public ::testing::TestWithParam<std::string> {
protected:
	void SetUp() override
	{
		Simulator::Options o;
		o.layout = GetParam();
		if (!sim.start(o))
			GTEST_SKIP() << "simulator not running";
		sim.installFirmware("image_echo_test", FirmwareSpec{});
	}
	std::string layout() const { return GetParam(); }
	std::string bootEcho()
	{
		EXPECT_EQ(sim.boot("image_echo_test"), 0);
		return sim.waitChannel();
	}
	// An endpoint to the demo channel the stock way; opened.
	int openEndpoint(const std::string &channel, std::string *node = nullptr, uint32_t dst = 0x400)
	{
		std::string ctrl = controlNodeFor(sim, layout(), channel);
		EXPECT_FALSE(ctrl.empty());
		std::string n = createEndpoint(sim, ctrl, "demo", 0xFFFFFFFF, dst);
		EXPECT_FALSE(n.empty());
		if (node)
			*node = n;
		return open(sim.dev(n).c_str(), O_RDWR | O_CLOEXEC);
	}
	// One message back within the deadline.
	std::string receive(int fd, int timeoutMs = 5000)
	{
		pollfd p{fd, POLLIN, 0};
		if (poll(&p, 1, timeoutMs) != 1)
			return "<timeout>";
		char buf[512];
		ssize_t n = read(fd, buf, sizeof buf);
		return n < 0 ? "<error " + std::string(strerror(errno)) + ">" : std::string(buf, n);
	}

	Simulator sim;
};

TEST_P(Rpmsg, DevicesOfEachLayout)
{
	std::string channel = bootEcho();
	ASSERT_EQ(channel, "virtio0.rpmsg-openamp-demo-channel.-1.1024");
	std::vector<std::string> expected = {channel};
	if (layout() == "6.1")
		expected = {channel, "virtio0.rpmsg_ctrl.0.0", "virtio0.rpmsg_ns.53.53"};
	if (layout() == "5.15")
		expected = {channel, "virtio0.rpmsg_chrdev.0.0", "virtio0.rpmsg_ns.53.53"};
	EXPECT_EQ(sim.busDevices(), expected);
	std::string d = sim.sys("bus/rpmsg/devices/" + channel);
	EXPECT_EQ(readText(d + "/name"), "rpmsg-openamp-demo-channel\n");
	EXPECT_EQ(readText(d + "/src"), "0xffffffff\n");
	EXPECT_EQ(readText(d + "/dst"), "0x400\n");
	EXPECT_EQ(readText(d + "/announce"), "false\n");
	EXPECT_EQ(readText(d + "/driver_override"), "(null)\n");
	EXPECT_EQ(readText(d + "/modalias"), "rpmsg:rpmsg-openamp-demo-channel\n");
	// realpath leads through remoteprocN (the only component matching
	// ^remoteproc[0-9]+$) via the layout's vdev device.
	char real[PATH_MAX];
	ASSERT_TRUE(realpath(d.c_str(), real));
	std::string holder = layout() == "6.1" ? "rproc-virtio.0.auto" : "remoteproc0#vdev0buffer";
	EXPECT_EQ(std::string(real), sim.sys("devices/platform/ffe00000.r5f/remoteproc/remoteproc0/" + holder +
					     "/virtio0/" + channel));
	if (layout() != "5.10") {
		std::string ctrlDev = layout() == "6.1" ? "virtio0.rpmsg_ctrl.0.0" : "virtio0.rpmsg_chrdev.0.0";
		EXPECT_EQ(readText(sim.sys("bus/rpmsg/devices/" + ctrlDev + "/driver_override")),
			  (layout() == "6.1" ? "rpmsg_ctrl" : "rpmsg_chrdev") + std::string("\n"));
		EXPECT_EQ(listDir(sim.sys("bus/rpmsg/devices/" + ctrlDev + "/rpmsg")),
			  std::vector<std::string>{"rpmsg_ctrl0"});
		EXPECT_TRUE(exists(sim.dev("rpmsg_ctrl0")));
		EXPECT_EQ(readText(sim.sys("bus/rpmsg/devices/virtio0.rpmsg_ns.53.53/src")), "0x35\n");
	} else {
		EXPECT_FALSE(exists(sim.dev("rpmsg_ctrl0"))) << "5.10 has no bus control device";
	}
	// Stop removes every rpmsg device and node.
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	EXPECT_TRUE(sim.busDevices().empty());
	EXPECT_EQ(listDir(sim.root() + "/dev"), layout() == "5.10" ? std::vector<std::string>{}
								  : std::vector<std::string>{"remoteproc0"});
}

TEST_P(Rpmsg, ChannelAppearsOnlyAfterTheRemoteAnnounces)
{
	// The control device exists as soon as start returns; the channel
	// only once the remote has booted and announced.
	FirmwareSpec silent;
	silent.app = "silent";
	sim.installFirmware("silent", silent);
	ASSERT_EQ(sim.boot("silent"), 0);
	std::vector<std::string> infra;
	if (layout() == "6.1")
		infra = {"virtio0.rpmsg_ctrl.0.0", "virtio0.rpmsg_ns.53.53"};
	if (layout() == "5.15")
		infra = {"virtio0.rpmsg_chrdev.0.0", "virtio0.rpmsg_ns.53.53"};
	EXPECT_EQ(sim.busDevices(), infra);
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
}

TEST_P(Rpmsg, BindRpmsgChrdev)
{
	std::string channel = bootEcho();
	std::string dir = sim.sys("bus/rpmsg/devices/" + channel);
	std::string bind = sim.sys("bus/rpmsg/drivers/rpmsg_chrdev/bind");
	EXPECT_EQ(writeText(bind, channel), ENODEV) << "no override, no id match";
	EXPECT_EQ(writeText(bind, "no-such-device"), ENODEV);
	ASSERT_EQ(writeText(dir + "/driver_override", "rpmsg_chrdev\n"), 0);
	EXPECT_EQ(readText(dir + "/driver_override"), "rpmsg_chrdev\n");
	ASSERT_EQ(writeText(bind, channel + "\n"), 0);
	EXPECT_EQ(writeText(bind, channel), EBUSY) << "already bound";
	auto children = listDir(dir + "/rpmsg");
	ASSERT_EQ(children.size(), 1u);
	if (layout() == "6.1") {
		// 5.18+: an endpoint node on the channel's default endpoint, whose
		// address becomes the channel's src.
		EXPECT_EQ(children[0], "rpmsg0");
		EXPECT_EQ(readText(dir + "/src"), "0x400\n");
		EXPECT_EQ(readText(sim.sys("class/rpmsg/rpmsg0/src")), "1024\n");
		EXPECT_EQ(readText(sim.sys("class/rpmsg/rpmsg0/dst")), "1024\n");
		int fd = open(sim.dev("rpmsg0").c_str(), O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(ioctl(fd, kDestroyEpt), -1);
		EXPECT_EQ(errno, EINVAL) << "the default endpoint cannot be destroyed";
		ASSERT_EQ(write(fd, "hi", 2), 2);
		EXPECT_EQ(receive(fd), "hi");
		close(fd);
	} else {
		// Before 5.18 the channel gets its own control device.
		EXPECT_EQ(children[0].rfind("rpmsg_ctrl", 0), 0u) << children[0];
		EXPECT_EQ(readText(dir + "/src"), "0xffffffff\n");
	}
	ASSERT_EQ(writeText(sim.sys("bus/rpmsg/drivers/rpmsg_chrdev/unbind"), channel), 0);
	EXPECT_FALSE(exists(dir + "/rpmsg/" + children[0]));
	EXPECT_EQ(writeText(sim.sys("bus/rpmsg/drivers/rpmsg_chrdev/unbind"), channel), ENODEV);
	ASSERT_EQ(writeText(dir + "/driver_override", "\n"), 0);
	EXPECT_EQ(readText(dir + "/driver_override"), "(null)\n");
}

TEST_P(Rpmsg, CreateEndpointEchoAndDestroy)
{
	std::string channel = bootEcho();
	std::string ctrl = controlNodeFor(sim, layout(), channel);
	ASSERT_FALSE(ctrl.empty());
	std::string node = createEndpoint(sim, ctrl, "demo", 0xFFFFFFFF, 0x400);
	ASSERT_FALSE(node.empty());
	std::string cls = sim.sys("class/rpmsg/" + ctrl + "/" + node);
	// As passed to CREATE_EPT, signed decimal: -1, not the address.
	EXPECT_EQ(readText(cls + "/src"), "-1\n");
	EXPECT_EQ(readText(cls + "/dst"), "1024\n");
	EXPECT_EQ(readText(cls + "/name"), "demo\n");
	int fd = open(sim.dev(node).c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	if (layout() != "5.10") {
		EXPECT_EQ(open(sim.dev(node).c_str(), O_RDWR | O_CLOEXEC), -1);
		EXPECT_EQ(errno, EBUSY) << "exclusive open since 5.13";
	}
	// One message per read, sizes 1..496. (An empty message cannot be
	// written through FUSE, which completes a zero-byte write itself.)
	for (size_t size : {1, 100, 496}) {
		std::string msg(size, 'a');
		for (size_t i = 0; i < size; ++i)
			msg[i] = static_cast<char>(i * 7);
		ASSERT_EQ(write(fd, msg.data(), msg.size()), static_cast<ssize_t>(size));
		EXPECT_EQ(receive(fd), msg) << size;
	}
	std::string big(497, 'x');
	EXPECT_EQ(write(fd, big.data(), big.size()), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	// A short buffer truncates; the rest of the message is gone.
	ASSERT_EQ(write(fd, "0123456789", 10), 10);
	ASSERT_EQ(write(fd, "next", 4), 4);
	pollfd p{fd, POLLIN, 0};
	ASSERT_TRUE(waitUntil([&] { return poll(&p, 1, 0) == 1; }));
	char small[4];
	EXPECT_EQ(read(fd, small, sizeof small), 4);
	EXPECT_EQ(std::string(small, 4), "0123");
	EXPECT_EQ(receive(fd), "next");
	// Nonblocking read with nothing queued.
	fcntl(fd, F_SETFL, O_NONBLOCK);
	char buf[16];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(ioctl(fd, 0x1234), -1);
	EXPECT_EQ(errno, EINVAL);
	// DESTROY_EPT removes the node; the fd is dead from then on.
	ASSERT_EQ(ioctl(fd, kDestroyEpt), 0);
	EXPECT_FALSE(exists(sim.dev(node)));
	EXPECT_FALSE(exists(cls));
	EXPECT_EQ(write(fd, "x", 1), -1);
	EXPECT_EQ(errno, EPIPE);
	close(fd);
}

TEST_P(Rpmsg, PollReportsInAndErrOnlyAndStopGivesEpipe)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	pollfd p{fd, POLLIN | POLLOUT | POLLPRI, 0};
	EXPECT_EQ(poll(&p, 1, 0), 0) << "never POLLOUT, even with free buffers";
	ASSERT_EQ(write(fd, "ping", 4), 4);
	p.revents = 0;
	ASSERT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(p.revents, POLLIN);
	// Leave a message queued, then stop the remote: queued data is lost.
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	p.revents = 0;
	ASSERT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLERR) << "POLLERR only, never POLLHUP";
	char buf[16];
	EXPECT_EQ(read(fd, buf, sizeof buf), -1);
	EXPECT_EQ(errno, EPIPE);
	EXPECT_EQ(write(fd, "x", 1), -1);
	EXPECT_EQ(errno, EPIPE);
	close(fd);
}

TEST_P(Rpmsg, BlockedReaderIsWokenByStop)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	int readErr = 0;
	std::thread reader([&] {
		char buf[16];
		if (read(fd, buf, sizeof buf) < 0)
			readErr = errno;
	});
	// The reader is parked in the simulator; stopping the core wakes it.
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	reader.join();
	EXPECT_EQ(readErr, EPIPE);
	close(fd);
}

TEST_P(Rpmsg, BlockedReaderIsInterruptedBySignal)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	struct sigaction sa {};
	sa.sa_handler = [](int) {};
	sigaction(SIGUSR1, &sa, nullptr); // no SA_RESTART
	std::atomic<int> readErr{0};
	std::atomic<bool> entered{false};
	pthread_t self;
	std::thread reader([&] {
		self = pthread_self();
		entered = true;
		char buf[16];
		if (read(fd, buf, sizeof buf) < 0)
			readErr = errno;
	});
	ASSERT_TRUE(waitUntil([&] { return entered.load(); }));
	// Keep signalling until the read returns: the first may land before
	// the thread is inside read().
	EXPECT_TRUE(waitUntil([&] {
		if (readErr)
			return true;
		pthread_kill(self, SIGUSR1);
		return false;
	}));
	reader.join();
	EXPECT_EQ(readErr.load(), EINTR);
	close(fd);
	signal(SIGUSR1, SIG_DFL);
}

TEST_P(Rpmsg, TxBuffersRunOut)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	// A remote that stops servicing its rings never returns Linux's buffers.
	ASSERT_EQ(sim.ctl({"hang", "remoteproc0"}), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	int sent = 0;
	while (write(fd, "x", 1) == 1)
		++sent;
	EXPECT_EQ(errno, layout() == "6.1" ? EAGAIN : ENOMEM);
	EXPECT_EQ(sent, 256);
	// Once it resumes, the buffers come back and the echoes arrive.
	ASSERT_EQ(sim.ctl({"resume", "remoteproc0"}), 0);
	int echoed = 0;
	ASSERT_TRUE(waitUntil([&] {
		char b[8];
		while (read(fd, b, sizeof b) == 1)
			++echoed;
		return echoed == 256;
	}));
	EXPECT_EQ(write(fd, "y", 1), 1);
	close(fd);
}

TEST_P(Rpmsg, BlockingWriterWaitsForABuffer)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(sim.ctl({"hang", "remoteproc0"}), 0);
	for (int i = 0; i < 256; ++i)
		ASSERT_EQ(write(fd, "x", 1), 1);
	std::atomic<int> result{-2};
	std::thread writer([&] { result = static_cast<int>(write(fd, "last", 4)); });
	ASSERT_EQ(sim.ctl({"resume", "remoteproc0"}), 0);
	writer.join();
	EXPECT_EQ(result.load(), 4);
	close(fd);
}

TEST_P(Rpmsg, RepliesGoToTheFirstSenderAsOpenAmpDoes)
{
	std::string channel = bootEcho();
	std::string ctrl = controlNodeFor(sim, layout(), channel);
	std::string n1 = createEndpoint(sim, ctrl, "a", 0xFFFFFFFF, 0x400);
	std::string n2 = createEndpoint(sim, ctrl, "b", 0xFFFFFFFF, 0x400);
	int a = open(sim.dev(n1).c_str(), O_RDWR | O_CLOEXEC);
	int b = open(sim.dev(n2).c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(write(a, "from-a", 6), 6);
	EXPECT_EQ(receive(a), "from-a");
	// The echo endpoint learned a's address from the first message.
	ASSERT_EQ(write(b, "from-b", 6), 6);
	EXPECT_EQ(receive(a), "from-b");
	EXPECT_EQ(receive(b, 100), "<timeout>");
	close(a);
	close(b);
}

TEST_P(Rpmsg, ReplyToSenderFirmwareServesManyClients)
{
	FirmwareSpec multi;
	multi.flags = AMPSIM_FW_REPLY_TO_SENDER;
	sim.installFirmware("multi", multi);
	ASSERT_EQ(sim.boot("multi"), 0);
	std::string channel = sim.waitChannel();
	std::string ctrl = controlNodeFor(sim, layout(), channel);
	std::string n1 = createEndpoint(sim, ctrl, "a", 0xFFFFFFFF, 0x400);
	std::string n2 = createEndpoint(sim, ctrl, "b", 0xFFFFFFFF, 0x400);
	int a = open(sim.dev(n1).c_str(), O_RDWR | O_CLOEXEC);
	int b = open(sim.dev(n2).c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_EQ(write(a, "from-a", 6), 6);
	ASSERT_EQ(write(b, "from-b", 6), 6);
	EXPECT_EQ(receive(a), "from-a");
	EXPECT_EQ(receive(b), "from-b");
	close(a);
	close(b);
}

TEST_P(Rpmsg, DestinationRules)
{
	std::string channel = bootEcho();
	std::string ctrl = controlNodeFor(sim, layout(), channel);
	// dst "any": EINVAL from 5.13 (rpmsg_sendto); 5.10 sends to the
	// bound channel's address whatever CREATE_EPT said.
	std::string anyNode = createEndpoint(sim, ctrl, "any", 0xFFFFFFFF, 0xFFFFFFFF);
	int fd = open(sim.dev(anyNode).c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	if (layout() == "5.10") {
		ASSERT_EQ(write(fd, "x", 1), 1);
		EXPECT_EQ(receive(fd), "x");
	} else {
		EXPECT_EQ(write(fd, "x", 1), -1);
		EXPECT_EQ(errno, EINVAL);
	}
	close(fd);
	// An explicit source address is taken as given; taken twice fails at open.
	std::string fixed = createEndpoint(sim, ctrl, "fixed", 2000, 0x400);
	std::string again = createEndpoint(sim, ctrl, "fixed2", 2000, 0x400);
	int f1 = open(sim.dev(fixed).c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(f1, 0);
	EXPECT_EQ(open(sim.dev(again).c_str(), O_RDWR | O_CLOEXEC), -1);
	EXPECT_EQ(errno, EINVAL);
	close(f1);
}

TEST_P(Rpmsg, ShutdownWordTearsTheChannelDown)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	uint32_t word = AMPSIM_SHUTDOWN_WORD;
	ASSERT_EQ(write(fd, &word, 4), 4);
	EXPECT_TRUE(waitUntil([&] { return sim.busDevices().size() == (layout() == "5.10" ? 0u : 2u); }));
	for (auto &d : sim.busDevices())
		EXPECT_EQ(d.find("rpmsg-openamp-demo-channel"), std::string::npos) << d;
	EXPECT_EQ(readText(sim.rproc() + "/state"), "running\n") << "the master stops the core";
	close(fd);
}

TEST_P(Rpmsg, ControlChannelFaults)
{
	std::string channel = bootEcho();
	int fd = openEndpoint(channel);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "hello", 5), 5);
	EXPECT_EQ(receive(fd), "hello");
	ASSERT_EQ(sim.ctl({"corrupt", "remoteproc0", "1"}), 0);
	ASSERT_EQ(write(fd, "hello", 5), 5);
	EXPECT_NE(receive(fd), "hello");
	ASSERT_EQ(sim.ctl({"flood", "remoteproc0", "50", "8"}), 0);
	int got = 0;
	EXPECT_TRUE(waitUntil([&] {
		pollfd p{fd, POLLIN, 0};
		char b[16];
		while (poll(&p, 1, 0) == 1 && read(fd, b, sizeof b) == 8)
			++got;
		return got == 50;
	}));
	ASSERT_EQ(sim.ctl({"announce", "extra-svc", "remoteproc0", "1100"}), 0);
	EXPECT_EQ(sim.waitChannel("extra-svc"), "virtio0.extra-svc.-1.1100");
	ASSERT_EQ(sim.ctl({"unannounce", "remoteproc0", "extra-svc"}), 0);
	EXPECT_TRUE(waitUntil([&] { return sim.waitChannel("extra-svc").empty(); }, 2s));
	std::string out;
	EXPECT_NE(sim.ctl({"crash", "no-such-remote"}, &out), 0);
	EXPECT_NE(out.find("unknown remote"), std::string::npos) << out;
	EXPECT_NE(sim.ctl({"frobnicate", "remoteproc0"}), 0);
	close(fd);
}

TEST_P(Rpmsg, CtrlFdKeptAcrossStopGivesEnoent)
{
	if (layout() == "5.10")
		GTEST_SKIP() << "5.10 has no bus control device";
	bootEcho();
	int ctrl = open(sim.dev("rpmsg_ctrl0").c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(ctrl, 0);
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	struct {
		char name[32];
		uint32_t src, dst;
	} info{"late", 0xFFFFFFFF, 0x400};
	EXPECT_EQ(ioctl(ctrl, 0x4028b501, &info), -1);
	EXPECT_EQ(errno, ENOENT);
	close(ctrl);
}

TEST_P(Rpmsg, DestroyAfterStopKillsTheCallerAsTheKernelOops)
{
	std::string channel = bootEcho();
	std::string ctrl = controlNodeFor(sim, layout(), channel);
	std::string node = createEndpoint(sim, ctrl, "doomed", 0xFFFFFFFF, 0x400);
	ASSERT_FALSE(node.empty());
	std::string path = sim.dev(node);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		(void)!write(ready[1], "o", 1);
		char b[8];
		// Parked until the parent stops the remote: then EPIPE.
		if (read(fd, b, sizeof b) >= 0 || errno != EPIPE)
			_exit(3);
		ioctl(fd, kDestroyEpt);
		_exit(0);
	}
	close(ready[1]);
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	int status = 0;
	waitpid(child, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
	EXPECT_EQ(WTERMSIG(status), SIGKILL);
	EXPECT_NE(sim.stderrText().find("Oops"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Rpmsg, AMP_ALL_LAYOUTS);

} // namespace
} // namespace ampsim::test
