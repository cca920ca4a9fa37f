// SPDX-License-Identifier: MIT
// remoteproc wrappers: parsing, and against ampsim on every layout.
#include <gtest/gtest.h>

#include "kernel/firmware.h"
#include "kernel/remoteproc.h"
#include "support/simulator.h"

namespace amp::kernel {
namespace {

TEST(KernelRemoteproc, StateWords)
{
	EXPECT_EQ(parseRprocState("offline").state, RprocState::Offline);
	EXPECT_EQ(parseRprocState("attached").state, RprocState::Attached);
	EXPECT_EQ(parseRprocState("detached").state, RprocState::Detached);
	EXPECT_EQ(parseRprocState("crashed").state, RprocState::Crashed);
	auto odd = parseRprocState("booting");
	EXPECT_EQ(odd.state, RprocState::Unknown);
	EXPECT_EQ(odd.word, "booting");
	EXPECT_STREQ(rprocStateName(RprocState::Suspended), "suspended");
}

TEST(KernelRemoteproc, IndexParse)
{
	EXPECT_EQ(Remoteproc::parseIndex("remoteproc0"), 0);
	EXPECT_EQ(Remoteproc::parseIndex("remoteproc17"), 17);
	EXPECT_FALSE(Remoteproc::parseIndex("remoteproc"));
	EXPECT_FALSE(Remoteproc::parseIndex("remoteproc1a"));
	EXPECT_FALSE(Remoteproc::parseIndex("xremoteproc1"));
	EXPECT_FALSE(Remoteproc::parseIndex("remoteproc99999999999"));
}

TEST(KernelRemoteproc, StartOnlyFromOfflineOrDetached)
{
	EXPECT_TRUE(Remoteproc::checkStartable(parseRprocState("offline")));
	EXPECT_TRUE(Remoteproc::checkStartable(parseRprocState("detached")));
	for (const char *w : {"running", "attached", "crashed", "suspended", "weird"}) {
		auto r = Remoteproc::checkStartable(parseRprocState(w));
		ASSERT_FALSE(r) << w;
		EXPECT_EQ(r.error().code, EBUSY);
		EXPECT_NE(r.error().context.find(w), std::string::npos);
	}
}

TEST(KernelRemoteproc, ErrnoMessages)
{
	EXPECT_NE(describeStartError(ENOENT).find("not found"), std::string::npos);
	EXPECT_NE(describeStartError(EINVAL).find("ELF"), std::string::npos);
	EXPECT_NE(describeStartError(ENODEV).find("power up"), std::string::npos);
	EXPECT_NE(describeStartError(EBUSY).find("busy"), std::string::npos);
	EXPECT_NE(describeStartError(kStartShortWrite).find("vendor"), std::string::npos);
	EXPECT_NE(describeStopError(EINVAL).find("not running"), std::string::npos);
	EXPECT_NE(describeFirmwareWriteError(EBUSY).find("offline"), std::string::npos);
	EXPECT_NE(describeDetachError(EINVAL).find("attached"), std::string::npos);
	EXPECT_FALSE(describeStartError(EXDEV).empty());
}

TEST(KernelRemoteproc, EnumerateEmptyRoot)
{
	test::TempDir dir;
	auto list = Remoteproc::enumerate(SysfsRoot(dir.path()));
	ASSERT_TRUE(list);
	EXPECT_TRUE(list->empty());
	EXPECT_EQ(Remoteproc::open(SysfsRoot(dir.path()), 0).error().code, ENOENT);
}

class KernelRemoteprocSim : public ::testing::TestWithParam<std::string> {
protected:
	bool start(std::vector<std::string> extra = {})
	{
		test::Simulator::Options o;
		o.layout = GetParam();
		o.extraArgs = std::move(extra);
		return sim_.start(o);
	}
	RprocState stateOf(const Remoteproc &r) { return r.state().value_or(RprocStateWord{}).state; }
	bool waitState(const Remoteproc &r, RprocState s)
	{
		return test::waitUntil([&] { return stateOf(r) == s; });
	}
	test::Simulator sim_;
};

TEST_P(KernelRemoteprocSim, Enumerate)
{
	if (!start({"--remote", "ffe00000.r5f", "--remote", "ffe90000.r5f"}))
		return;
	SysfsRoot root(sim_.root());
	auto list = Remoteproc::enumerate(root);
	ASSERT_TRUE(list) << list.error().message();
	ASSERT_EQ(list->size(), 2u);
	auto info = (*list)[1].info();
	ASSERT_TRUE(info) << info.error().message();
	EXPECT_EQ(info->index, 1);
	EXPECT_EQ(info->name, "ffe90000.r5f");
	EXPECT_EQ(info->state.state, RprocState::Offline);
	EXPECT_EQ(info->firmware, "rproc-ffe90000.r5f-fw");
	EXPECT_EQ(info->recovery, true);
	EXPECT_EQ(info->hasCdev, GetParam() != "5.10");
}

TEST_P(KernelRemoteprocSim, StartStopAndErrnos)
{
	if (!start())
		return;
	SysfsRoot root(sim_.root());
	auto r = Remoteproc::open(root, 0).value();
	sim_.installFirmware("echo.elf", test::makeFirmware("echo"));
	test::writeFile(sim_.root() + "/lib/firmware/text.elf", "not an elf at all, just text");

	// Missing firmware: ENOENT from the start write, errno kept.
	ASSERT_TRUE(r.setFirmware("missing.elf"));
	auto e = r.start();
	ASSERT_FALSE(e);
	EXPECT_EQ(e.error().code, ENOENT) << e.error().message();
	// Not an ELF: EINVAL, and our inspector agrees before the kernel does.
	auto loc = findFirmware(root, "text.elf");
	ASSERT_TRUE(loc);
	EXPECT_EQ(inspectFirmwareFile(root, loc->rel)->kernelErrno, EINVAL);
	ASSERT_TRUE(r.setFirmware("text.elf"));
	EXPECT_EQ(r.start().error().code, EINVAL);
	// Stop while offline: EINVAL.
	EXPECT_EQ(r.stop().error().code, EINVAL);
	EXPECT_EQ(r.setFirmware("").error().code, EINVAL);
	EXPECT_EQ(r.setFirmware("a\nb").error().code, EINVAL);

	ASSERT_TRUE(r.setFirmware("echo.elf"));
	EXPECT_EQ(r.firmware().value(), "echo.elf");
	ASSERT_TRUE(r.start());
	EXPECT_TRUE(waitState(r, RprocState::Running));
	// Running: start is refused by our check, never written.
	auto twice = r.start();
	ASSERT_FALSE(twice);
	EXPECT_EQ(twice.error().code, EBUSY);
	EXPECT_NE(twice.error().context.find("running"), std::string::npos);
	// The kernel itself: EBUSY before 5.19, a second reference after.
	auto raw = r.writeStart();
	if (GetParam() == "6.1") {
		EXPECT_TRUE(raw);
		ASSERT_TRUE(r.stop()); // drops the extra reference only
		EXPECT_EQ(stateOf(r), RprocState::Running);
	} else {
		EXPECT_EQ(raw.error().code, EBUSY);
	}
	EXPECT_EQ(r.setFirmware("echo.elf").error().code, EBUSY);
	ASSERT_TRUE(r.stop());
	EXPECT_TRUE(waitState(r, RprocState::Offline));

	// A power-up failure comes back as the core's errno.
	ASSERT_EQ(sim_.ctl({"fail-start", "0", std::to_string(ENODEV)}), 0);
	auto nodev = r.start();
	ASSERT_FALSE(nodev);
	EXPECT_EQ(nodev.error().code, ENODEV);
	EXPECT_NE(describeStartError(nodev.error().code).find("power up"), std::string::npos);
}

TEST_P(KernelRemoteprocSim, RecoveryAttribute)
{
	if (!start())
		return;
	auto r = Remoteproc::open(SysfsRoot(sim_.root()), 0).value();
	ASSERT_TRUE(r.setRecovery(false));
	EXPECT_EQ(r.recovery().value(), false);
	ASSERT_TRUE(r.setRecovery(true));
	EXPECT_EQ(r.recovery().value(), true);
}

TEST_P(KernelRemoteprocSim, PreloadedCoreAttaches)
{
	if (!start({"--preloaded", "ffe00000.r5f"}))
		return;
	auto r = Remoteproc::open(SysfsRoot(sim_.root()), 0).value();
	auto s = r.state().value();
	if (GetParam() == "5.10") {
		// 5.10-5.12 attach at registration and read "running".
		EXPECT_EQ(s.state, RprocState::Running);
		EXPECT_FALSE(Remoteproc::checkStartable(s));
		return;
	}
	EXPECT_EQ(s.state, RprocState::Detached);
	ASSERT_TRUE(r.start());
	EXPECT_TRUE(waitState(r, RprocState::Attached));
	EXPECT_EQ(r.firmware().value(), "unknown");
	EXPECT_EQ(r.start().error().code, EBUSY);
	ASSERT_TRUE(r.detach());
	EXPECT_TRUE(waitState(r, RprocState::Detached));
	EXPECT_EQ(r.detach().error().code, EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Layouts, KernelRemoteprocSim, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::kernel
