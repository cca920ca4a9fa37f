// SPDX-License-Identifier: MIT
// Fault injection end to end, on ampsim's controls: the remote crashing or
// hanging at each life-cycle step, its channel flapping, TX buffer storms,
// EPIPE with the retry queue full, the firmware file changed between ampd's
// check and the kernel's load, sysfs writes that fail. Faults of the daemon
// and its clients (SIGKILL at random points, clients leaving mid-request,
// 1000 clients, a gigabyte of junk) are in test_faults_daemon.cpp.
// docs/reliability.md lists each fault, what ampd did and the test.
#include "faults.h"

namespace amp::e2e {
namespace {

class Faults : public FaultTest {};

// --- crash and hang at each step -------------------------------------------

// `starting`, before the channel: the core is up, the firmware has not
// announced, and it crashes. The start must fail at once (not at the channel
// deadline) with the crash as the reason, and the remote read `crashed`.
TEST_P(Faults, CrashWhileStartingBeforeTheChannel)
{
	installFirmware("image_silent", "silent");
	writeConfig(config({{"deadlines", {{"start_to_channel_ms", 3000}}}}));
	ASSERT_TRUE(startDaemon());
	EventWatch events = watch();
	auto t0 = std::chrono::steady_clock::now();
	Process start = ampctlAsync({"--json", "start", kRemote, "--firmware", "image_silent"});
	ASSERT_TRUE(events.reach({"starting"})) << events.describe();
	simCtl({"crash", "0"});
	RunResult r = start.wait(10s);
	auto took = std::chrono::steady_clock::now() - t0;
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_LT(took, 2500ms) << "the start waited for its channel deadline instead of seeing the crash";
	EXPECT_TRUE(events.reach({"starting", "crashed"})) << events.describe();
	EXPECT_EQ(daemonState(), "crashed");
	EXPECT_EQ(sysState(), "crashed");
	std::cout << "    crash while starting: start answered after "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms: " << r.out << r.err;
	// Another image from there: 6.1 stops the crashed core and loads it;
	// older kernels cannot stop a crashed core, which ampd says, and the
	// way out is a start of its own image (the kernel's recovery), then a
	// stop.
	RunResult again = ampctl({"start", kRemote, "--firmware", kEcho});
	if (layout() == "6.1") {
		EXPECT_EQ(again.exit, kOk) << again.describe();
		EXPECT_EQ(sysState(), "running");
		return;
	}
	EXPECT_EQ(again.exit, kFailed) << again.describe();
	EXPECT_NE(again.err.find("cannot stop a crashed core"), std::string::npos) << again.describe();
	EXPECT_EQ(sysState(), "crashed");
	RunResult recover = ampctl({"start", kRemote});
	EXPECT_EQ(recover.exit, kFailed) << "the silent image is degraded at the deadline\n" << recover.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	RunResult echo = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(echo.exit, kOk) << echo.describe();
}

// `loading`: the `start` write stuck in the kernel (a power-up that does not
// return; ampsim's hold-start). ampd's loop goes on: status answers at
// once, a stop is refused with EBUSY naming the state, and the start
// completes when the kernel returns.
TEST_P(Faults, StartStuckInTheKernelBlocksNothing)
{
	ASSERT_TRUE(startDaemon());
	simCtl({"hold-start", "0"});
	Process start = ampctlAsync({"--json", "start", kRemote, "--firmware", kEcho});
	simCtl({"wait-held", "0", "10000"});
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_EQ(daemonState(), "loading");
	auto took = std::chrono::steady_clock::now() - t0;
	EXPECT_LT(took, 3s) << "status took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kBusy) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
	simCtl({"release", "0"});
	RunResult r = start.wait(10s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_EQ(daemonState(), "running");
	EXPECT_EQ(boots(), 1u);
}

// SIGTERM while the `start` write is stuck in the kernel: ampd's loop ends at
// once (the write is on its worker thread, which it does not wait for) and
// says so. The process itself ends only when the kernel returns from the
// write: a thread inside a FUSE request (as inside a real driver's
// power-up) cannot be killed, not even by SIGKILL. The kernel finishes the
// start and the next ampd adopts the running core.
TEST_P(Faults, SigtermWhileTheStartIsStuckInTheKernel)
{
	ASSERT_TRUE(startDaemon());
	simCtl({"hold-start", "0"});
	Process start = ampctlAsync({"start", kRemote, "--firmware", kEcho});
	simCtl({"wait-held", "0", "10000"});
	auto t0 = std::chrono::steady_clock::now();
	ASSERT_TRUE(ampd_.signal(SIGTERM));
	const std::string exiting = "exiting; remotes left as they are";
	EXPECT_TRUE(eventually([&] { return daemonLog().find(exiting) != std::string::npos; }, 5s)) << daemonLog();
	auto took = std::chrono::steady_clock::now() - t0;
	std::cout << "    SIGTERM with the start write held: ampd's loop ended after "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
	RunResult r = start.wait(10s);
	EXPECT_NE(r.exit, kOk) << "the start cannot have succeeded: ampd left\n" << r.describe();
	simCtl({"release", "0"});
	auto status = ampd_.waitExit(10s);
	ASSERT_TRUE(status.has_value()) << "ampd still there once the kernel returned";
	EXPECT_EQ(*status, 0) << daemonLog();
	ASSERT_TRUE(eventually([&] { return sysState() == "running"; }));
	ASSERT_TRUE(restartDaemon());
	RunResult wait = ampctl({"wait", kRemote, "running", "--timeout", "5"});
	EXPECT_EQ(wait.exit, kOk) << wait.describe();
	EXPECT_EQ(boots(), 1u) << "adopted, not rebooted";
}

// `running`: crashes are test_recovery.cpp's (policy on-failure, never,
// max_restarts) and test_streams.cpp's (mid-traffic); a hang while running is
// the TX storm below.

// `stopping`, mid-handshake: the shutdown word went out, the remote hangs
// (no acknowledgement), then crashes before the deadline. ampd sees the
// crash at its next state read and stops the core at once where the kernel
// can (6.1 stops a crashed core); before 5.19 the kernel refuses (EINVAL):
// the stop fails saying so and the remote is `crashed`, which a start
// recovers.
TEST_P(Faults, CrashWhileStoppingMidHandshake)
{
	writeConfig(config({{"shutdown", {{"message", "0xEF56A55A"}, {"channel", kDemoChannel}}},
			    {"deadlines", {{"shutdown_ms", 20000}}}}));
	ASSERT_TRUE(startDaemon());
	ASSERT_EQ(ampctl({"start", kRemote, "--firmware", kEcho}).exit, kOk);
	EventWatch events = watch();
	simCtl({"hang", "0"});
	auto t0 = std::chrono::steady_clock::now();
	Process stop = ampctlAsync({"--json", "stop", kRemote});
	ASSERT_TRUE(events.reach({"stopping"})) << events.describe();
	simCtl({"crash", "0"});
	RunResult r = stop.wait(15s);
	auto took = std::chrono::steady_clock::now() - t0;
	std::cout << "    crash while stopping (" << layout() << "): stop exit " << r.exit << " after "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms, ampd "
		  << daemonState() << ", kernel " << sysState() << ": " << r.out;
	EXPECT_LT(took, 10s) << "the stop waited out its 20 s deadline instead of seeing the crash";
	if (layout() == "6.1") {
		EXPECT_EQ(r.exit, kOk) << r.describe() << events.describe();
		EXPECT_EQ(sysState(), "offline");
		EXPECT_EQ(daemonState(), "offline");
	} else {
		EXPECT_EQ(r.exit, kFailed) << r.describe() << events.describe();
		EXPECT_NE(r.out.find("EINVAL"), std::string::npos) << r.describe();
		EXPECT_EQ(sysState(), "crashed");
		EXPECT_EQ(daemonState(), "crashed");
		RunResult recover = ampctl({"start", kRemote});
		EXPECT_EQ(recover.exit, kOk) << recover.describe();
		EXPECT_EQ(boots(), 2u);
		EXPECT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	}
	// Nothing stuck: it starts again.
	RunResult again = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(again.exit, kOk) << again.describe();
}

// `stopping`, the remote hung: test_recovery.cpp
// Shutdown.AHungRemoteIsStoppedAtTheDeadline.

// --- channel flapping ---------------------------------------------------

// The remote destroys and announces its channel again and again while four
// reattach streams (two direct) carry traffic: each stream gets a down and
// an up per flap, in order, nothing is corrupted, and afterwards no endpoint
// node or fd is left over. The remote follows: running-degraded while the
// expected channel is gone, running when it is back (restart policy never:
// no restart).
TEST_P(Faults, ChannelFlappingWithStreamsOpen)
{
	ASSERT_TRUE(startEcho());
	EventWatch events = watch();
	const size_t fdsIdle = idleFds(1);
	constexpr int kFlaps = 10;
	Process p = stressAsync({"--streams", "4", "--direct=2", "--reattach", "--window", "8", "--min-size", "6",
				 "--until-signal", "--expect-downs", std::to_string(kFlaps), "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	const size_t fdsOpen = settledFds(4, 1);
	auto t0 = std::chrono::steady_clock::now();
	for (int k = 1; k <= kFlaps; ++k) {
		simCtl({"unannounce", "0"});
		ASSERT_TRUE(waitLines(p, "down ", 4 * size_t(k))) << "flap " << k << "\n" << p.out();
		simCtl({"announce", kDemoChannel, "0", "0x400"});
		ASSERT_TRUE(waitLines(p, "up ", 4 * size_t(k))) << "flap " << k << "\n" << p.out();
	}
	std::cout << "    " << kFlaps << " flaps with 4 streams: "
		  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
	std::vector<std::string> want;
	for (int k = 0; k < kFlaps; ++k)
		want.insert(want.end(), {"running-degraded", "running"});
	EXPECT_TRUE(events.reach(want)) << events.describe();
	EXPECT_EQ(boots(), 1u) << "policy never: nothing restarted";
	EXPECT_TRUE(eventually([&] { return endpointNodes().size() == 4; })) << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsOpen; })) << fdsOpen << " before, now:\n" << ampdFdList();
	p.signal(SIGINT);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	for (const auto &st : s.report["streams"]) {
		EXPECT_EQ(st["downs"], kFlaps) << st.dump();
		EXPECT_EQ(st["ups"], kFlaps) << st.dump();
		EXPECT_EQ(st["problems"].size(), 0u) << st.dump();
		EXPECT_GT(st["received"].get<uint64_t>(), 0u) << st.dump();
	}
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); })) << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsIdle; })) << fdsIdle << " idle, now:\n" << ampdFdList();
}

