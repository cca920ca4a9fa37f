// SPDX-License-Identifier: MIT
// Channel streams end to end: many clients on one remote, each with its own
// endpoint, under load (amp-stream-stress), while the remote stops, crashes
// and comes back, while a client floods, sleeps, misbehaves or is killed; and
// ampctl's channels, send, listen and ping.
//
// Message sizes are 1..496 bytes: a zero-byte write never reaches ampsim
// (FUSE completes it in the VFS, tests/sim/README.md), so 0, which a real
// kernel sends, would be counted sent and never answered here. Where a test
// lets messages be lost (in flight when the remote goes away) they are at
// least 6 bytes, so each carries its own sequence number and a loss is
// counted exactly rather than inferred.
#include "ampd_fixture.h"

#include <amp/client.hpp>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <set>

namespace amp::e2e {
namespace {

class Streams : public MultiEchoTest {
protected:
	static json restartOnFailure()
	{
		return {{"restart",
			 {{"policy", "on-failure"}, {"max_restarts", 1000}, {"window_ms", 60000}, {"backoff_ms", 20}, {"backoff_max_ms", 20}}}};
	}

	Stress stress(const std::vector<std::string> &args, std::chrono::milliseconds deadline = 150s)
	{
		Process p = stressAsync(args);
		return finish(p, deadline);
	}
	// The messages ampd had read from the endpoint of its stream `id` when
	// the stream went down, from its log ("... down (...): endpoint rpmsgK
	// closed after N messages out, M in").
	bool messagesInAtDown(int id, uint64_t &in) const
	{
		std::istringstream log(daemonLog());
		const std::string stream = "stream " + std::to_string(id) + " on ", after = " messages out, ";
		for (std::string line; std::getline(log, line);) {
			size_t at = line.find(stream), out = line.find(after);
			if (at == std::string::npos || out == std::string::npos || line.find(" down (", at) == std::string::npos)
				continue;
			in = std::strtoull(line.c_str() + out + after.size(), nullptr, 10);
			return true;
		}
		return false;
	}

	// Every stream of a run that saw the remote go away `downs` times:
	// reattached ones came back and finished their share, the others ended
	// with end-of-file after their down event.
	static void expectFollowedTheRemote(const Stress &s, unsigned downs)
	{
		ASSERT_TRUE(s.report.is_object()) << s.describe();
		for (const auto &st : s.report["streams"]) {
			SCOPED_TRACE("stream " + st.dump());
			EXPECT_EQ(st["downs"], downs) << "every client gets the down event";
			EXPECT_EQ(st["problems"].size(), 0u);
			EXPECT_GT(st["received"].get<uint64_t>(), 0u);
			if (st["reattach"].get<bool>()) {
				EXPECT_EQ(st["ups"], downs) << "a reattached stream comes back after each down";
				EXPECT_EQ(st["eof"], nullptr);
			} else {
				EXPECT_EQ(st["ups"], 0);
				EXPECT_EQ(st["eof"], true) << "without reattach: end-of-file after the down event";
			}
		}
	}
};

TEST_P(Streams, SixteenClientsEachGetTheirOwnMessagesBack)
{
	ASSERT_TRUE(startEcho());
	auto t0 = std::chrono::steady_clock::now();
	// 16 streams, a Client each, 100000 messages of 1..496 random bytes, 32
	// in flight per stream.
	Stress s = stress({"--streams", "16", "--messages", "100000", "--min-size", "1", "--max-size", "496", "--window", "32"});
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::cout << "    16 streams, 100000 messages: " << seconds << " s with start-up\n";
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	ASSERT_TRUE(s.report.is_object()) << s.describe();
	EXPECT_EQ(s.report["messages"], 100000);
	EXPECT_EQ(s.report["lost"], 0);
	for (const auto &st : s.report["streams"]) {
		EXPECT_EQ(st["sent"], st["received"]) << st.dump();
		EXPECT_EQ(st["bytes_sent"], st["bytes_received"]) << st.dump();
		EXPECT_EQ(st["corrupt"].get<int>() + st["duplicates"].get<int>() + st["misdelivered"].get<int>() +
				  st["missing"].get<int>(),
			  0)
			<< st.dump();
	}
	// Each stream's endpoint went with it.
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }))
		<< "endpoints left: " << testing::PrintToString(endpointNodes());
}

