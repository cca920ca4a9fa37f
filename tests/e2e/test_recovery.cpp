// SPDX-License-Identifier: MIT
// When things go wrong: a remote that crashes (restart policy), one that hangs
// while asked to shut down, and ampd itself killed while a remote runs.
#include "ampd_fixture.h"

#include <csignal>

namespace amp::e2e {
namespace {

class Recovery : public AmpdTest {
protected:
	// Firmware that crashes this long after each boot. Long enough that an
	// `ampctl events` started before the start has subscribed by then; not
	// necessarily by the time the start is done (a loaded machine, TSan):
	// the first `running` is what the start's exit 0 says, the events
	// begin with the first crash.
	static constexpr int kCrashAfterMs = 300;

	json restartConfig(const std::string &policy, int maxRestarts = 3)
	{
		json restart = {{"policy", policy}};
		if (policy == "on-failure")
			restart.update({{"max_restarts", maxRestarts},
					{"window_ms", 60000},
					{"backoff_ms", 50},
					{"backoff_max_ms", 50}});
		return config({{"restart", restart}});
	}
	// `ampctl --json events r5-0` until its state events have gone through
	// `wantTo` in order. A crash raises no kernel event, so ampd sees it
	// at its next re-read of `state` (each second while up): allow for
	// two of them.
	bool eventsReach(Process &events, const std::vector<std::string> &wantTo, std::chrono::milliseconds deadline = 10s)
	{
		return events.readUntil([&](const std::string &out) { return inOrder(stateEvents(out), wantTo); },
					deadline);
	}
	static std::string describe(const Process &events)
	{
		std::string s;
		for (auto &[from, to] : stateEvents(events.out()))
			s += from + " -> " + to + "\n";
		return "state events seen:\n" + s + "raw stdout: " + events.out() + "\n";
	}
};

TEST_P(Recovery, OnFailureRestartsACrashedRemote)
{
	installFirmware("image_crash", "crash", {"--crash-after-ms", std::to_string(kCrashAfterMs)});
	writeConfig(restartConfig("on-failure"));
	ASSERT_TRUE(startDaemon());
	Process events = ampctlAsync({"--json", "events", kRemote});
	RunResult start = ampctl({"start", kRemote, "--firmware", "image_crash"});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	EXPECT_TRUE(eventsReach(events, {"crashed", "running"})) << describe(events);
	// It crashes again after each boot: stop it wherever it is now.
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
}

TEST_P(Recovery, StaysCrashedOnceMaxRestartsAreUsed)
{
	installFirmware("image_crash", "crash", {"--crash-after-ms", std::to_string(kCrashAfterMs)});
	writeConfig(restartConfig("on-failure", 1));
	ASSERT_TRUE(startDaemon());
	Process events = ampctlAsync({"--json", "events", kRemote});
	RunResult start = ampctl({"start", kRemote, "--firmware", "image_crash"});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	// One restart is allowed, the second crash is final.
	ASSERT_TRUE(eventsReach(events, {"crashed", "running", "crashed"})) << describe(events);
	// A restart would come 50 ms (the backoff) after ampd saw the crash,
	// which the event says it has: give it ten times that.
	RunResult wait = ampctl({"wait", kRemote, "running", "--timeout", "0.5"});
	EXPECT_EQ(wait.exit, kTimeout) << wait.describe() << describe(events);
	EXPECT_EQ(daemonState(), "crashed");
}

TEST_P(Recovery, PolicyNeverLeavesItCrashed)
{
	writeConfig(restartConfig("never"));
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kEcho});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	std::string out;
	ASSERT_EQ(sim_.ctl({"crash", "0"}, &out), 0) << out;
	// `wait` looks at the state it subscribed to, so a crash before it
	// connected still counts.
	RunResult crashed = ampctl({"wait", kRemote, "crashed", "--timeout", "5"});
	EXPECT_EQ(crashed.exit, kOk) << crashed.describe();
	// No restart is due at all; half a second shows none comes by itself.
	RunResult running = ampctl({"wait", kRemote, "running", "--timeout", "0.5"});
	EXPECT_EQ(running.exit, kTimeout) << running.describe();
	EXPECT_EQ(daemonState(), "crashed");
	// Nor may the kernel recover it behind ampd's back.
	EXPECT_EQ(sysState(), "crashed");
}

class Shutdown : public AmpdTest {
protected:
	static constexpr int kShutdownMs = 300;
	void SetUp() override
	{
		AmpdTest::SetUp();
		if (IsSkipped() || HasFailure())
			return;
		// The echo demo's shutdown word: the remote destroys its channel.
		writeConfig(config({{"shutdown", {{"message", "0xEF56A55A"}, {"channel", kDemoChannel}}},
				    {"deadlines", {{"shutdown_ms", kShutdownMs}}}}));
		ASSERT_TRUE(startDaemon());
		RunResult start = ampctl({"start", kRemote, "--firmware", kEcho});
		ASSERT_EQ(start.exit, kOk) << start.describe();
	}
	static std::string detail(const RunResult &r) { return parseReply(r.out).value("detail", ""); }
};

TEST_P(Shutdown, TheRemoteAcknowledges)
{
	RunResult stop = ampctl({"--json", "stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_NE(detail(stop).find("acknowledg"), std::string::npos) << stop.describe();
}

TEST_P(Shutdown, AHungRemoteIsStoppedAtTheDeadline)
{
	std::string out;
	ASSERT_EQ(sim_.ctl({"hang", "0"}, &out), 0) << out;
	auto begin = std::chrono::steady_clock::now();
	RunResult stop = ampctl({"--json", "stop", kRemote});
	auto took = std::chrono::steady_clock::now() - begin;
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_GE(took, std::chrono::milliseconds(kShutdownMs));
	EXPECT_NE(detail(stop).find("forc"), std::string::npos) << "the detail says it was forced\n" << stop.describe();
}

TEST_P(Recovery, RestartedDaemonAdoptsTheRunningRemote)
{
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kEcho});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	std::string before = simStatus();
	auto busBefore = sim_.busDevices();

	killDaemon();
	ASSERT_TRUE(restartDaemon());

	// ampd adopts through `starting` (it waits to see the expected
	// channels, docs/design.md), and may send READY=1 before that settles.
	std::string atReady = daemonState();
	EXPECT_TRUE(atReady == "running" || atReady == "starting") << atReady;
	RunResult wait = ampctl({"wait", kRemote, "running", "--timeout", "5"});
	EXPECT_EQ(wait.exit, kOk) << wait.describe();
	EXPECT_EQ(daemonState(), "running");
	EXPECT_EQ(sysState(), "running");
	// Not rebooted: the same virtio device, the same channel, as the
	// simulator tells it.
	EXPECT_EQ(simStatus(), before);
	EXPECT_EQ(sim_.busDevices(), busBefore);
	// And still under control: the adopted remote stops.
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
}

INSTANTIATE_TEST_SUITE_P(Layouts, Recovery, AMP_ALL_LAYOUTS);
INSTANTIATE_TEST_SUITE_P(Layouts, Shutdown, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
