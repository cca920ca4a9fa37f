// SPDX-License-Identifier: MIT
// The three OpenAMP demos while other clients use the same remote and the
// same channel through ampd: every demo passes, every other client gets its
// own messages and nobody else's, and the control plane answers throughout.
//
// The stock echo and matmul remotes answer the first Linux address they
// heard from (docs/openamp-demos.md, docs/ampctl.md "The OpenAMP demos"): a
// second client that *sends* on their channel would take the demo's answers
// by the protocol's design, not through ampd. So:
// - the echo test runs against the echo that answers each sender
//   (mkfw --reply-to-sender), beside amp-stream-stress streaming on the same
//   channel and an ampctl ping, all checked byte for byte;
// - matmul and the proxy (rpc) run on their stock firmware beside a listener
//   on their channel that sends nothing: it must hear nothing (the replies
//   reach their sender only); matmul also beside a ping on a second channel
//   the remote announces (ampsim ctl announce, which echoes to the sender).
// ampctl events, wait, status and channels run meanwhile. Sequenced by
// output and exits (the streams' "started", the listener's stream in ampd's
// log, the ping's answers), never by sleeping.
#include "ampd_fixture.h"

#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <sstream>

namespace amp::e2e {
namespace {

const std::string kDemoText = "This is a test string being written to file..";
const std::string kSecondChannel = "rpmsg-second";

size_t count(const std::string &text, const std::string &needle)
{
	size_t n = 0;
	for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
		n++;
	return n;
}

std::function<bool(const std::string &)> contains(const std::string &needle)
{
	return [needle](const std::string &out) { return out.find(needle) != std::string::npos; };
}

// The shell quoting of one word.
std::string shellWord(const std::string &s)
{
	std::string out = "'";
	for (char c : s)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

class DemosShared : public MultiEchoTest {
protected:
	// ampd with the demos' shutdown word, `extra` merged into r5-0's object.
	bool startAmpd(const json &extra = json::object())
	{
		json remote = {{"shutdown", {{"message", "0xEF56A55A"}, {"channel", kDemoChannel}}}};
		remote.merge_patch(extra);
		writeConfig(config(remote));
		return startDaemon();
	}

	// A listener on the demo channel that sends nothing, returned once ampd
	// has opened its stream (its endpoint has an address). ampd logs
	// "stream N on "CHANNEL" opened for client pid P ...: endpoint rpmsgK".
	Process listener(const std::vector<std::string> &extra = {})
	{
		std::vector<std::string> args = {"listen", kRemote, kDemoChannel, "--timeout", "60"};
		args.insert(args.end(), extra.begin(), extra.end());
		Process p = ampctlAsync(args);
		const std::string opened = "opened for client pid " + std::to_string(p.pid()) + " ";
		EXPECT_TRUE(test::waitUntil(
			[&] {
				std::string log = daemonLog();
				size_t at = log.find(opened);
				return at != std::string::npos && log.find(": endpoint ", at) < log.find('\n', at);
			},
			10s))
			<< "the listener's stream did not open\n"
			<< daemonLog();
		return p;
	}
	// SIGINT: exit 0, and not one message printed (its stream events, the
	// `-- down`/`-- up` lines, are no messages).
	static void expectHeardNothing(Process &p)
	{
		ASSERT_TRUE(p.signal(SIGINT));
		RunResult r = p.wait(20s);
		EXPECT_EQ(r.exit, kOk) << r.describe();
		std::istringstream lines(r.out);
		for (std::string line; std::getline(lines, line);)
			EXPECT_EQ(line.rfind("-- ", 0), 0u) << "the listener heard a message meant for another client\n" << r.describe();
	}

	// ampctl ping until SIGINT, its output in a file (one line a round).
	Process pingAsync(const std::string &channel)
	{
		SpawnOptions o;
		o.stdoutPath = pingPath();
		return ampctlAsync({"ping", kRemote, channel, "--interval", "0", "--size", "496"}, o);
	}
	std::string pingPath() const { return dir_.path() + "/ping.out"; }
	bool pingAnswered(size_t n)
	{
		return test::waitUntil([&] { return count(test::readText(pingPath()).value_or(""), " bytes from ") >= n; }, 20s);
	}
	// SIGINT: exit 0, every round answered, intact.
	void expectPingClean(Process &ping)
	{
		ASSERT_TRUE(ping.signal(SIGINT));
		RunResult r = ping.wait(20s);
		std::string out = test::readText(pingPath()).value_or("");
		EXPECT_EQ(r.exit, kOk) << r.describe() << out.substr(out.size() > 2000 ? out.size() - 2000 : 0);
		size_t at = out.find(" sent, ");
		ASSERT_NE(at, std::string::npos) << out;
		size_t begin = out.rfind('\n', at);
		std::string sent = out.substr(begin == std::string::npos ? 0 : begin + 1, at - (begin == std::string::npos ? 0 : begin + 1));
		EXPECT_NE(out.find(sent + " sent, " + sent + " received, 0 lost, 0 corrupt"), std::string::npos) << out.substr(begin);
		EXPECT_GE(std::stoul(sent), 10u);
	}

	// The demos' remotes acknowledge the shutdown word.
	void stopAcknowledged()
	{
		RunResult stop = ampctl({"stop", kRemote});
		EXPECT_EQ(stop.exit, kOk) << stop.describe();
		EXPECT_NE(stop.out.find("the remote acknowledged the shutdown message"), std::string::npos) << stop.describe();
	}
	// ampctl events, SIGINTed: exit 0, these many state changes to each state.
	static void expectEvents(Process &events, size_t running, size_t offline)
	{
		ASSERT_TRUE(events.signal(SIGINT));
		RunResult r = events.wait(10s);
		EXPECT_EQ(r.exit, kOk) << r.describe();
		// not " -> running-degraded", which the rpc demo's channel going
		// after its TERM makes of a running remote
		EXPECT_EQ(count(r.out, " -> running\n") + count(r.out, " -> running ("), running) << r.out;
		EXPECT_EQ(count(r.out, " -> offline"), offline) << r.out;
	}
};

TEST_P(DemosShared, EchoTestBesideStreamsAPingAndControlClientsOnTheSameChannel)
{
	ASSERT_TRUE(startAmpd());
	boot(kMultiEcho);
	// Subscribed now; the first state change is the stop at the end, long
	// after the traffic below.
	Process events = ampctlAsync({"events", kRemote});
	Process waiter = ampctlAsync({"wait", kRemote, "offline", "--timeout", "120"});
	// 4 in flight per stream: the echo test's round trips queue behind
	// the streams' messages, not behind 16 of each.
	Process stress = stressAsync({"--streams", "4", "--window", "4", "--until-signal"});
	ASSERT_TRUE(stress.readUntil(contains("started streams=4\n"), 30s)) << stress.out() << stress.err();
	Process ping = pingAsync(kDemoChannel);
	ASSERT_TRUE(pingAnswered(10)) << test::readText(pingPath()).value_or("");

	RunResult status = ampctl({"status", kRemote});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	EXPECT_NE(status.out.find("State: running"), std::string::npos) << status.describe();
	RunResult echo = ampctl({"echo-test", kRemote, "--rounds", "2"}, {}, 120s);
	EXPECT_EQ(echo.exit, kOk) << echo.describe();
	// 2 x 472 messages of 17..488 bytes, every one back at its sender, intact.
	EXPECT_NE(echo.out.find("\n2 rounds, sizes 1..472, 944 messages, 238360 bytes, 0 errors (0 corrupt, 0 lost)\n"),
		  std::string::npos)
		<< echo.describe();
	RunResult channels = ampctl({"channels", kRemote});
	EXPECT_EQ(channels.exit, kOk) << channels.describe();
	EXPECT_NE(channels.out.find(kDemoChannel), std::string::npos) << channels.describe();

	expectPingClean(ping);
	ASSERT_TRUE(stress.signal(SIGUSR1));
	RunResult s = stress.wait(60s);
	// Each stream's messages back once, in order, intact, on that stream.
	EXPECT_EQ(s.exit, 0) << s.describe();
	json report = parseReply(s.out);
	ASSERT_TRUE(report.contains("streams")) << s.describe();
	for (const auto &st : report["streams"]) {
		EXPECT_GT(st["received"].get<uint64_t>(), 0u) << st.dump();
		EXPECT_EQ(st["received"], st["sent"]) << st.dump();
		EXPECT_EQ(st["lost"], 0) << st.dump();
	}

	EXPECT_FALSE(waiter.waitExit(0ms)) << "ampctl wait offline returned while the remote ran";
	stopAcknowledged();
	EXPECT_EQ(waiter.wait(20s).exit, kOk);
	expectEvents(events, 0, 1);
}

TEST_P(DemosShared, MatmulBesideASilentListenerAndAPingOnASecondChannel)
{
	ASSERT_TRUE(startAmpd());
	boot(kMatmul);
	Process events = ampctlAsync({"events", kRemote});
	Process silent = listener();
	std::string out;
	ASSERT_EQ(sim_.ctl({"announce", kSecondChannel, "0"}, &out), 0) << out;
	RunResult second = ampctl({"wait", kRemote, "--channel", kSecondChannel, "--timeout", "10"});
	ASSERT_EQ(second.exit, kOk) << second.describe();
	Process ping = pingAsync(kSecondChannel);
	ASSERT_TRUE(pingAnswered(10)) << test::readText(pingPath()).value_or("");

	RunResult mm = ampctl({"--json", "matmul", kRemote, "--count", "20", "--seed", "3"}, {}, 60s);
	EXPECT_EQ(mm.exit, kOk) << mm.describe();
	json j = parseReply(mm.out);
	ASSERT_TRUE(j.is_object() && j.contains("results")) << mm.describe();
	EXPECT_EQ(j.value("errors", -1), 0) << mm.describe();
	ASSERT_EQ(j["results"].size(), 20u) << mm.describe();
	for (const auto &x : j["results"]) {
		ASSERT_TRUE(x.contains("product")) << x.dump();
		EXPECT_EQ(x["product"].get<Matrix>(), matrixProduct(x["a"].get<Matrix>(), x["b"].get<Matrix>())) << x.dump();
	}
	RunResult status = ampctl({"status", kRemote});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	EXPECT_NE(status.out.find(kSecondChannel), std::string::npos) << status.describe();

	expectPingClean(ping);
	expectHeardNothing(silent);
	stopAcknowledged();
	expectEvents(events, 0, 1);
}

TEST_P(DemosShared, AmpctlProxyBesideASilentListener)
{
	ASSERT_TRUE(startAmpd());
	boot(kRpc);
	Process events = ampctlAsync({"events", kRemote});
	// reattach: the demo's channel goes with its endpoint after TERM.
	Process silent = listener({"--reattach"});
	const std::string files = dir_.path() + "/files", input = dir_.path() + "/input";
	ASSERT_EQ(::mkdir(files.c_str(), 0755), 0);
	test::writeFile(input, "Alice\n30\n3.14\nno\n");
	std::string cmd = "exec " + shellWord(AMPCTL_BINARY) + " --socket " + shellWord(socketPath_) + " proxy " + kRemote +
			  " --directory " + shellWord(files) + " < " + shellWord(input);
	RunResult run = test::run({"/bin/sh", "-c", cmd}, {}, 60s);
	// 5.10 may drop the demo's TERM with its channel (test_ampctl_proxy.cpp).
	bool termLost = layout() == "5.10" && run.exit == kFailed && run.err.find("the stream went down") != std::string::npos;
	ASSERT_TRUE(run.exit == kOk || termLost) << run.describe() << "\n" << daemonLog();
	if (!termLost) {
		EXPECT_NE(run.err.find("the remote sent TERM (54 requests, 0 refused"), std::string::npos) << run.describe();
	}
	EXPECT_NE(run.out.find("Remote>User name = 'Alice'"), std::string::npos) << run.describe();
	EXPECT_EQ(test::readText(files + "/remote.file"), kDemoText);
	EXPECT_EQ(test::listDir(files), std::vector<std::string>{"remote.file"});

	RunResult status = ampctl({"status", kRemote});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	expectHeardNothing(silent);
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	expectEvents(events, 0, 1);
}

TEST_P(DemosShared, TheProxyServiceBesideAListenerWaitingForTheChannel)
{
	const std::string files = dir_.path() + "/proxy-files", console = dir_.path() + "/console.log";
	ASSERT_TRUE(startAmpd({{"proxy",
				{{"enabled", true},
				 {"channel", kDemoChannel},
				 {"directory", files},
				 {"console", "file:" + console}}}}));
	// Waiting for the channel before it comes: its endpoint comes with
	// ampd's own, and the demo answers only ampd's (its init_msg).
	Process silent = ampctlAsync({"listen", kRemote, kDemoChannel, "--reattach", "--timeout", "60"});
	ASSERT_TRUE(test::waitUntil([&] { return daemonLog().find("opened for client pid " + std::to_string(silent.pid()) + " ") != std::string::npos; },
				    10s))
		<< daemonLog();
	Process events = ampctlAsync({"events", kRemote});
	boot(kRpc);
	ASSERT_TRUE(test::waitUntil([&] { return daemonLog().find("proxy session over (") != std::string::npos; }, 30s)) << daemonLog();
	EXPECT_EQ(test::readText(files + "/remote.file"), kDemoText);
	EXPECT_EQ(test::listDir(files), std::vector<std::string>{"remote.file"});
	std::string text = test::readText(console).value_or("");
	EXPECT_NE(text.find("Read from fd = 3, size = 45, printing contents below .. " + kDemoText), std::string::npos) << text;
	EXPECT_EQ(daemonLog().find(": refused "), std::string::npos) << daemonLog();

	RunResult status = ampctl({"status", kRemote});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	expectHeardNothing(silent);
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	// The events subscription may come after the start: only the stop counts.
	ASSERT_TRUE(events.signal(SIGINT));
	RunResult ev = events.wait(10s);
	EXPECT_EQ(ev.exit, kOk) << ev.describe();
	EXPECT_NE(ev.out.find(" -> offline"), std::string::npos) << ev.out;
}

INSTANTIATE_TEST_SUITE_P(Layouts, DemosShared, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
