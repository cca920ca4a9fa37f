// SPDX-License-Identifier: MIT
// ampctl's output: the list table, status detail, outcomes, event lines, wait's predicate, refused firmware.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <stdlib.h>
#include <unistd.h>

#include "ampctl.hpp"

using namespace amp;
using namespace amp::cli;

namespace {

RemoteInfo r50{"r5-0", 0, "ff9a0000.r5f", RemoteState::Running, "image_echo_test", {"rpmsg-openamp-demo-channel", "rpmsg-raw"}};
RemoteInfo r51{"r5-1", 1, "", RemoteState::Offline, "", {}};

} // namespace

TEST(AmpctlOutput, ListIsAnAlignedTable)
{
	EXPECT_EQ(formatTable({r50, r51}),
		  "REMOTE  INDEX  STATE    FIRMWARE         CHANNELS\n"
		  "r5-0    0      running  image_echo_test  rpmsg-openamp-demo-channel,rpmsg-raw\n"
		  "r5-1    1      offline  -                -\n");
	EXPECT_EQ(formatTable({}), "REMOTE  INDEX  STATE  FIRMWARE  CHANNELS\n");
}

TEST(AmpctlOutput, StatusLooksLikeSystemctls)
{
	EXPECT_EQ(formatStatus(r50), "● r5-0 - remoteproc0 (ff9a0000.r5f)\n"
				     "     State: running\n"
				     "  Firmware: image_echo_test\n"
				     "  Channels: rpmsg-openamp-demo-channel,rpmsg-raw\n");
	EXPECT_EQ(formatStatus(r51), "○ r5-1 - remoteproc1\n"
				     "     State: offline\n"
				     "  Firmware: -\n"
				     "  Channels: -\n");
	RemoteInfo crashed = r50;
	crashed.state = RemoteState::Crashed;
	EXPECT_EQ(formatStatus(crashed).rfind("× r5-0", 0), 0u);
}

TEST(AmpctlOutput, OutcomesAndEventsAreOneLine)
{
	EXPECT_EQ(formatAction(ActionReply{"r5-0", RemoteState::Running, "channel up after 12 ms"}), "r5-0: running (channel up after 12 ms)");
	EXPECT_EQ(formatAction(ActionReply{"r5-0", RemoteState::Offline, ""}), "r5-0: offline");
	EXPECT_EQ(formatEvent(StateEvent{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested"}),
		  "r5-0: offline -> loading (start requested)");
	EXPECT_EQ(formatEvent(StateEvent{"r5-0", RemoteState::Running, RemoteState::RunningDegraded, ""}),
		  "r5-0: running -> running-degraded");
	EXPECT_EQ(formatEvent(ChannelEvent{true, {"r5-0", "rpmsg-openamp-demo-channel", 0x400, 0x0}}),
		  "r5-0: channel rpmsg-openamp-demo-channel up (src 0x400, dst 0x0)");
	EXPECT_EQ(formatEvent(ChannelEvent{false, {"r5-1", "rpmsg-raw", 0xFFFFFFFFu, 0x35}}),
		  "r5-1: channel rpmsg-raw down (src 0xffffffff, dst 0x35)");
}

TEST(AmpctlWait, ThePredicate)
{
	WaitTarget running{"r5-0", RemoteState::Running, std::nullopt};
	WaitTarget channel{"r5-0", std::nullopt, "rpmsg-raw"};
	EXPECT_TRUE(waitSatisfied(running, r50));
	EXPECT_TRUE(waitSatisfied(channel, r50));
	EXPECT_FALSE(waitSatisfied(running, r51));
	EXPECT_FALSE(waitSatisfied(WaitTarget{"r5-1", std::nullopt, "rpmsg-raw"}, r51));
	EXPECT_FALSE(waitSatisfied(WaitTarget{"r5-1", RemoteState::Running, std::nullopt}, r50)) << "another remote's state";

	EXPECT_TRUE(waitSatisfied(running, RemoteEvent{StateEvent{"r5-0", RemoteState::Starting, RemoteState::Running, ""}}));
	EXPECT_FALSE(waitSatisfied(running, RemoteEvent{StateEvent{"r5-0", RemoteState::Running, RemoteState::Stopping, ""}}))
		<< "leaving the state is not reaching it";
	EXPECT_FALSE(waitSatisfied(running, RemoteEvent{StateEvent{"r5-1", RemoteState::Starting, RemoteState::Running, ""}}));
	EXPECT_TRUE(waitSatisfied(channel, RemoteEvent{ChannelEvent{true, {"r5-0", "rpmsg-raw", 1, 2}}}));
	EXPECT_FALSE(waitSatisfied(channel, RemoteEvent{ChannelEvent{false, {"r5-0", "rpmsg-raw", 1, 2}}}));
	EXPECT_FALSE(waitSatisfied(channel, RemoteEvent{ChannelEvent{true, {"r5-0", "rpmsg-other", 1, 2}}}));
	EXPECT_FALSE(waitSatisfied(running, RemoteEvent{ChannelEvent{true, {"r5-0", "rpmsg-raw", 1, 2}}}));
}

TEST(AmpctlFirmware, RefusedMissingAndUnreadable)
{
	char dirTemplate[] = "/tmp/ampctl-test-XXXXXX";
	ASSERT_NE(::mkdtemp(dirTemplate), nullptr);
	std::string dir = dirTemplate;
	std::string notElf = dir + "/not_an_elf";
	std::ofstream(notElf) << "#!/bin/sh\necho this is not firmware\n";
	std::ostringstream out, err;
	Context ctx{"/nonexistent", false, &out, &err};
	EXPECT_EQ(cmdFirmwareInspect(ctx, notElf), kExitFailed);
	EXPECT_NE(out.str().find("not an ELF file"), std::string::npos) << out.str();
	EXPECT_NE(out.str().find("Verdict: refuse"), std::string::npos) << out.str();

	out.str("");
	EXPECT_EQ(cmdFirmwareInspect(ctx, dir + "/missing"), kExitNotFound);
	EXPECT_EQ(err.str(), "ampctl: firmware inspect: cannot open " + dir + "/missing: No such file or directory\n");
	EXPECT_EQ(out.str(), "");

	err.str("");
	EXPECT_EQ(cmdFirmwareInspect(ctx, dir), kExitFailed);
	EXPECT_NE(err.str().find("is a directory"), std::string::npos) << err.str();
	::unlink(notElf.c_str());
	::rmdir(dir.c_str());
}