TEST_P(Streams, AFlooderAndASleeperDoNotSlowTheOthers)
{
	// The normal streams keep as many messages in flight as ampd allows any
	// stream (max_in_flight, 64 by default), so the flooder gets no more of
	// the remote than each of them; the sleeper reads nothing until they are
	// done and must not hold them up. Runs alternate (baseline, loaded,
	// baseline, loaded) and the best of each counts, so a burst of load on
	// the machine does not decide the ratio.
	ASSERT_TRUE(startEcho());
	const std::vector<std::string> normal = {"--streams", "4", "--messages", "20000", "--window", "64"};
	std::vector<std::string> loaded = normal;
	loaded.insert(loaded.end(), {"--flooders", "1", "--sleepy", "1"});
	double baseline = 1e9, withOthers = 1e9;
	for (int round = 0; round < 2; ++round) {
		Stress b = stress(normal);
		ASSERT_EQ(b.run.exit, 0) << b.describe();
		baseline = std::min(baseline, b.report["normal_seconds"].get<double>());
		Stress l = stress(loaded);
		ASSERT_EQ(l.run.exit, 0) << "the flooder and the sleeper lose nothing either\n" << l.describe();
		withOthers = std::min(withOthers, l.report["normal_seconds"].get<double>());
		EXPECT_EQ(l.report["messages"], 20000);
		EXPECT_GT(l.report["flooded"].get<uint64_t>(), 0u);
		// The sleeper got some messages in, then ampd stopped reading it
		// (the tool fails at 5000); afterwards it read them all back.
		const json &sleepy = l.stream(5);
		ASSERT_EQ(sleepy["kind"], "sleepy") << l.report.dump();
		EXPECT_GT(sleepy["accepted_while_asleep"].get<uint64_t>(), 0u);
		EXPECT_LT(sleepy["accepted_while_asleep"].get<uint64_t>(), 5000u);
		EXPECT_EQ(sleepy["received"], sleepy["sent"]);
	}
	double ratio = withOthers / baseline;
	std::cout << "    normal streams alone " << baseline << " s, with a flooder and a sleeper " << withOthers
		  << " s: ratio " << ratio << "\n";
	RecordProperty("slowdown_ratio", std::to_string(ratio));
	EXPECT_LE(ratio, 3.0) << "a flooder and a sleeper slowed 4 streams down " << ratio << " times";
}

TEST_P(Streams, StopMidTrafficDownForEveryoneReattachedResume)
{
	ASSERT_TRUE(startEcho());
	// direct, direct+reattach, relay, relay+reattach; each keeps sending
	// until it saw the down (and, reattached, came back).
	Process p = stressAsync({"--streams", "4", "--direct=2", "--reattach=2", "--messages", "4000", "--min-size", "6",
				 "--expect-downs", "1", "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	RunResult stop = ampctl({"stop", kRemote});
	ASSERT_EQ(stop.exit, kOk) << stop.describe();
	ASSERT_TRUE(waitLines(p, "down ", 4)) << p.out();
	RunResult start = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	expectFollowedTheRemote(s, 1);
	EXPECT_EQ(lines(s.run.out, "down stream=0 reason=\"remote stopping\""), 1u) << s.run.out;
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }));
}

TEST_P(Streams, CrashMidTrafficRestartBringsReattachedBack)
{
	ASSERT_TRUE(startEcho(restartOnFailure()));
	Process p = stressAsync({"--streams", "4", "--direct=2", "--reattach=2", "--messages", "4000", "--min-size", "6",
				 "--expect-downs", "1", "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	ASSERT_EQ(sim_.ctl({"crash", "0"}), 0);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	expectFollowedTheRemote(s, 1);
	EXPECT_EQ(lines(s.run.out, "down stream=0 reason=\"remote crashed\""), 1u) << s.run.out;
	RunResult running = ampctl({"wait", kRemote, "running", "--timeout", "10"});
	EXPECT_EQ(running.exit, kOk) << "restarted by the policy\n" << running.describe();
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }));
}

