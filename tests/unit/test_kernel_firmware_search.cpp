// SPDX-License-Identifier: MIT
// Firmware search: the kernel's directory and suffix order under a root prefix.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "kernel/firmware.h"
#include "support/simulator.h"

namespace amp::kernel {
namespace {

class KernelFirmwareSearch : public ::testing::Test {
protected:
	test::TempDir dir_;
	std::string root() const { return dir_.path(); }
	void put(const std::string &rel, const std::string &bytes = "ELF") { test::writeFile(root() + "/" + rel, bytes); }
};

TEST_F(KernelFirmwareSearch, NamesAreChecked)
{
	EXPECT_TRUE(checkFirmwareName("r5/app.elf"));
	EXPECT_TRUE(checkFirmwareName("a..b"));
	for (const char *bad : {"", "/abs", "..", "../x", "a/../b", "a/..", "a\nb"})
		EXPECT_EQ(checkFirmwareName(bad).error().code, EINVAL) << bad;
}

TEST_F(KernelFirmwareSearch, OrderIsParamUpdatesReleaseThenPlain)
{
	SysfsRoot r(root());
	put("sys/module/firmware_class/parameters/path", "/opt/fw\n");
	auto dirs = firmwareSearchPath(r, std::string("6.1.0-test"));
	EXPECT_EQ(dirs, (std::vector<std::string>{"/opt/fw", "/lib/firmware/updates/6.1.0-test", "/lib/firmware/updates",
						 "/lib/firmware/6.1.0-test", "/lib/firmware"}));
	put("lib/firmware/app.elf");
	EXPECT_EQ(findFirmware(r, "app.elf", "6.1.0-test")->rel, "lib/firmware/app.elf");
	put("lib/firmware/6.1.0-test/app.elf");
	EXPECT_EQ(findFirmware(r, "app.elf", "6.1.0-test")->rel, "lib/firmware/6.1.0-test/app.elf");
	put("lib/firmware/updates/app.elf");
	EXPECT_EQ(findFirmware(r, "app.elf", "6.1.0-test")->dir, "/lib/firmware/updates");
	put("opt/fw/app.elf");
	auto loc = findFirmware(r, "app.elf", "6.1.0-test");
	EXPECT_EQ(loc->dir, "/opt/fw");
	EXPECT_EQ(loc->rel, "opt/fw/app.elf");
	EXPECT_EQ(loc->suffix, "");
}

TEST_F(KernelFirmwareSearch, EmptyParamAndNewlineKept)
{
	SysfsRoot r(root());
	put("sys/module/firmware_class/parameters/path", "\n");
	EXPECT_EQ(firmwareSearchPath(r, std::string("x")).size(), 4u);
	// Written with a newline, the kernel keeps it: the directory is "/opt/fw\n".
	put("sys/module/firmware_class/parameters/path", "/opt/fw\n\n");
	EXPECT_EQ(firmwareSearchPath(r, std::string("x")).front(), "/opt/fw\n");
	put("opt/fw/a.elf");
	EXPECT_EQ(findFirmware(r, "a.elf", "x").error().code, ENOENT);
}

TEST_F(KernelFirmwareSearch, PlainEverywhereBeforeCompressed)
{
	SysfsRoot r(root());
	put("lib/firmware/updates/a.elf.xz");
	put("lib/firmware/a.elf.zst");
	auto loc = findFirmware(r, "a.elf", "x");
	ASSERT_TRUE(loc);
	EXPECT_EQ(loc->suffix, ".zst");
	EXPECT_EQ(loc->rel, "lib/firmware/a.elf.zst");
	put("lib/firmware/a.elf");
	EXPECT_EQ(findFirmware(r, "a.elf", "x")->suffix, "");
}

TEST_F(KernelFirmwareSearch, SkipsDirectoriesAndEmptyFiles)
{
	SysfsRoot r(root());
	put("lib/firmware/updates/a.elf/inner");
	put("lib/firmware/updates/b.elf", "");
	put("lib/firmware/a.elf");
	put("lib/firmware/b.elf");
	EXPECT_EQ(findFirmware(r, "a.elf", "x")->rel, "lib/firmware/a.elf");
	EXPECT_EQ(findFirmware(r, "b.elf", "x")->rel, "lib/firmware/b.elf");
	auto missing = findFirmware(r, "c.elf", "x");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ENOENT);
	EXPECT_NE(missing.error().context.find("/lib/firmware"), std::string::npos);
	EXPECT_EQ(findFirmware(r, "../etc/passwd", "x").error().code, EINVAL);
}

TEST_F(KernelFirmwareSearch, InspectFile)
{
	SysfsRoot r(root());
	put("lib/firmware/t.txt", "hello");
	auto rep = inspectFirmwareFile(r, "lib/firmware/t.txt");
	ASSERT_TRUE(rep);
	EXPECT_EQ(rep->verdict, FirmwareVerdict::Refuse);
	EXPECT_EQ(inspectFirmwareFile(r, "lib/firmware/none").error().code, ENOENT);
}

// A FIFO where an image is looked for (nobody writing to it): a blocking
// open would never return; the kernel's loader refuses anything but a
// regular file with EINVAL, and so do we, at once.
TEST_F(KernelFirmwareSearch, InspectRefusesAFifoWithoutWaitingOnIt)
{
	SysfsRoot r(root());
	put("lib/firmware/keep", "");
	ASSERT_EQ(::mkfifo((root() + "/lib/firmware/pipe.elf").c_str(), 0600), 0);
	auto rep = inspectFirmwareFile(r, "lib/firmware/pipe.elf");
	ASSERT_FALSE(rep);
	EXPECT_EQ(rep.error().code, EINVAL);
	EXPECT_EQ(inspectFirmwareFile(r, "lib/firmware").error().code, EINVAL);
	// By name, as the kernel searches: refused, whichever errno the search
	// settles on.
	EXPECT_FALSE(inspectFirmwareByName(r, "pipe.elf"));
}

} // namespace
} // namespace amp::kernel
