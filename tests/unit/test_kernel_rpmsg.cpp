// SPDX-License-Identifier: MIT
// rpmsg: name parsing, ownership, and against ampsim on every layout:
// layout detection, channels, control nodes (5.10 binding), endpoints.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include "kernel/remoteproc.h"
#include "kernel/rpmsg.h"
#include "support/simulator.h"

namespace amp::kernel {
namespace {

TEST(KernelRpmsg, ParseChannelDevice)
{
	auto c = parseChannelDevice("virtio0.rpmsg-openamp-demo-channel.-1.1024");
	ASSERT_TRUE(c);
	EXPECT_EQ(c->virtio, "virtio0");
	EXPECT_EQ(c->service, "rpmsg-openamp-demo-channel");
	EXPECT_EQ(c->nameSrc, -1);
	EXPECT_EQ(c->nameDst, 1024);
	auto dotted = parseChannelDevice("virtio3.my.dotted.name.5.53");
	ASSERT_TRUE(dotted);
	EXPECT_EQ(dotted->service, "my.dotted.name");
	for (const char *bad : {"", "virtio0", "virtio0.x.1", ".x.1.2", "virtio0.x.a.2", "virtio0.x.1.", "virtio0..1.2x"})
		EXPECT_FALSE(parseChannelDevice(bad)) << bad;
	EXPECT_TRUE(isControlDevice(*parseChannelDevice("virtio0.rpmsg_ns.53.53")));
	EXPECT_TRUE(isControlDevice(*parseChannelDevice("virtio1.rpmsg_ctrl.0.0")));
	EXPECT_TRUE(isControlDevice(*parseChannelDevice("virtio0.rpmsg_chrdev.0.0")));
	EXPECT_FALSE(isControlDevice(*parseChannelDevice("virtio0.rpmsg-raw.-1.1024")));
}

// fuzz_sysfs: "%d" of a u32 is at most ten digits, but not every ten
// digits are one. 4294968320 is 2^32 + 0x400: it used to be taken and
// wrapped to the address 0x400; and a negative address other than -1
// (0x80000400 is printed -2147482624) used to read as "any".
TEST(KernelRpmsg, ChannelAddressesAreThoseTheKernelPrints)
{
	for (const char *bad : {"virtio0.ch.-1.4294968320", "virtio0.ch.2147483648.1024", "virtio0.ch.-2147483649.1024",
				"virtio0.ch.-1.9999999999"})
		EXPECT_FALSE(parseChannelDevice(bad)) << bad;
	auto edge = parseChannelDevice("virtio0.ch.-2147483648.2147483647");
	ASSERT_TRUE(edge);
	EXPECT_EQ(edge->localAddr(), 0x80000000u);
	EXPECT_EQ(edge->remoteAddr(), 0x7fffffffu);
	auto high = parseChannelDevice("virtio0.ch.1024.-2147482624");
	ASSERT_TRUE(high);
	EXPECT_EQ(high->localAddr(), 0x400u);
	EXPECT_EQ(high->remoteAddr(), 0x80000400u);
	auto any = parseChannelDevice("virtio0.ch.-1.-1");
	ASSERT_TRUE(any);
	EXPECT_EQ(any->localAddr(), kRpmsgAddrAny);
	EXPECT_EQ(any->remoteAddr(), kRpmsgAddrAny);
}

TEST(KernelRpmsg, SysfsWords)
{
	EXPECT_EQ(parseDstAttr("0x400"), 0x400u);
	EXPECT_EQ(parseDstAttr("0xffffffff"), 0xffffffffu);
	for (const char *bad : {"", "0x", "0x1ffffffff", "0x40 0", "-1", "0xg"})
		EXPECT_FALSE(parseDstAttr(bad)) << bad;
	EXPECT_TRUE(isEndpointNodeName("rpmsg3"));
	for (const char *bad : {"rpmsg", "rpmsg_ctrl0", "rpmsg3a", "xrpmsg3"})
		EXPECT_FALSE(isEndpointNodeName(bad)) << bad;
	EXPECT_EQ(parseRecovery("enabled"), true);
	EXPECT_EQ(parseRecovery("disabled"), false);
	EXPECT_FALSE(parseRecovery("enabled "));
}

TEST(KernelRpmsg, OwnerFromPath)
{
	EXPECT_EQ(remoteprocOfPath("sys/devices/platform/ffe00000.r5f/remoteproc/remoteproc1/rproc-virtio.3.auto/virtio0/x"), 1);
	EXPECT_EQ(remoteprocOfPath("sys/devices/platform/r5/remoteproc/remoteproc12/remoteproc12#vdev0buffer/virtio2/x"), 12);
	EXPECT_FALSE(remoteprocOfPath("sys/devices/platform/remoteproc/remoteproc1x/virtio0"));
	EXPECT_FALSE(remoteprocOfPath("sys/devices/remoteproc#vdev/x"));
	EXPECT_EQ(remoteprocOfPath("/tmp/remoteprocs/remoteproc3"), 3);
}

TEST(KernelRpmsg, NoBusIsNoChannels)
{
	test::TempDir dir;
	SysfsRoot root(dir.path());
	EXPECT_TRUE(listChannels(root)->empty());
	EXPECT_EQ(guessLayoutFromDrivers(root), RpmsgLayout::BindChrdev);
}

class KernelRpmsgSim : public ::testing::TestWithParam<std::string> {
protected:
	bool boot(const std::vector<std::string> &extra = {})
	{
		test::Simulator::Options o;
		o.layout = GetParam();
		o.extraArgs = extra;
		if (!sim_.start(o))
			return false;
		sim_.installFirmware("echo.elf", test::makeFirmware("echo"));
		auto r = Remoteproc::open(root(), 0).value();
		EXPECT_TRUE(r.setFirmware("echo.elf"));
		auto s = r.start();
		EXPECT_TRUE(s) << s.error().message();
		return true;
	}
	SysfsRoot root() const { return SysfsRoot(sim_.root()); }
	std::optional<RpmsgChannel> waitChannel()
	{
		std::optional<RpmsgChannel> found;
		test::waitUntil([&] {
			auto list = listChannels(root());
			if (list && !list->empty())
				found = list->front();
			return found.has_value();
		});
		return found;
	}
	RpmsgLayout expectedLayout() const
	{
		return GetParam() == "6.1" ? RpmsgLayout::CtrlDevice
		       : GetParam() == "5.15" ? RpmsgLayout::ChrdevDevice
					      : RpmsgLayout::BindChrdev;
	}
	test::Simulator sim_;
};

TEST_P(KernelRpmsgSim, LayoutAndChannels)
{
	if (!boot())
		return;
	EXPECT_EQ(guessLayoutFromDrivers(root()), expectedLayout());
	auto c = waitChannel();
	ASSERT_TRUE(c);
	EXPECT_EQ(c->device, "virtio0.rpmsg-openamp-demo-channel.-1.1024");
	EXPECT_EQ(c->service, "rpmsg-openamp-demo-channel");
	EXPECT_EQ(c->remoteproc, 0);
	EXPECT_EQ(c->dst, 0x400u);
	EXPECT_EQ(detectLayout(root(), c->virtio), expectedLayout());
	// Only the channel is listed: rpmsg_ns / rpmsg_ctrl / rpmsg_chrdev are not.
	EXPECT_EQ(listChannels(root())->size(), 1u);
	auto all = root().list("sys/bus/rpmsg/devices");
	EXPECT_GT(all->size(), GetParam() == "5.10" ? 0u : 1u);
}

TEST_P(KernelRpmsgSim, ChannelOwnerWithTwoCores)
{
	test::Simulator::Options o;
	o.layout = GetParam();
	o.extraArgs = {"--remote", "ffe00000.r5f", "--remote", "ffe90000.r5f"};
	if (!sim_.start(o))
		return;
	sim_.installFirmware("echo.elf", test::makeFirmware("echo"));
	auto r1 = Remoteproc::open(root(), 1).value();
	ASSERT_TRUE(r1.setFirmware("echo.elf"));
	ASSERT_TRUE(r1.start());
	auto c = waitChannel();
	ASSERT_TRUE(c);
	EXPECT_EQ(c->remoteproc, 1);
}

TEST_P(KernelRpmsgSim, EndpointEchoAndDestroy)
{
	if (!boot())
		return;
	auto c = waitChannel();
	ASSERT_TRUE(c);
	const int fdsBefore = test::openFdCount();
	auto ref = findControlNode(root(), *c);
	ASSERT_TRUE(ref) << ref.error().message();
	EXPECT_EQ(ref->layout, expectedLayout());
	EXPECT_EQ(ref->binding.active(), GetParam() == "5.10");
	{
		auto ctrl = RpmsgControl::open(root(), ref->ctrl);
		ASSERT_TRUE(ctrl) << ctrl.error().message();
		auto a = ctrl->createEndpoint("ampd-a", *c->dst);
		ASSERT_TRUE(a) << a.error().message();
		auto b = ctrl->createEndpoint("ampd-a", *c->dst); // identical request, its own node
		ASSERT_TRUE(b) << b.error().message();
		EXPECT_NE(a->node(), b->node());
		EXPECT_TRUE(fcntl(a->fd(), F_GETFD) & FD_CLOEXEC);
		EXPECT_TRUE(fcntl(a->fd(), F_GETFL) & O_NONBLOCK);

		const std::string msg = "hello remote";
		auto sent = a->send({reinterpret_cast<const uint8_t *>(msg.data()), msg.size()});
		ASSERT_TRUE(sent) << sent.error().message();
		pollfd p{a->fd(), POLLIN, 0};
		ASSERT_EQ(::poll(&p, 1, 5000), 1);
		uint8_t buf[512];
		auto got = a->receive(buf);
		ASSERT_TRUE(got) << got.error().message();
		EXPECT_EQ(std::string(reinterpret_cast<char *>(buf), *got), msg);
		EXPECT_EQ(a->receive(buf).error().code, EAGAIN);
		std::vector<uint8_t> big(kRpmsgMaxPayload + 1, 'x');
		EXPECT_EQ(a->send(big).error().code, EMSGSIZE);

		std::string node = a->node();
		ASSERT_TRUE(a->destroy());
		EXPECT_FALSE(root().exists("sys/class/rpmsg/" + ref->ctrl + "/" + node));
		ASSERT_TRUE(b->destroy());
		EXPECT_EQ(ctrl->createEndpoint(std::string(40, 'n'), 1).error().code, EINVAL);
	}
	ASSERT_TRUE(ref->binding.undo());
	if (GetParam() == "5.10") {
		EXPECT_EQ(root().readAttr("sys/bus/rpmsg/devices/" + c->device + "/driver_override").value(), "(null)");
		// The control node is gone (ampsim keeps the empty "rpmsg" glue
		// directory, which a real kernel removes; either is fine here).
		auto left = root().list("sys/bus/rpmsg/devices/" + c->device + "/rpmsg");
		EXPECT_TRUE(!left || left->empty());
	}
	EXPECT_EQ(test::openFdCount(), fdsBefore);
}

TEST_P(KernelRpmsgSim, RemoteStopMakesEndpointDead)
{
	if (!boot())
		return;
	auto c = waitChannel();
	ASSERT_TRUE(c);
	auto ref = findControlNode(root(), *c);
	ASSERT_TRUE(ref);
	auto ctrl = RpmsgControl::open(root(), ref->ctrl);
	ASSERT_TRUE(ctrl);
	auto ep = ctrl->createEndpoint("ampd-stop", *c->dst);
	ASSERT_TRUE(ep) << ep.error().message();
	ASSERT_TRUE(Remoteproc::open(root(), 0)->stop());
	ctrl->close(); // as the daemon does when its remote stops
	pollfd p{ep->fd(), POLLIN, 0};
	ASSERT_EQ(::poll(&p, 1, 5000), 1);
	EXPECT_TRUE(p.revents & POLLERR);
	EXPECT_FALSE(p.revents & POLLHUP);
	ep->noteRevents(p.revents);
	EXPECT_TRUE(ep->dead());
	uint8_t buf[16];
	EXPECT_EQ(ep->receive(buf).error().code, EPIPE);
	// No DESTROY_EPT now (6.1 would oops): destroy() only closes.
	EXPECT_TRUE(ep->destroy());
	EXPECT_EQ(ep->fd(), -1);
	EXPECT_TRUE(ref->binding.undo()); // the channel is gone: nothing to undo
	EXPECT_TRUE(listChannels(root())->empty());
}

INSTANTIATE_TEST_SUITE_P(Layouts, KernelRpmsgSim, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::kernel