// --- TX buffer storms and EPIPE mid-message ------------------------------

// Six streams, 64 messages each in flight (max_in_flight's default), to a
// remote that stopped servicing its rings: 384 messages for 256 shared TX
// buffers, so the kernel answers EAGAIN (6.1) or ENOMEM (5.x) to ampd's
// writes for as long as the hang lasts. ampd retries on its timer, stays
// responsive, and when the remote resumes every message is delivered, once,
// in order.
TEST_P(Faults, TxBufferStormOnAHungRemoteThenResume)
{
	ASSERT_TRUE(startEcho());
	simCtl({"hang", "0"});
	auto streams = openStreams(6);
	ASSERT_EQ(streams.size(), 6u);
	constexpr unsigned kEach = 64;
	for (unsigned i = 0; i < streams.size(); ++i)
		for (unsigned k = 0; k < kEach; ++k)
			ASSERT_TRUE(streams[i].send(message(i, k), 5s)) << "stream " << i << " message " << k;
	ASSERT_TRUE(eventually([&] { return simStatus().find("tx_free=0") != std::string::npos; })) << simStatus();
	// The storm goes on; ampd answers meanwhile.
	auto t0 = std::chrono::steady_clock::now();
	RunResult status = ampctl({"status", kRemote});
	auto took = std::chrono::steady_clock::now() - t0;
	EXPECT_EQ(status.exit, kOk) << status.describe();
	EXPECT_LT(took, 3s);
	std::cout << "    TX buffers exhausted (" << layout() << "): `ampctl status` answered in "
		  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
	simCtl({"resume", "0"});
	for (unsigned i = 0; i < streams.size(); ++i)
		expectEchoes(streams[i], i, kEach);
	EXPECT_NE(simStatus().find("tx_free=256"), std::string::npos) << simStatus();
}

