// SPDX-License-Identifier: MIT
// The simulated remoteproc sysfs and character device against the kernel's
// documented behaviour (kernel-abi.md section 1), on every layout.
#include "test_support.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace ampsim::test {
namespace {

class Remoteproc : public ::testing::TestWithParam<std::string> {
protected:
	void SetUp() override
	{
		Simulator::Options o;
		o.layout = GetParam();
		if (!sim.start(o))
			GTEST_SKIP() << "simulator not running";
		FirmwareSpec echo;
		sim.installFirmware("image_echo_test", echo);
	}
	std::string attr(const std::string &name) { return readText(sim.rproc() + "/" + name).value_or("<error>"); }
	int store(const std::string &name, const std::string &text) { return writeText(sim.rproc() + "/" + name, text); }
	bool is61() const { return GetParam() == "6.1"; }

	Simulator sim;
};

TEST_P(Remoteproc, AttributesOfAFreshCore)
{
	EXPECT_EQ(attr("name"), "ffe00000.r5f\n");
	EXPECT_EQ(attr("state"), "offline\n");
	EXPECT_EQ(attr("firmware"), "rproc-ffe00000.r5f-fw\n");
	EXPECT_EQ(attr("recovery"), "enabled\n");
	EXPECT_EQ(attr("coredump"), "disabled\n");
	// The class entry is a symlink into the platform device tree.
	char buf[512];
	ssize_t n = readlink(sim.rproc().c_str(), buf, sizeof buf);
	ASSERT_GT(n, 0);
	EXPECT_EQ(std::string(buf, n), "../../devices/platform/ffe00000.r5f/remoteproc/remoteproc0");
	// Read-only attributes refuse a writer, root included (kernfs: EACCES).
	EXPECT_EQ(store("name", "x"), EACCES);
}

TEST_P(Remoteproc, StartAndStop)
{
	ASSERT_EQ(sim.boot("image_echo_test"), 0);
	EXPECT_EQ(attr("state"), "running\n");
	EXPECT_EQ(store("state", "stop"), 0);
	EXPECT_EQ(attr("state"), "offline\n");
	// One trailing newline is accepted, nothing else.
	EXPECT_EQ(store("state", "start\n"), 0);
	EXPECT_EQ(store("state", "stop\n\n"), EINVAL);
	EXPECT_EQ(store("state", "stop\n"), 0);
}

TEST_P(Remoteproc, WrongStateWritesFailWithTheKernelsErrno)
{
	EXPECT_EQ(store("state", "stop"), EINVAL) << "stop while offline";
	EXPECT_EQ(store("state", "bogus"), EINVAL);
	EXPECT_EQ(store("state", "detach"), EINVAL) << "detach unless attached";
	ASSERT_EQ(sim.boot("image_echo_test"), 0);
	EXPECT_EQ(store("firmware", "other"), EBUSY) << "firmware while running";
	int second = store("state", "start");
	if (is61()) {
		// 5.19+: a second start takes another reference; the first stop
		// returns 0 and leaves the core running.
		EXPECT_EQ(second, 0);
		EXPECT_EQ(store("state", "stop"), 0);
		EXPECT_EQ(attr("state"), "running\n");
	} else {
		EXPECT_EQ(second, EBUSY);
	}
	EXPECT_EQ(store("state", "stop"), 0);
	EXPECT_EQ(attr("state"), "offline\n");
	EXPECT_EQ(store("state", "stop"), EINVAL);
}

TEST_P(Remoteproc, FirmwareAttribute)
{
	// (A zero-byte write returns 0 and changes nothing, on the kernel,
	// whose sysfs never calls the store, and here alike.)
	EXPECT_EQ(store("firmware", ""), 0);
	EXPECT_EQ(attr("firmware"), "rproc-ffe00000.r5f-fw\n");
	EXPECT_EQ(store("firmware", "\n"), EINVAL);
	EXPECT_EQ(store("firmware", "image_echo_test\ntrailing"), 0);
	EXPECT_EQ(attr("firmware"), "image_echo_test\n") << "cut at the first newline";
}

TEST_P(Remoteproc, BootFailuresSurfaceAsTheStartWriteError)
{
	EXPECT_EQ(sim.boot("no_such_file"), ENOENT);
	EXPECT_EQ(attr("state"), "offline\n");
	sim.installFirmware("not_elf", std::vector<uint8_t>(200, 'x'));
	EXPECT_EQ(sim.boot("not_elf"), EINVAL);
	// A VDEV entry with a nonzero reserved field: a bad resource table entry.
	auto image = buildFirmware(FirmwareSpec{});
	LoadedFirmware fw;
	std::string why;
	ASSERT_EQ(loadFirmware(image, fw, why), 0);
	// Find the VDEV (type 3, id 7) and poison reserved[0].
	for (size_t i = 0; i + 28 < image.size(); i += 4)
		if (image[i] == 3 && image[i + 4] == 7 && image[i + 8] == 0 && image[i + 12] == 1) {
			image[i + 26] = 1;
			break;
		}
	ASSERT_NE(loadFirmware(image, fw, why), 0) << "the test must break the table";
	sim.installFirmware("bad_rsc", image);
	EXPECT_EQ(sim.boot("bad_rsc"), EINVAL);
	EXPECT_EQ(attr("state"), "offline\n");
	// No resource table: the Zynq driver boots it; no channel ever comes.
	FirmwareSpec norsc;
	norsc.app = "norsc";
	sim.installFirmware("norsc", norsc);
	EXPECT_EQ(sim.boot("norsc"), 0);
	EXPECT_EQ(attr("state"), "running\n");
	EXPECT_TRUE(sim.busDevices().empty());
	EXPECT_EQ(store("state", "stop"), 0);
	// An injected power-up failure.
	ASSERT_EQ(sim.ctl({"fail-start", "remoteproc0", "19"}), 0);
	EXPECT_EQ(sim.boot("image_echo_test"), ENODEV);
	EXPECT_EQ(sim.boot("image_echo_test"), 0);
}

TEST_P(Remoteproc, FirmwareSearchPath)
{
	// firmware_class.path first, then lib/firmware; kept as written, so a
	// trailing newline breaks it, as on 6.1.
	ASSERT_EQ(mkdir((sim.root() + "/opt").c_str(), 0755), 0);
	ASSERT_EQ(mkdir((sim.root() + "/opt/fw").c_str(), 0755), 0);
	auto image = buildFirmware(FirmwareSpec{});
	std::string param = sim.sys("module/firmware_class/parameters/path");
	EXPECT_EQ(readText(param), "\n");
	{
		FILE *f = fopen((sim.root() + "/opt/fw/only_here").c_str(), "wb");
		ASSERT_TRUE(f);
		fwrite(image.data(), 1, image.size(), f);
		fclose(f);
	}
	EXPECT_EQ(sim.boot("only_here"), ENOENT);
	ASSERT_EQ(writeText(param, "/opt/fw\n"), 0);
	EXPECT_EQ(readText(param), "/opt/fw\n\n");
	EXPECT_EQ(sim.boot("only_here"), ENOENT) << "the newline is part of the path";
	ASSERT_EQ(writeText(param, "/opt/fw"), 0);
	EXPECT_EQ(sim.boot("only_here"), 0);
	EXPECT_EQ(writeText(param, std::string(300, 'a')), ENOSPC);
}

TEST_P(Remoteproc, CrashWithRecoveryRestartsTheFirmware)
{
	FirmwareSpec crash;
	crash.app = "crash";
	crash.crashAfterMsgs = 0;
	sim.installFirmware("image_crash", crash);
	ASSERT_EQ(sim.boot("image_crash"), 0);
	std::string first = sim.waitChannel();
	ASSERT_FALSE(first.empty());
	ASSERT_EQ(sim.ctl({"crash", "remoteproc0"}), 0);
	// Recovery stops the subdevices (channel gone) and boots again.
	EXPECT_TRUE(waitUntil([&] { return attr("state") == "running\n" && !sim.waitChannel().empty(); }));
	EXPECT_EQ(store("state", "stop"), 0);
}

TEST_P(Remoteproc, CrashWithoutRecoveryStaysCrashed)
{
	ASSERT_EQ(store("recovery", "disabled"), 0);
	EXPECT_EQ(attr("recovery"), "disabled\n");
	ASSERT_EQ(sim.boot("image_echo_test"), 0);
	std::string channel = sim.waitChannel();
	ASSERT_FALSE(channel.empty());
	ASSERT_EQ(sim.ctl({"crash", "ffe00000.r5f"}), 0);
	EXPECT_EQ(attr("state"), "crashed\n");
	// The channel stays while crashed; start only takes a reference.
	EXPECT_FALSE(sim.waitChannel().empty());
	EXPECT_EQ(store("firmware", "other"), EBUSY);
	EXPECT_EQ(store("coredump", "enabled"), EBUSY);
	EXPECT_EQ(store("state", "start"), 0);
	EXPECT_EQ(attr("state"), "crashed\n");
	// "recover" reboots it.
	ASSERT_EQ(store("recovery", "recover"), 0);
	EXPECT_EQ(attr("state"), "running\n");
	EXPECT_EQ(store("recovery", "maybe"), EINVAL);
	// Crash again: 6.1 stops a crashed core (rproc_shutdown() accepts
	// RPROC_CRASHED, seen in QEMU too); older kernels refuse.
	ASSERT_EQ(sim.ctl({"crash", "ffe00000.r5f"}), 0);
	EXPECT_EQ(attr("state"), "crashed\n");
	if (is61()) {
		// Two references were taken (start + the crashed start above).
		EXPECT_EQ(store("state", "stop"), 0);
		EXPECT_EQ(attr("state"), "crashed\n");
		EXPECT_EQ(store("state", "stop"), 0);
		EXPECT_EQ(attr("state"), "offline\n");
		EXPECT_TRUE(sim.busDevices().empty());
	} else {
		EXPECT_EQ(store("state", "stop"), EINVAL);
	}
}

TEST_P(Remoteproc, CoredumpWords)
{
	for (const char *w : {"enabled", "inline", "disabled"}) {
		EXPECT_EQ(store("coredump", w), 0);
		EXPECT_EQ(attr("coredump"), std::string(w) + "\n");
	}
	EXPECT_EQ(store("coredump", "sometimes"), EINVAL);
}

TEST_P(Remoteproc, CharacterDevice)
{
	if (GetParam() == "5.10") {
		EXPECT_FALSE(exists(sim.dev("remoteproc0"))) << "CONFIG_REMOTEPROC_CDEV came in 5.11";
		return;
	}
	ASSERT_EQ(store("firmware", "image_echo_test"), 0);
	int fd = open(sim.dev("remoteproc0").c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(write(fd, "start\n", 6), -1);
	EXPECT_EQ(errno, EINVAL) << "no newline on the cdev";
	EXPECT_EQ(write(fd, "start-start", 11), -1);
	EXPECT_EQ(errno, EINVAL) << "more than 10 bytes";
	EXPECT_EQ(write(fd, "start", 5), 5);
	EXPECT_EQ(attr("state"), "running\n");
	if (is61()) {
		// 5.19+: another reference, like the sysfs write; "sta" is start.
		EXPECT_EQ(write(fd, "sta", 3), 3);
		EXPECT_EQ(write(fd, "stop", 4), 4);
		EXPECT_EQ(attr("state"), "running\n");
	} else {
		EXPECT_EQ(write(fd, "start", 5), -1);
		EXPECT_EQ(errno, EBUSY);
	}
	int on = 1;
	ASSERT_EQ(ioctl(fd, 0x4004b701, &on), 0);
	int got = 0;
	ASSERT_EQ(ioctl(fd, 0x8004b702, &got), 0);
	EXPECT_EQ(got, 1);
	// Closing the fd stops the core: a supervisor ties a core to itself.
	close(fd);
	EXPECT_TRUE(waitUntil([&] { return attr("state") == "offline\n"; }));
}

INSTANTIATE_TEST_SUITE_P(Layouts, Remoteproc, AMP_ALL_LAYOUTS);

class Preloaded : public ::testing::TestWithParam<std::string> {};

TEST_P(Preloaded, AttachAndDetach)
{
	Simulator sim;
	Simulator::Options o;
	o.layout = GetParam();
	o.extraArgs = {"--preloaded", "ffe00000.r5f=echo"};
	if (!sim.start(o))
		return;
	auto state = [&] { return readText(sim.rproc() + "/state").value_or(""); };
	if (GetParam() == "5.10") {
		// Attached at registration; 5.10 has no "attached" word.
		EXPECT_EQ(state(), "running\n");
		EXPECT_FALSE(sim.waitChannel().empty());
		return;
	}
	EXPECT_EQ(state(), "detached\n");
	EXPECT_EQ(writeText(sim.rproc() + "/firmware", "x"), EBUSY);
	EXPECT_EQ(writeText(sim.rproc() + "/state", "stop"), EINVAL);
	ASSERT_EQ(writeText(sim.rproc() + "/state", "start"), 0);
	EXPECT_EQ(state(), "attached\n");
	EXPECT_EQ(readText(sim.rproc() + "/firmware"), "unknown\n");
	EXPECT_FALSE(sim.waitChannel().empty());
	ASSERT_EQ(writeText(sim.rproc() + "/state", "detach"), 0);
	EXPECT_EQ(state(), "detached\n");
	EXPECT_TRUE(sim.busDevices().empty()) << "detach stops the subdevices";
	ASSERT_EQ(writeText(sim.rproc() + "/state", "start"), 0);
	EXPECT_EQ(state(), "attached\n");
	ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
	EXPECT_EQ(state(), "offline\n");
}

INSTANTIATE_TEST_SUITE_P(Layouts, Preloaded, AMP_ALL_LAYOUTS);

} // namespace
} // namespace ampsim::test
