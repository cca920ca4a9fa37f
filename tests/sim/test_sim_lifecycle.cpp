// SPDX-License-Identifier: MIT
// The simulator's own life: readiness, clean unmount with files still open,
// no mount left behind when it is killed.
#include "test_support.h"

#include <fcntl.h>
#include <unistd.h>

namespace ampsim::test {
namespace {

bool mounted(const std::string &path)
{
	return !amp::test::mountsUnder(path).empty();
}

TEST(SimLifecycle, UnmountsCleanlyWithFilesOpen)
{
	Simulator sim;
	if (!sim.start({}))
		return;
	sim.installFirmware("image_echo_test", FirmwareSpec{});
	ASSERT_EQ(sim.boot("image_echo_test"), 0);
	std::string channel = sim.waitChannel();
	ASSERT_FALSE(channel.empty());
	EXPECT_TRUE(mounted(sim.root() + "/sys"));
	EXPECT_TRUE(mounted(sim.root() + "/dev"));
	int attr = open(sim.rproc().append("/state").c_str(), O_RDONLY | O_CLOEXEC);
	int ctrl = open(sim.dev("rpmsg_ctrl0").c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(attr, 0);
	ASSERT_GE(ctrl, 0);
	EXPECT_EQ(sim.stop(), 0);
	EXPECT_FALSE(mounted(sim.root() + "/sys"));
	EXPECT_FALSE(mounted(sim.root() + "/dev"));
	// The connection is gone: an old fd fails instead of hanging.
	char buf[16];
	EXPECT_EQ(read(attr, buf, sizeof buf), -1);
	EXPECT_TRUE(errno == ENOTCONN || errno == ENODEV) << strerror(errno);
	close(attr);
	close(ctrl);
}

TEST(SimLifecycle, LeavesNoMountWhenKilled)
{
	Simulator sim;
	if (!sim.start({}))
		return;
	std::string sys = sim.root() + "/sys", dev = sim.root() + "/dev";
	ASSERT_TRUE(mounted(sys));
	sim.kill();
	// fusermount3's auto_unmount notices the death and unmounts.
	EXPECT_TRUE(waitUntil([&] { return !mounted(sys) && !mounted(dev); }, 10s));
}

TEST(SimLifecycle, RefusesARootItCannotMount)
{
	auto r = amp::test::run({amp::test::ampsimBinary(), "run", "--root", "/proc/no/such/dir"});
	EXPECT_NE(r.exit, 0) << r.describe();
}

TEST(SimLifecycle, SeveralRemotes)
{
	Simulator sim;
	Simulator::Options o;
	o.extraArgs = {"--remote", "ffe00000.r5f", "--remote", "ffe90000.r5f"};
	if (!sim.start(o))
		return;
	EXPECT_EQ(readText(sim.rproc(0) + "/name"), "ffe00000.r5f\n");
	EXPECT_EQ(readText(sim.rproc(1) + "/name"), "ffe90000.r5f\n");
	FirmwareSpec echo;
	sim.installFirmware("image_echo_test", echo);
	ASSERT_EQ(sim.boot("image_echo_test", 0), 0);
	ASSERT_EQ(sim.boot("image_echo_test", 1), 0);
	EXPECT_TRUE(waitUntil([&] {
		auto d = sim.busDevices();
		return std::count_if(d.begin(), d.end(), [](auto &n) { return n.find("demo-channel") != std::string::npos; }) == 2;
	}));
	auto devs = sim.busDevices();
	EXPECT_NE(std::find(devs.begin(), devs.end(), "virtio1.rpmsg-openamp-demo-channel.-1.1024"), devs.end());
	EXPECT_EQ(listDir(sim.sys("class/rpmsg")),
		  (std::vector<std::string>{"rpmsg_ctrl0", "rpmsg_ctrl1"}));
}

} // namespace
} // namespace ampsim::test