TEST_P(Streams, ASleeperGetsEverythingThenItsDownEventThenEndOfFile)
{
	// A stream ampd stopped reading (its client reads nothing, so ampd's
	// side of the socket holds unread packets) when the remote stops: once
	// the client reads, it must get every message ampd had for it, the down
	// event and end-of-file, in that order. (A socket closed with unread
	// packets makes the kernel report ECONNRESET to the peer before the
	// packets still queued for it.)
	ASSERT_TRUE(startEcho());
	Process p = stressAsync({"--streams", "2", "--sleepy", "1", "--messages", "40000", "--min-size", "6", "--expect-downs",
				 "1", "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	ASSERT_TRUE(waitLines(p, "asleep ", 1)) << p.out();
	RunResult stop = ampctl({"stop", kRemote});
	ASSERT_EQ(stop.exit, kOk) << stop.describe();
	RunResult start = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	const json &sleepy = s.stream(2);
	ASSERT_EQ(sleepy["kind"], "sleepy");
	EXPECT_EQ(sleepy["downs"], 1);
	EXPECT_EQ(sleepy["eof"], true);
	// Every message ampd had read from the endpoint for it: its log says how
	// many at the down. (Lost are those in flight to the remote and those
	// ampd had not read from the client, which the down event covers.)
	uint64_t in = 0;
	ASSERT_TRUE(messagesInAtDown(3, in)) << daemonLog();
	EXPECT_EQ(sleepy["received"], in) << sleepy.dump();
	EXPECT_EQ(sleepy["received"].get<uint64_t>() + sleepy["lost"].get<uint64_t>(), sleepy["sent"].get<uint64_t>());
}

TEST_P(Streams, HundredStopStartCyclesLeakNoFdsNorEndpoints)
{
	ASSERT_TRUE(startEcho());
	// The cycles through a Client of our own: 200 ampctl processes under
	// the sanitizers would be most of this test's time.
	auto connected = Client::connect(socketPath_, "e2e-cycles");
	ASSERT_TRUE(connected) << connected.error().message();
	std::optional<Client> client(std::move(*connected));
	const size_t fdsIdle = idleFds(1);
	// Four streams that stay (reattach), one of them direct, traffic
	// flowing all along.
	Process p = stressAsync({"--streams", "4", "--direct=1", "--reattach", "--window", "8", "--min-size", "6",
				 "--until-signal", "--expect-downs", "100", "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	const size_t fdsOpen = settledFds(4, 1);
	EXPECT_EQ(endpointNodes().size(), 4u);

	auto t0 = std::chrono::steady_clock::now();
	constexpr int kCycles = 100;
	for (int k = 1; k <= kCycles; ++k) {
		auto stop = client->stop(kRemote);
		ASSERT_TRUE(stop) << "cycle " << k << ": " << stop.error().message();
		auto start = client->start(kRemote, StartOptions{kMultiEcho, false});
		ASSERT_TRUE(start) << "cycle " << k << ": " << start.error().message();
		ASSERT_TRUE(waitLines(p, "up ", 4 * size_t(k))) << "cycle " << k << ": not every stream came back\n" << p.out();
	}
	std::cout << "    " << kCycles << " stop/start cycles: "
		  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
	EXPECT_TRUE(eventually([&] { return endpointNodes().size() == 4; }))
		<< "endpoints now: " << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsOpen; }))
		<< "ampd had " << fdsOpen << " fds with the streams open, now " << ampdFds() << ":\n"
		<< ampdFdList();

	p.signal(SIGINT);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	expectFollowedTheRemote(s, kCycles);
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }))
		<< "endpoints left: " << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsIdle; }))
		<< "ampd had " << fdsIdle << " fds before the streams, now " << ampdFds() << ":\n"
		<< ampdFdList();
}

TEST_P(Streams, CrashCyclesLeakNoFdsNorEndpoints)
{
	// Each crash takes ampd up to a second to see (it re-reads `state`
	// once a second; the kernel raises no event), so fewer cycles.
	ASSERT_TRUE(startEcho(restartOnFailure()));
	const size_t fdsIdle = idleFds();
	Process p = stressAsync({"--streams", "4", "--direct=2", "--reattach=2", "--window", "8", "--min-size", "6",
				 "--until-signal", "--expect-downs", "5", "--events"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	// The two streams without reattach end at the first crash.
	ASSERT_EQ(sim_.ctl({"crash", "0"}), 0);
	ASSERT_TRUE(waitLines(p, "up ", 2)) << p.out();
	EXPECT_TRUE(eventually([&] { return endpointNodes().size() == 2; }));
	const size_t fdsTwo = settledFds(2);
	for (int k = 2; k <= 5; ++k) {
		ASSERT_EQ(sim_.ctl({"crash", "0"}), 0);
		ASSERT_TRUE(waitLines(p, "up ", 2 * size_t(k))) << "crash " << k << "\n" << p.out();
	}
	EXPECT_TRUE(eventually([&] { return endpointNodes().size() == 2; }))
		<< "endpoints now: " << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsTwo; })) << "ampd had " << fdsTwo << " fds after the first crash, now "
								       << ampdFds() << ":\n"
								       << ampdFdList();
	p.signal(SIGINT);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	for (const auto &st : s.report["streams"]) {
		EXPECT_EQ(st["downs"], st["reattach"].get<bool>() ? 5 : 1) << st.dump();
		EXPECT_EQ(st["ups"], st["reattach"].get<bool>() ? 5 : 0) << st.dump();
	}
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }));
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsIdle; })) << ampdFdList();
}

