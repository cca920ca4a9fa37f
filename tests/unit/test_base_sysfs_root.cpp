// SPDX-License-Identifier: MIT
// SysfsRoot on a plain temporary tree: prefixing, newline handling, errno kept.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sysfs_root.h"
#include "support/simulator.h"

namespace amp {
namespace {

class BaseSysfsRoot : public ::testing::Test {
protected:
	void SetUp() override
	{
		dir_ = test::TempDir();
		root_ = dir_.path();
		test::writeFile(root_ + "/sys/class/x/a", "one\n");
		test::writeFile(root_ + "/sys/class/x/b", "two\n\n");
		test::writeFile(root_ + "/sys/class/x/c", "");
		::symlink("../../devices/platform/p/remoteproc/remoteproc3", (root_ + "/sys/class/x/link").c_str());
		::mkdir((root_ + "/sys/devices").c_str(), 0755);
		::mkdir((root_ + "/sys/devices/platform").c_str(), 0755);
		::mkdir((root_ + "/sys/devices/platform/p").c_str(), 0755);
		::mkdir((root_ + "/sys/devices/platform/p/remoteproc").c_str(), 0755);
		::mkdir((root_ + "/sys/devices/platform/p/remoteproc/remoteproc3").c_str(), 0755);
	}
	test::TempDir dir_;
	std::string root_;
};

TEST_F(BaseSysfsRoot, PathsArePrefixed)
{
	SysfsRoot r(root_ + "//");
	EXPECT_EQ(r.path("sys/x"), root_ + "/sys/x");
	EXPECT_EQ(r.path("/sys/x"), root_ + "/sys/x");
	EXPECT_EQ(SysfsRoot("/").path("sys/x"), "/sys/x");
	EXPECT_EQ(SysfsRoot("").path("sys/x"), "/sys/x");
}

TEST_F(BaseSysfsRoot, ReadStripsOneNewline)
{
	SysfsRoot r(root_);
	EXPECT_EQ(r.readAttr("sys/class/x/a").value(), "one");
	EXPECT_EQ(r.readAttr("sys/class/x/b").value(), "two\n");
	EXPECT_EQ(r.readAttr("sys/class/x/c").value(), "");
	auto missing = r.readAttr("sys/class/x/none");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ENOENT);
	EXPECT_NE(missing.error().context.find(root_ + "/sys/class/x/none"), std::string::npos);
	EXPECT_EQ(r.readFile("sys/class/x/b").value(), "two\n\n");
	EXPECT_EQ(r.readFile("sys/class/x/b", 3).error().code, EFBIG);
}

TEST_F(BaseSysfsRoot, WriteIsOneWriteWithErrnoKept)
{
	SysfsRoot r(root_);
	ASSERT_TRUE(r.writeAttr("sys/class/x/a", "new"));
	EXPECT_EQ(r.readFile("sys/class/x/a").value(), "new\n"); // no truncation: one write at offset 0
	auto e = r.writeAttr("sys/class/x/none", "v");
	ASSERT_FALSE(e);
	EXPECT_EQ(e.error().code, ENOENT);
	auto dir = r.writeAttr("sys/class/x", "v");
	ASSERT_FALSE(dir);
	EXPECT_EQ(dir.error().code, EISDIR);
	// /dev/full fails every write with ENOSPC: the errno must come back as is.
	SysfsRoot real("/");
	auto full = real.writeAttr("dev/full", "x");
	ASSERT_FALSE(full);
	EXPECT_EQ(full.error().code, ENOSPC);
	EXPECT_EQ(real.writeAttrCount("dev/null", "abc").value(), 3u);
}

TEST_F(BaseSysfsRoot, ListExistsRealpath)
{
	SysfsRoot r(root_);
	auto names = r.list("sys/class/x");
	ASSERT_TRUE(names);
	EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c", "link"}));
	EXPECT_EQ(r.list("sys/none").error().code, ENOENT);
	EXPECT_TRUE(r.exists("sys/class/x/a"));
	EXPECT_TRUE(r.exists("sys/class/x/link"));
	EXPECT_FALSE(r.exists("sys/class/x/zz"));
	EXPECT_TRUE(r.isDirectory("sys/class/x/link"));
	EXPECT_EQ(r.realpath("sys/class/x/link").value(), "sys/devices/platform/p/remoteproc/remoteproc3");
	EXPECT_EQ(r.realpath("sys/class/x/zz").error().code, ENOENT);
}

TEST_F(BaseSysfsRoot, OpenIsCloexec)
{
	SysfsRoot r(root_);
	auto fd = r.open("sys/class/x/a", O_RDONLY);
	ASSERT_TRUE(fd);
	EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(r.open("sys/none", O_RDONLY).error().code, ENOENT);
}

} // namespace
} // namespace amp
