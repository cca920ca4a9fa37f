// SPDX-License-Identifier: MIT
// Starting and stopping through ampctl: the three demos, firmware that cannot
// be loaded, and firmware that boots without the channel it should bring.
#include "ampd_fixture.h"

namespace amp::e2e {
namespace {

using test::layoutTestName;

// One demo per instance: (layout, firmware name).
class Demo : public AmpdFixture, public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {
protected:
	std::string layout() const override { return std::get<0>(GetParam()); }
	std::string firmware() const { return std::get<1>(GetParam()); }
};

TEST_P(Demo, StartIsDoneWhenTheChannelIsUpAndStopWhenOffline)
{
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", firmware()});
	// What the kernel shows the moment ampctl returns: ampctl may say 0
	// only once the remote runs and its channel is on the bus.
	std::string state = sysState();
	bool channel = sim_.hasChannel(kDemoChannel);
	ASSERT_EQ(start.exit, kOk) << start.describe();
	EXPECT_EQ(state, "running");
	EXPECT_TRUE(channel) << "bus: " << ::testing::PrintToString(sim_.busDevices());
	EXPECT_EQ(sysFirmware(), firmware());

	json status = parseReply(ampctl({"--json", "status", kRemote}).out);
	ASSERT_TRUE(status.contains("remotes")) << status.dump();
	ASSERT_EQ(status["remotes"].size(), 1u) << status.dump();
	const json &r = status["remotes"][0];
	EXPECT_EQ(r.value("name", ""), kRemote);
	EXPECT_EQ(r.value("state", ""), "running");
	EXPECT_EQ(r.value("firmware", ""), firmware());
	EXPECT_EQ(r.value("channels", json::array()), json::array({kDemoChannel})) << r.dump();

	RunResult stop = ampctl({"stop", kRemote});
	state = sysState();
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(state, "offline");
	EXPECT_FALSE(sim_.hasChannel(kDemoChannel));
	EXPECT_EQ(daemonState(), "offline");
}

std::string demoName(const ::testing::TestParamInfo<std::tuple<std::string, std::string>> &info)
{
	std::string layout = layoutTestName({std::get<0>(info.param), info.index});
	std::string fw = std::get<1>(info.param);
	return layout + "_" + fw.substr(fw.find('_') + 1);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Demo,
			 ::testing::Combine(::testing::Values("6.1", "5.15", "5.10"), ::testing::Values(kEcho, kMatmul, kRpc)),
			 demoName);

class StartFailure : public AmpdTest {};

TEST_P(StartFailure, MissingFirmwareIsNotFoundAndLeavesTheCoreAlone)
{
	ASSERT_TRUE(startDaemon());
	std::string before = sysFirmware();
	RunResult r = ampctl({"start", kRemote, "--firmware", "no_such_image"});
	EXPECT_EQ(r.exit, kNotFound) << r.describe();
	EXPECT_NE((r.out + r.err).find("no_such_image"), std::string::npos) << "the message names the file\n"
									 << r.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_EQ(sysFirmware(), before);
	EXPECT_EQ(daemonState(), "offline");
}

TEST_P(StartFailure, NonElfFileFailsAndLeavesTheCoreAlone)
{
	test::writeFile(sim_.firmwarePath("not_an_elf"), "this is a text file, not an ELF image\n");
	ASSERT_TRUE(startDaemon());
	std::string before = sysFirmware();
	RunResult r = ampctl({"start", kRemote, "--firmware", "not_an_elf"});
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_EQ(sysFirmware(), before);
	EXPECT_EQ(daemonState(), "offline");
}

TEST_P(StartFailure, FirmwareWithoutResourceTableRunsWithoutChannel)
{
	installFirmware("image_norsc", "norsc");
	ASSERT_TRUE(startDaemon());
	RunResult r = ampctl({"start", kRemote, "--firmware", "image_norsc"});
	// No resource table, no VDEV: no channel can come, and none is expected.
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(daemonState(), "running");
	EXPECT_TRUE(sim_.busDevices().empty()) << ::testing::PrintToString(sim_.busDevices());
}

TEST_P(StartFailure, ExpectedChannelThatCannotComeIsDegraded)
{
	installFirmware("image_norsc", "norsc");
	writeConfig(config({{"channels", {kDemoChannel}}, {"deadlines", {{"start_to_channel_ms", 300}}}}));
	ASSERT_TRUE(startDaemon());
	RunResult r = ampctl({"start", kRemote, "--firmware", "image_norsc"});
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(daemonState(), "running-degraded");
	EXPECT_NE((r.out + r.err).find(kDemoChannel), std::string::npos) << "the message names the channel\n"
									 << r.describe();
}

TEST_P(StartFailure, SilentFirmwareIsDegradedAtTheChannelDeadline)
{
	installFirmware("image_silent", "silent");
	writeConfig(config({{"channels", {kDemoChannel}}, {"deadlines", {{"start_to_channel_ms", 300}}}}));
	ASSERT_TRUE(startDaemon());
	auto begin = std::chrono::steady_clock::now();
	RunResult r = ampctl({"--json", "start", kRemote, "--firmware", "image_silent"});
	auto took = std::chrono::steady_clock::now() - begin;
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_GE(took, 300ms) << "degraded only once the deadline passed";
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(daemonState(), "running-degraded");
	// The message names the deadline that ran out (the setting or its value).
	std::string said = r.out + r.err;
	EXPECT_TRUE(said.find("start_to_channel_ms") != std::string::npos || said.find("300 ms") != std::string::npos)
		<< r.describe();
}

INSTANTIATE_TEST_SUITE_P(Layouts, StartFailure, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