TEST_P(Streams, AKilledClientsEndpointGoesTheOthersGoOn)
{
	ASSERT_TRUE(startEcho());
	Process others = stressAsync({"--streams", "3", "--until-signal", "--window", "8"});
	ASSERT_TRUE(waitLines(others, "started", 1)) << others.out();
	const std::set<std::string> before = endpointNodes();
	const size_t fdsBefore = settledFds(3);
	ASSERT_EQ(before.size(), 3u);
	Process victim = stressAsync({"--streams", "1", "--until-signal", "--window", "64"});
	ASSERT_TRUE(waitLines(victim, "started", 1)) << victim.out();
	std::set<std::string> with = endpointNodes();
	std::vector<std::string> its;
	std::set_difference(with.begin(), with.end(), before.begin(), before.end(), std::back_inserter(its));
	ASSERT_EQ(its.size(), 1u) << testing::PrintToString(with);

	victim.signal(SIGKILL);
	EXPECT_EQ(victim.wait(10s).exit, 128 + SIGKILL);
	EXPECT_TRUE(eventually([&] { return endpointNodes() == before; }))
		<< its[0] << " should be gone: " << testing::PrintToString(endpointNodes());
	EXPECT_TRUE(eventually([&] { return ampdFds() == fdsBefore; })) << ampdFdList();
	EXPECT_FALSE(test::exists(sim_.dev(its[0])));

	others.signal(SIGINT);
	Stress s = finish(others);
	ASSERT_EQ(s.run.exit, 0) << "the others lost nothing\n" << s.describe();
	EXPECT_GT(s.report["messages"].get<uint64_t>(), 0u);
}

TEST_P(Streams, DirectModePassesTheEndpointAndDestroysItWithTheStream)
{
	ASSERT_TRUE(startEcho());
	Process p = stressAsync({"--streams", "2", "--direct", "--until-signal", "--window", "8"});
	ASSERT_TRUE(waitLines(p, "started", 1)) << p.out();
	std::set<std::string> nodes = endpointNodes();
	ASSERT_EQ(nodes.size(), 2u);
	// The client holds the kernel endpoints itself.
	std::set<std::string> held;
	std::string dir = "/proc/" + std::to_string(p.pid()) + "/fd/";
	for (const auto &fd : test::listDir(dir)) {
		char target[512] = {};
		if (ssize_t n = ::readlink((dir + fd).c_str(), target, sizeof target - 1); n > 0) {
			std::string t(target, size_t(n));
			for (const auto &node : nodes)
				if (t == sim_.dev(node))
					held.insert(node);
		}
	}
	EXPECT_EQ(held, nodes) << "the stress tool's fds do not include the endpoints";

	p.signal(SIGINT);
	Stress s = finish(p);
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	for (const auto &st : s.report["streams"]) {
		EXPECT_TRUE(st["direct"].get<bool>());
		EXPECT_GT(st["received"].get<uint64_t>(), 0u);
	}
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }))
		<< "ampd destroys a direct stream's endpoint with the stream: " << testing::PrintToString(endpointNodes());
}

TEST_P(Streams, HostilePacketsGetErrorEventsAndTheStreamLivesOn)
{
	ASSERT_TRUE(startEcho());
	// Two streams mix empty packets, packets of an unknown kind and
	// oversize messages (497 and 2999 bytes) into their traffic, the
	// direct one of them also plain messages on its stream socket; each
	// must come back as an error event (EBADMSG, EPROTO, EMSGSIZE, EPROTO)
	// in order, and the stream go on; two plain streams beside them.
	Stress s = stress({"--streams", "2", "--hostile", "2", "--messages", "4000"});
	ASSERT_EQ(s.run.exit, 0) << s.describe();
	uint64_t hostile = 0, direct = 0;
	for (const auto &st : s.report["streams"])
		if (st["kind"] == "hostile") {
			direct += st["direct"].get<bool>();
			EXPECT_GT(st["hostile_sent"].get<uint64_t>(), 0u);
			EXPECT_EQ(st["error_events"], st["hostile_sent"]);
			EXPECT_EQ(st["received"], st["sent"]) << "the stream lived on";
			hostile += st["hostile_sent"].get<uint64_t>();
		}
	EXPECT_GE(hostile, 8u);
	EXPECT_EQ(direct, 1u);
	// ampd is fine: it answers, and TearDown sees it exit cleanly.
	RunResult status = ampctl({"status", kRemote});
	EXPECT_EQ(status.exit, kOk) << status.describe();
}