// The same storm, then the remote crashes: the endpoints now answer EPIPE,
// mid-message for the writes ampd retries. Every stream gets its down event
// and end-of-file, nothing is left behind, and the core starts again.
// (Crashes with plain traffic: test_streams.cpp CrashMidTraffic...)
TEST_P(Faults, CrashWithTheTxQueueFull)
{
	ASSERT_TRUE(startEcho());
	const size_t fdsIdle = idleFds();
	simCtl({"hang", "0"});
	auto streams = openStreams(6);
	ASSERT_EQ(streams.size(), 6u);
	for (unsigned i = 0; i < streams.size(); ++i)
		for (unsigned k = 0; k < 64; ++k)
			ASSERT_TRUE(streams[i].send(message(i, k), 5s));
	ASSERT_TRUE(eventually([&] { return simStatus().find("tx_free=0") != std::string::npos; })) << simStatus();
	simCtl({"crash", "0"});
	std::vector<uint8_t> buf(512);
	for (unsigned i = 0; i < streams.size(); ++i) {
		auto got = streams[i].receive(buf, 10s);
		ASSERT_FALSE(got) << "stream " << i << ": a message from a hung remote";
		EXPECT_EQ(got.error().code, ENOTCONN) << "stream " << i << ": " << got.error().message();
		ASSERT_TRUE(streams[i].lastEvent()) << i;
		auto after = streams[i].receive(buf, 10s);
		EXPECT_FALSE(after);
		EXPECT_TRUE(streams[i].over()) << i;
	}
	streams.clear();
	RunResult crashed = ampctl({"wait", kRemote, "crashed", "--timeout", "5"});
	EXPECT_EQ(crashed.exit, kOk) << crashed.describe();
	// A crash with the kernel's recovery off removes nothing: the endpoint
	// nodes stay until the core stops (ampd closes them, never
	// DESTROY_EPT on a dead remote). The next start stops it first.
	RunResult again = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	EXPECT_EQ(again.exit, kOk) << again.describe();
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); })) << testing::PrintToString(endpointNodes());
	EXPECT_EQ(idleFds(), fdsIdle) << ampdFdList();
}

