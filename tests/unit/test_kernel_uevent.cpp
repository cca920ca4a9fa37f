// SPDX-License-Identifier: MIT
// uevent parsing (both formats, hostile input) and the monitor against
// ampsim's udev-format broadcasts in a private network namespace.
#include <gtest/gtest.h>

#include <cstring>
#include <poll.h>
#include <random>
#include <sched.h>
#include <thread>

#include "kernel/remoteproc.h"
#include "kernel/uevent_monitor.h"
#include "support/simulator.h"

namespace amp::kernel {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes props(const std::vector<std::string> &kv)
{
	Bytes b;
	for (const auto &s : kv) {
		b.insert(b.end(), s.begin(), s.end());
		b.push_back(0);
	}
	return b;
}

const std::vector<std::string> kChannelProps = {
	"ACTION=add", "DEVPATH=/devices/platform/ffe00000.r5f/remoteproc/remoteproc0/rproc-virtio.0.auto/virtio0/virtio0.ch.-1.1024",
	"SUBSYSTEM=rpmsg", "MODALIAS=rpmsg:ch", "SEQNUM=42"};

Bytes kernelMsg(const std::vector<std::string> &kv = kChannelProps)
{
	std::string header = "add@" + kv[1].substr(8);
	Bytes b(header.begin(), header.end());
	b.push_back(0);
	Bytes p = props(kv);
	b.insert(b.end(), p.begin(), p.end());
	return b;
}

Bytes udevMsg(const std::vector<std::string> &kv = kChannelProps)
{
	Bytes p = props(kv);
	Bytes b(40, 0);
	std::memcpy(b.data(), "libudev", 8);
	b[8] = 0xfe, b[9] = 0xed, b[10] = 0xca, b[11] = 0xfe;
	uint32_t h = 40, off = 40, len = static_cast<uint32_t>(p.size());
	std::memcpy(&b[12], &h, 4);
	std::memcpy(&b[16], &off, 4);
	std::memcpy(&b[20], &len, 4);
	b.insert(b.end(), p.begin(), p.end());
	return b;
}

TEST(KernelUevent, ParsesKernelFormat)
{
	auto e = parseUevent(kernelMsg());
	ASSERT_TRUE(e);
	EXPECT_EQ(e->source, Uevent::Source::Kernel);
	EXPECT_EQ(e->action, "add");
	EXPECT_EQ(e->subsystem, "rpmsg");
	EXPECT_EQ(e->seqnum, 42u);
	EXPECT_EQ(e->deviceName(), "virtio0.ch.-1.1024");
	EXPECT_EQ(e->property("MODALIAS"), "rpmsg:ch");
	EXPECT_EQ(e->property("NOPE"), "");
}

TEST(KernelUevent, ParsesUdevFormat)
{
	auto e = parseUevent(udevMsg());
	ASSERT_TRUE(e);
	EXPECT_EQ(e->source, Uevent::Source::Udev);
	EXPECT_EQ(e->devpath.rfind("/devices/platform/", 0), 0u);
	EXPECT_EQ(e->seqnum, 42u);
}

TEST(KernelUevent, RejectsMalformed)
{
	// Missing required keys.
	EXPECT_FALSE(parseUevent(udevMsg({"ACTION=add", "SUBSYSTEM=rpmsg"})));
	EXPECT_FALSE(parseUevent(udevMsg({"ACTION=add", "DEVPATH=rel/path", "SUBSYSTEM=rpmsg"})));
	EXPECT_FALSE(parseUevent(udevMsg({"ACTION=add", "DEVPATH=/d", "SUBSYSTEM=rpmsg", "SEQNUM=12x"})));
	EXPECT_FALSE(parseUevent(udevMsg({"ACTION=add", "DEVPATH=/d", "SUBSYSTEM=rpmsg", "SEQNUM=99999999999999999999999"})));
	// Header disagreeing with the properties.
	Bytes k = kernelMsg();
	k[0] = 'x';
	EXPECT_FALSE(parseUevent(k));
	// Bad magic, offsets outside the datagram.
	Bytes u = udevMsg();
	u[9] = 0;
	EXPECT_FALSE(parseUevent(u));
	u = udevMsg();
	uint32_t off = 0xfffffff0;
	std::memcpy(&u[16], &off, 4);
	EXPECT_FALSE(parseUevent(u));
	u = udevMsg();
	uint32_t len = 0xffffffff;
	std::memcpy(&u[20], &len, 4);
	EXPECT_FALSE(parseUevent(u));
	// Last property not terminated.
	u = udevMsg();
	u.back() = 'x';
	EXPECT_FALSE(parseUevent(u));
	// Too many properties.
	std::vector<std::string> many = kChannelProps;
	for (int i = 0; i < 600; ++i)
		many.push_back("K" + std::to_string(i) + "=v");
	EXPECT_FALSE(parseUevent(udevMsg(many)));
	EXPECT_FALSE(parseUevent(Bytes{}));
}

TEST(KernelUevent, TruncatedAtEveryLength)
{
	for (const Bytes &full : {kernelMsg(), udevMsg()}) {
		for (size_t n = 0; n < full.size(); ++n) {
			Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
			auto e = parseUevent(cut);
			// A cut inside the last property can still leave a valid
			// earlier prefix only if the cut removed whole properties.
			if (e) {
				EXPECT_TRUE(cut.back() == 0) << n;
			}
		}
	}
}

TEST(KernelUevent, RandomMutationsNeverCrash)
{
	std::mt19937 rng(4242);
	size_t parsed = 0;
	for (int iter = 0; iter < 50000; ++iter) {
		Bytes b = iter % 2 ? udevMsg() : kernelMsg();
		int flips = 1 + static_cast<int>(rng() % 6);
		for (int k = 0; k < flips && !b.empty(); ++k) {
			size_t at = rng() % b.size();
			switch (rng() % 4) {
			case 0:
				b[at] = static_cast<uint8_t>(rng());
				break;
			case 1:
				b[at] = 0;
				break;
			case 2:
				b[at] = '=';
				break;
			case 3:
				b.resize(at);
				break;
			}
		}
		if (auto e = parseUevent(b)) {
			++parsed;
			EXPECT_FALSE(e->action.empty());
			EXPECT_EQ(e->devpath.front(), '/');
		}
	}
	EXPECT_GT(parsed, 0u);
}

TEST(KernelUevent, MonitorOpensOnBothGroups)
{
	auto m = UeventMonitor::open();
	ASSERT_TRUE(m) << m.error().message();
	EXPECT_GE(m->fd(), 0);
	EXPECT_EQ(m->receive().error().code, EAGAIN);
}

class KernelUeventSim : public ::testing::TestWithParam<std::string> {};

TEST_P(KernelUeventSim, MonitorSeesUdevEventsFromAmpsim)
{
	// Our own thread in a new network namespace: the simulator spawned
	// from it and the monitor share it; nothing reaches the host.
	std::thread t([&] {
		if (::unshare(CLONE_NEWNET) != 0) {
			GTEST_SKIP() << "unshare(CLONE_NEWNET): " << strerror(errno);
		}
		auto mon = UeventMonitor::open();
		ASSERT_TRUE(mon) << mon.error().message();
		test::Simulator sim;
		test::Simulator::Options o;
		o.layout = GetParam();
		o.extraArgs = {"--uevents", "udev"};
		if (!sim.start(o))
			return;
		sim.installFirmware("echo.elf", test::makeFirmware("echo"));
		auto r = Remoteproc::open(SysfsRoot(sim.root()), 0).value();
		ASSERT_TRUE(r.setFirmware("echo.elf"));
		ASSERT_TRUE(r.start());
		std::vector<Uevent> events;
		auto drainUntil = [&](auto pred) {
			auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
			while (!pred() && std::chrono::steady_clock::now() < end) {
				pollfd p{mon->fd(), POLLIN, 0};
				if (::poll(&p, 1, 100) <= 0)
					continue;
				for (;;) {
					auto e = mon->receive();
					if (!e)
						break;
					if (*e)
						events.push_back(std::move(**e));
				}
			}
			return pred();
		};
		const std::string channel = "virtio0.rpmsg-openamp-demo-channel.-1.1024";
		auto has = [&](const std::string &action, const std::string &name) {
			return std::any_of(events.begin(), events.end(),
					   [&](const Uevent &e) { return e.action == action && e.deviceName() == name; });
		};
		EXPECT_TRUE(drainUntil([&] { return has("add", channel); }));
		for (const auto &e : events) {
			EXPECT_EQ(e.source, Uevent::Source::Udev);
			EXPECT_TRUE(e.subsystem == "rpmsg" || e.subsystem == "virtio" || e.subsystem == "remoteproc")
				<< e.subsystem;
			EXPECT_TRUE(e.seqnum.has_value());
		}
		ASSERT_TRUE(r.stop());
		EXPECT_TRUE(drainUntil([&] { return has("remove", channel); }));
		// Each event delivered once.
		std::set<uint64_t> seqs;
		for (const auto &e : events)
			EXPECT_TRUE(seqs.insert(*e.seqnum).second) << *e.seqnum;
	});
	t.join();
}

INSTANTIATE_TEST_SUITE_P(Layouts, KernelUeventSim, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::kernel