TEST_P(Streams, AmpctlChannelsSendListenPing)
{
	ASSERT_TRUE(startEcho());
	RunResult channels = ampctl({"channels"});
	EXPECT_EQ(channels.exit, kOk) << channels.describe();
	EXPECT_NE(channels.out.find(kRemote), std::string::npos) << channels.out;
	EXPECT_NE(channels.out.find(kDemoChannel), std::string::npos) << channels.out;
	EXPECT_NE(channels.out.find("0x400"), std::string::npos) << "the echo announces at 0x400\n" << channels.out;
	json list = parseReply(ampctl({"--json", "channels", kRemote}).out);
	ASSERT_TRUE(list.contains("channels")) << list.dump();
	ASSERT_EQ(list["channels"].size(), 1u) << list.dump();
	EXPECT_EQ(list["channels"][0]["channel"], kDemoChannel);
	EXPECT_EQ(list["channels"][0]["dst"], 0x400);

	RunResult text = ampctl({"send", kRemote, kDemoChannel, "hello", "--reply"});
	EXPECT_EQ(text.exit, kOk) << text.describe();
	EXPECT_EQ(text.out, "[5] hello\n");
	RunResult hex = ampctl({"send", kRemote, kDemoChannel, "--hex", "de ad be ef", "--reply", "--direct"});
	EXPECT_EQ(hex.exit, kOk) << hex.describe();
	EXPECT_EQ(hex.out, "[4] de ad be ef\n");
	RunResult quiet = ampctl({"send", kRemote, kDemoChannel, "x"});
	EXPECT_EQ(quiet.exit, kOk) << quiet.describe();
	EXPECT_EQ(quiet.out, "");
	RunResult tooLong = ampctl({"send", kRemote, kDemoChannel, std::string(497, 'x')});
	EXPECT_EQ(tooLong.exit, kUsage) << tooLong.describe();
	RunResult noChannel = ampctl({"send", kRemote, "no-such-channel", "x"});
	EXPECT_EQ(noChannel.exit, kNotFound) << noChannel.describe();
	RunResult noRemote = ampctl({"send", "r9-9", kDemoChannel, "x"});
	EXPECT_EQ(noRemote.exit, kNotFound) << noRemote.describe();

	for (std::string mode : {"relay", "direct"}) {
		std::vector<std::string> args = {"ping", kRemote, kDemoChannel, "--count", "5", "--interval", "0", "--size", "100"};
		if (mode == "direct")
			args.push_back("--direct");
		RunResult ping = ampctl(args);
		EXPECT_EQ(ping.exit, kOk) << mode << "\n" << ping.describe();
		EXPECT_NE(ping.out.find("5 sent, 5 received, 0 lost, 0 corrupt"), std::string::npos) << ping.out;
		args.insert(args.begin(), "--json");
		json j = parseReply(ampctl(args).out);
		EXPECT_EQ(j["received"], 5) << mode << ": " << j.dump();
		EXPECT_EQ(j["lost"], 0) << j.dump();
	}
	RunResult tooBig = ampctl({"ping", kRemote, kDemoChannel, "--count", "1", "--size", "497"});
	EXPECT_EQ(tooBig.exit, kUsage) << tooBig.describe();

	// listen: messages the remote sends on its own. ampsim's `flood` goes
	// to the address the remote heard from last; a send's endpoint gets the
	// lowest free address (idr_alloc, as in the kernel) and frees it at
	// exit, so the listener opened next gets that same address.
	ASSERT_TRUE(eventually([&] { return endpointNodes().empty(); }));
	RunResult hello = ampctl({"send", kRemote, kDemoChannel, "hi", "--reply"});
	ASSERT_EQ(hello.exit, kOk) << hello.describe();
	ASSERT_TRUE(eventually([&] { return endpointNodes().empty(); }));
	auto opened = [&] {
		std::string log = daemonLog();
		size_t n = 0;
		for (size_t at = log.find("opened for"); at != std::string::npos; at = log.find("opened for", at + 1))
			n++;
		return n;
	};
	size_t openedBefore = opened();
	Process listen = ampctlAsync({"listen", kRemote, kDemoChannel, "--count", "3", "--hex", "--timeout", "20"});
	// ampd logs the open once the node is open, which is when the kernel
	// gives the endpoint its address; the node alone appears earlier, at
	// CREATE_EPT, and a flood before the open would find no one there.
	ASSERT_TRUE(eventually([&] { return opened() == openedBefore + 1; })) << "the listener's stream did not open";
	ASSERT_EQ(endpointNodes().size(), 1u);
	ASSERT_EQ(sim_.ctl({"flood", "0", "3", "8"}), 0);
	RunResult heard = listen.wait(20s);
	EXPECT_EQ(heard.exit, kOk) << heard.describe();
	EXPECT_EQ(heard.out, "[8] 00 01 02 03 04 05 06 07\n[8] 01 02 03 04 05 06 07 08\n[8] 02 03 04 05 06 07 08 09\n")
		<< heard.describe();

	// listen follows the remote: down and up with --reattach; without it
	// the stream ends at the down (exit 1, a stream that ended).
	Process staying = ampctlAsync({"listen", kRemote, kDemoChannel, "--reattach"});
	Process leaving = ampctlAsync({"listen", kRemote, kDemoChannel});
	ASSERT_TRUE(eventually([&] { return endpointNodes().size() == 2; }));
	ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	RunResult left = leaving.wait(10s);
	EXPECT_EQ(left.exit, kFailed) << left.describe();
	EXPECT_EQ(left.out, "-- down: remote stopping\n") << left.describe();
	ASSERT_EQ(ampctl({"start", kRemote, "--firmware", kMultiEcho}).exit, kOk);
	EXPECT_TRUE(staying.readUntil([](const std::string &out) { return out.find("-- up: ") != std::string::npos; }, 10s))
		<< staying.out();
	EXPECT_EQ(staying.out().rfind("-- down: remote stopping (waiting for the channel)\n-- up: ", 0), 0u) << staying.out();
	staying.signal(SIGINT);
	RunResult stayed = staying.wait(10s);
	EXPECT_EQ(stayed.exit, kOk) << stayed.describe();
}