// A link so slow (2 ms a message, `--link-us 2000,0`) that the TX buffers
// run out with nobody hung: eight streams of 200 messages in flight each,
// max_in_flight off, flood it; ampd retries and nothing is lost.
class SlowLink : public FaultTest {
protected:
	SlowLink() { simArgs_ = {"--link-us", "2000,0"}; }
};

TEST_P(SlowLink, TxBuffersRunOutAndNothingIsLost)
{
	ASSERT_TRUE(startEcho({{"max_in_flight", 0}}));
	Process p = stressAsync({"--streams", "8", "--messages", "800", "--min-size", "8", "--max-size", "64", "--window",
				 "200"});
	bool exhausted = false;
	eventually([&] {
		exhausted = simStatus().find("tx_free=0") != std::string::npos;
		return exhausted || p.waitExit(0ms).has_value();
	}, 60s);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	EXPECT_TRUE(exhausted) << "the TX buffers never ran out; the test proves nothing";
	EXPECT_EQ(s.report["lost"], 0);
	EXPECT_EQ(s.report["messages"], 800);
}

// --- the firmware file changed between ampd's check and the kernel's load --

// ampd inspects the file, writes its name to `firmware`, writes `start`; the
// kernel then loads the file by name. ampsim holds that start while the
// test changes the file: ampd must report what the kernel did.
TEST_P(Faults, FirmwareDeletedWhileStarting)
{
	installFirmware("image_victim", "echo");
	ASSERT_TRUE(startDaemon());
	simCtl({"hold-start", "0"});
	Process start = ampctlAsync({"--json", "start", kRemote, "--firmware", "image_victim"});
	simCtl({"wait-held", "0", "10000"});
	ASSERT_EQ(::unlink(sim_.firmwarePath("image_victim").c_str()), 0);
	simCtl({"release", "0"});
	RunResult r = start.wait(10s);
	EXPECT_EQ(r.exit, kNotFound) << r.describe();
	EXPECT_NE((r.out + r.err).find("ENOENT"), std::string::npos) << "the kernel's errno is reported\n" << r.describe();
	EXPECT_EQ(sysState(), "offline");
	std::cout << "    deleted: " << r.out << r.err << "    ampd: " << daemonState() << "\n";
	RunResult again = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(again.exit, kOk) << again.describe();
}

TEST_P(Faults, FirmwareReplacedByJunkWhileStarting)
{
	installFirmware("image_victim", "echo");
	ASSERT_TRUE(startDaemon());
	simCtl({"hold-start", "0"});
	Process start = ampctlAsync({"--json", "start", kRemote, "--firmware", "image_victim"});
	simCtl({"wait-held", "0", "10000"});
	test::writeFile(sim_.firmwarePath("image_victim"), std::string(4096, 'x'));
	simCtl({"release", "0"});
	RunResult r = start.wait(10s);
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_NE((r.out + r.err).find("EINVAL"), std::string::npos) << r.describe();
	EXPECT_EQ(sysState(), "offline");
	std::cout << "    junk: " << r.out << r.err << "    ampd: " << daemonState() << "\n";
	RunResult again = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(again.exit, kOk) << again.describe();
}

