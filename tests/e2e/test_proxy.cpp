// SPDX-License-Identifier: MIT
// The proxy service end to end: ampd serves ampsim's rpc demo (rpc_demo.c)
// on each kernel layout, with its files confined to the configured directory.
#include "ampd_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

namespace amp::e2e {
namespace {

using test::layoutTestName;

// What the demo writes to remote.file, then reads back and prints.
const std::string kDemoText = "This is a test string being written to file..";

class Proxy : public AmpdTest {
protected:
	std::string proxyDir() const { return dir_.path() + "/proxy-files"; }
	std::string consolePath() const { return dir_.path() + "/console.log"; }
	json proxyConfig(const std::string &console)
	{
		return config({{"proxy",
				{{"enabled", true},
				 {"channel", kDemoChannel},
				 {"directory", proxyDir()},
				 {"max_open_files", 4},
				 {"console", console}}}});
	}
	size_t count(const std::string &text, const std::string &needle) const
	{
		size_t n = 0;
		for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
			n++;
		return n;
	}
	// The demo ends with TERM and releases its endpoint; ampd then ends the
	// session and its endpoint goes with the channel. Nothing announces
	// that to a test but ampd's log. On 5.10 ampd's endpoint hangs off the
	// channel and the TERM queued as the demo releases its endpoint is
	// dropped with it (kernel-abi.md 3): the session ends as the endpoint
	// goes instead.
	bool sessionsOver(size_t n)
	{
		bool over = test::waitUntil(
			[&] {
				std::string log = daemonLog();
				return count(log, "proxy session over (") >= n && count(log, "proxy endpoint ") >= n;
			},
			30s);
		if (over && layout() != "5.10")
			EXPECT_EQ(count(daemonLog(), "proxy session over (the remote sent TERM)"), n);
		return over;
	}
};

TEST_P(Proxy, TheDemoMakesItsFileInsideTheDirectoryAndPrintsToTheConsoleFile)
{
	writeConfig(proxyConfig("file:" + consolePath()));
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(1)) << "no TERM from the demo";

	EXPECT_EQ(test::readText(proxyDir() + "/remote.file"), kDemoText);
	EXPECT_EQ(test::listDir(proxyDir()), std::vector<std::string>{"remote.file"});
	EXPECT_FALSE(test::exists(dir_.path() + "/remote.file"));
	EXPECT_FALSE(test::exists(dir_.path() + "/state/remote.file"));
	std::string console = test::readText(consolePath()).value_or("");
	EXPECT_NE(console.find("Remote>Baremetal Remote Procedure Call (RPC) Demonstration"), std::string::npos) << console;
	EXPECT_NE(console.find("Remote>Opened file 'remote.file' with fd = 3"), std::string::npos) << console;
	EXPECT_NE(console.find("Read from fd = 3, size = 45, printing contents below .. " + kDemoText), std::string::npos)
		<< console;
	// The console has no input: fd 0 reads end-of-file, and the demo's
	// console loop ends (the simulator ends it, see the sim's rpc app).
	EXPECT_NE(console.find("Firmware's rpmsg-rpc-channel going down!"), std::string::npos) << console;
	EXPECT_NE(sim_.stderrText().find("stdin at EOF"), std::string::npos) << sim_.stderrText();
	std::string log = daemonLog();
	EXPECT_EQ(log.find(": refused "), std::string::npos) << log;
	EXPECT_FALSE(sim_.hasChannel(kDemoChannel));

	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_EQ(sysState(), "offline");
}

TEST_P(Proxy, JournalConsoleAndANewSessionAfterARestart)
{
	writeConfig(proxyConfig("journal"));
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(1));
	// ampd logs to stderr here: the console lines are in its log.
	std::string log = daemonLog();
	EXPECT_NE(log.find("r5-0 console: Remote>Baremetal Remote Procedure Call (RPC) Demonstration"), std::string::npos)
		<< log;

	// The channel comes back with the next boot: a new session, the same
	// directory (the demo appends).
	RunResult restart = ampctl({"restart", kRemote});
	ASSERT_EQ(restart.exit, kOk) << restart.describe();
	ASSERT_TRUE(sessionsOver(2));
	EXPECT_EQ(test::readText(proxyDir() + "/remote.file"), kDemoText + kDemoText);
	EXPECT_NE(daemonLog().find("session 2"), std::string::npos);
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
}

TEST_P(Proxy, ASymlinkPlantedInTheDirectoryIsRefusedAndTheFileOutsideUntouched)
{
	ASSERT_EQ(::mkdir(proxyDir().c_str(), 0750), 0);
	const std::string outside = dir_.path() + "/precious";
	test::writeFile(outside, "do not touch\n");
	ASSERT_EQ(::symlink(outside.c_str(), (proxyDir() + "/remote.file").c_str()), 0);
	writeConfig(proxyConfig("file:" + consolePath()));
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(1));

	EXPECT_EQ(test::readText(outside), "do not touch\n");
	std::string log = daemonLog();
	EXPECT_NE(log.find("refused OPEN \"remote.file\" flags 0x441 mode 0600: a symlink in the path"), std::string::npos)
		<< log;
	// The demo got -1 and said so.
	std::string console = test::readText(consolePath()).value_or("");
	EXPECT_NE(console.find("Opened file 'remote.file' with fd = -1"), std::string::npos) << console;
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
}

TEST_P(Proxy, AnAdoptedRemoteIsServedWithTheConsoleOnAmpdsStdout)
{
	ASSERT_TRUE(startDaemon()); // no proxy configured yet
	RunResult start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	// The demo waits for Linux's first message, which nobody sent. An ampd
	// that has the proxy configured adopts the running remote and serves it.
	killDaemon();
	writeConfig(proxyConfig("terminal"));
	ASSERT_TRUE(restartDaemon());
	ASSERT_TRUE(sessionsOver(1));
	EXPECT_EQ(test::readText(proxyDir() + "/remote.file"), kDemoText);
	// "terminal" in ampd is its stdout (here the log file) and its stdin
	// (here /dev/null: end-of-file).
	std::string log = daemonLog();
	EXPECT_NE(log.find("\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n"), std::string::npos) << log;
	EXPECT_EQ(log.find("console: Remote>"), std::string::npos) << log;
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Proxy, ::testing::Values("6.1", "5.15", "5.10"), layoutTestName);

} // namespace
} // namespace amp::e2e