TEST_P(Streams, OnlyAllowChannelsMayOpen)
{
	// Numeric ids: no entries in /etc/passwd or /etc/group needed. Both
	// users are in the socket's group and may connect; allow.channels
	// decides who may open a stream.
	constexpr gid_t kGroup = 4242;
	constexpr uid_t kAllowed = 4243;
	constexpr uid_t kNobody = 65534;
	json allow;
	allow["allow"]["channels"][kDemoChannel]["users"] = json::array({kAllowed});
	ASSERT_TRUE(startEcho(allow, {{"socket_group", kGroup}, {"socket_mode", "0660"}}));
	SpawnOptions allowed, stranger;
	allowed.credentials = test::Credentials{kAllowed, kAllowed, {kGroup}};
	stranger.credentials = test::Credentials{kNobody, kNobody, {kGroup}};

	RunResult list = ampctl({"channels"}, stranger);
	EXPECT_EQ(list.exit, kOk) << "listing the channels is open to anyone\n" << list.describe();
	for (std::vector<std::string> args : {std::vector<std::string>{"send", kRemote, kDemoChannel, "hi", "--reply"},
					      {"listen", kRemote, kDemoChannel, "--count", "1"},
					      {"ping", kRemote, kDemoChannel, "--count", "1"}}) {
		RunResult denied = ampctl(args, stranger);
		EXPECT_EQ(denied.exit, kDenied) << args[0] << "\n" << denied.describe();
		EXPECT_NE(denied.err.find("may not open channel"), std::string::npos) << denied.describe();
	}
	RunResult ok = ampctl({"send", kRemote, kDemoChannel, "hi", "--reply"}, allowed);
	EXPECT_EQ(ok.exit, kOk) << ok.describe();
	EXPECT_EQ(ok.out, "[2] hi\n");

	Process denied = stressAsync({"--streams", "1", "--messages", "10"}, stranger);
	RunResult d = denied.wait(20s);
	EXPECT_EQ(d.exit, 3) << d.describe();
	EXPECT_NE(d.err.find("EACCES"), std::string::npos) << d.describe();
	Process fine = stressAsync({"--streams", "2", "--messages", "1000"}, allowed);
	Stress s = finish(fine);
	EXPECT_EQ(s.run.exit, 0) << s.describe();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Streams, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