// Replaced by a valid image that never announces: the kernel boots it; ampd
// expected the echo's channel, so the start fails at the channel deadline
// and the remote is running-degraded (not "running", not "crashed").
TEST_P(Faults, FirmwareReplacedByAnotherImageWhileStarting)
{
	installFirmware("image_victim", "echo");
	writeConfig(config({{"deadlines", {{"start_to_channel_ms", 500}}}}));
	ASSERT_TRUE(startDaemon());
	simCtl({"hold-start", "0"});
	Process start = ampctlAsync({"--json", "start", kRemote, "--firmware", "image_victim"});
	simCtl({"wait-held", "0", "10000"});
	installFirmware("image_victim", "silent");
	simCtl({"release", "0"});
	RunResult r = start.wait(10s);
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_EQ(daemonState(), "running-degraded");
	std::cout << "    replaced by a silent image: " << r.out << r.err;
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
}

// --- sysfs writes that fail -------------------------------------------------

TEST_P(Faults, FailedStartWriteLeavesTheCoreOfflineAndStartsNextTime)
{
	ASSERT_TRUE(startDaemon());
	for (const std::string err : {"19" /* ENODEV */, "12" /* ENOMEM */, "16" /* EBUSY */}) {
		SCOPED_TRACE("errno " + err);
		simCtl({"fail-start", "0", err});
		RunResult r = ampctl({"--json", "start", kRemote, "--firmware", kEcho});
		// ampctl's exit codes: ENODEV 3 (not found), EBUSY 7, others 1.
		EXPECT_EQ(r.exit, err == "19" ? kNotFound : err == "16" ? kBusy : kFailed) << r.describe();
		EXPECT_EQ(sysState(), "offline");
		std::string code = err == "19" ? "ENODEV" : err == "12" ? "ENOMEM" : "EBUSY";
		EXPECT_NE((r.out + r.err).find(code), std::string::npos) << r.describe();
		EXPECT_EQ(daemonState(), "error");
	}
	RunResult ok = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(ok.exit, kOk) << ok.describe();
	EXPECT_EQ(boots(), 1u);
}

// `firmware` refused with EBUSY: someone else's start got in between ampd's
// look at `state` and its write.
TEST_P(Faults, FailedFirmwareWriteIsReportedAndNothingStarts)
{
	ASSERT_TRUE(startDaemon());
	simCtl({"fail-write", "0", "firmware", "16"});
	RunResult r = ampctl({"--json", "start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(r.exit, kBusy) << r.describe();
	EXPECT_NE((r.out + r.err).find("EBUSY"), std::string::npos) << r.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_EQ(boots(), 0u);
	std::cout << "    firmware write EBUSY: " << r.out << r.err << "    ampd: " << daemonState() << "\n";
	RunResult ok = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(ok.exit, kOk) << ok.describe();
}

// `stop` refused with EINVAL (the kernel's answer when the core is not up:
// someone stopped it first). ampd reports it, reads the state again and,
// the core still running, follows it: running again, so the next stop
// works. (Before: ampd stayed in `error` with the core running and refused
// every stop with EBUSY; nothing re-read the state.)
TEST_P(Faults, FailedStopWriteIsReportedAndTheNextStopWorks)
{
	ASSERT_TRUE(startDaemon());
	ASSERT_EQ(ampctl({"start", kRemote, "--firmware", kEcho}).exit, kOk);
	simCtl({"fail-write", "0", "state", "22"});
	RunResult r = ampctl({"--json", "stop", kRemote});
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_NE((r.out + r.err).find("EINVAL"), std::string::npos) << r.describe();
	EXPECT_EQ(sysState(), "running");
	std::cout << "    stop write EINVAL: " << r.out << r.err;
	RunResult running = ampctl({"wait", kRemote, "running", "--timeout", "5"});
	EXPECT_EQ(running.exit, kOk) << running.describe();
	EXPECT_EQ(boots(), 1u);
	RunResult again = ampctl({"stop", kRemote});
	EXPECT_EQ(again.exit, kOk) << again.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_EQ(daemonState(), "offline");
}

// `recovery` refused: ampd turns the kernel's recovery off for the remotes it
// supervises; a kernel that refuses is logged and the start goes on (the
// restart policy then competes with the kernel's own recovery, which the
// log says).
TEST_P(Faults, FailedRecoveryWriteDoesNotStopTheStart)
{
	ASSERT_TRUE(startDaemon());
	simCtl({"fail-write", "0", "recovery", "22"});
	RunResult r = ampctl({"--json", "start", kRemote, "--firmware", kEcho});
	std::cout << "    recovery write EINVAL: exit " << r.exit << ": " << r.out << r.err;
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_EQ(sysState(), "running");
	EXPECT_NE(daemonLog().find("cannot disable the kernel's recovery"), std::string::npos) << daemonLog();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Faults, AMP_ALL_LAYOUTS);
INSTANTIATE_TEST_SUITE_P(Layouts, SlowLink, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
