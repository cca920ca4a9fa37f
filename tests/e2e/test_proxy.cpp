// SPDX-License-Identifier: MIT
// The proxy service end to end: ampd serves ampsim's rpc demo (rpc_demo.c)
// on each kernel layout, with its files confined to the configured directory.
#include "ampd_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace amp::e2e {
namespace {

using test::layoutTestName;

// What the demo writes to remote.file, then reads back and prints.
const std::string kDemoText = "This is a test string being written to file..";

class Proxy : public AmpdTest {
protected:
	std::string proxyDir() const { return dir_.path() + "/proxy-files"; }
	std::string consolePath() const { return dir_.path() + "/console.log"; }
	json proxyConfig(const std::string &console, const json &more = json::object())
	{
		json proxy = {{"enabled", true},
			      {"channel", kDemoChannel},
			      {"directory", proxyDir()},
			      {"max_open_files", 4},
			      {"console", console}};
		proxy.update(more);
		return config({{"proxy", proxy}});
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
	bool sessionsOver(size_t n, std::chrono::milliseconds deadline = 30s)
	{
		bool over = test::waitUntil(
			[&] {
				std::string log = daemonLog();
				return count(log, "proxy session over (") >= n && count(log, "proxy endpoint ") >= n;
			},
			deadline);
		if (over && layout() != "5.10") {
			EXPECT_EQ(count(daemonLog(), "proxy session over (the remote sent TERM)"), n);
		}
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

// What the rpcprobe firmware prints (tests/sim/README.md "rpcprobe"), with
// max_open_files kProbeCap: every attack answered -1, garbage the protocol
// has no reply to left unanswered, the cap held, and a normal session after.
constexpr int kProbeCap = 24;
const std::string kProbeConsole = "probe start\n"
				  "probe open ../../etc/passwd = -1\n"
				  "probe open /etc/passwd = -1\n"
				  "probe open escape = -1\n"
				  "probe open sub/../../outside = -1\n"
				  "probe open flags 0x7ff00041 = -1\n"
				  "probe open mode 0x7fffffff = -1\n"
				  "probe garbage setup = ok\n"
				  "probe garbage empty = no reply\n"
				  "probe garbage short-3 = no reply\n"
				  "probe garbage truncated-header = -1\n"
				  "probe garbage unknown-id = no reply\n"
				  "probe garbage open-datalen = -1\n"
				  "probe garbage open-max-size = -1\n"
				  "probe garbage read-huge = 10 data_len 10 message 26 data 0123456789\n"
				  "probe garbage read-negative = -1\n"
				  "probe garbage write-length = -1\n"
				  "probe garbage write-datalen = -1\n"
				  "probe garbage close-unopened = -1\n"
				  "probe garbage read-unopened = -1\n"
				  "probe garbage cleanup = ok\n"
				  "probe cap opened=24 refused=976 closed=24\n"
				  "probe readback ok\n"
				  "probe done\n";

// The numbers after `key` in each line of `text` that has it, summed ("985 refusals not logged").
uint64_t sumBefore(const std::string &text, const std::string &key)
{
	uint64_t sum = 0;
	for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1)) {
		size_t start = text.find_last_not_of("0123456789", pos - 1) + 1;
		if (start < pos)
			sum += std::stoull(text.substr(start, pos - start));
	}
	return sum;
}

TEST_P(Proxy, AHostileRemoteIsRefusedEverywhereAndTheServiceSurvives)
{
	ASSERT_EQ(::mkdir(proxyDir().c_str(), 0750), 0);
	// The symlink planted in the directory points at a file of ours outside.
	const std::string outside = dir_.path() + "/precious";
	test::writeFile(outside, "do not touch\n");
	ASSERT_EQ(::symlink(outside.c_str(), (proxyDir() + "/escape").c_str()), 0);
	installFirmware("rpcprobe.elf", "rpcprobe");
	writeConfig(proxyConfig("file:" + consolePath(), {{"max_open_files", kProbeCap}}));
	ASSERT_TRUE(startDaemon());

	RunResult start = ampctl({"start", kRemote, "--firmware", "rpcprobe.elf"});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(1, 120s)) << "the probe never ended";
	// Each line is the answer to one request: the whole transcript, exactly.
	EXPECT_EQ(test::readText(consolePath()).value_or("(none)"), kProbeConsole);

	// Inside the directory: what the probe was allowed to make, nothing else.
	std::vector<std::string> want{"escape", "probe-garbage", "probe-ok"};
	for (int i = 0; i < kProbeCap; i++)
		want.push_back("probe-" + std::to_string(i));
	std::sort(want.begin(), want.end());
	std::vector<std::string> got = test::listDir(proxyDir());
	std::sort(got.begin(), got.end());
	EXPECT_EQ(got, want);
	EXPECT_EQ(test::readText(proxyDir() + "/probe-garbage"), "0123456789"); // no hostile WRITE landed
	EXPECT_EQ(test::readText(proxyDir() + "/probe-ok"), "rpcprobe readback: the proxy kept this intact");
	// Outside it: the symlink's target untouched, "sub/../../outside" not made.
	EXPECT_EQ(test::readText(outside), "do not touch\n");
	EXPECT_FALSE(test::exists(dir_.path() + "/outside"));
	EXPECT_FALSE(test::exists(proxyDir() + "/sub"));

	// ampd said why for each attack, until the rate limit (20 lines per
	// 10 s) held the rest back and counted them: every refusal is a line or
	// in a count. 6 opens refused, 8 calls refused in the garbage, the
	// opens past the cap; 3 messages with no call to answer ignored.
	std::string log = daemonLog();
	for (const char *line : {
		     "refused OPEN \"../../etc/passwd\" flags 0x0 mode 00: '..' in the path",
		     "refused OPEN \"/etc/passwd\" flags 0x0 mode 00: absolute path",
		     "refused OPEN \"escape\" flags 0x241 mode 0644: a symlink in the path (symlinks are not followed)",
		     "refused OPEN \"sub/../../outside\" flags 0x41 mode 0644: '..' in the path",
		     "refused OPEN \"probe-flags\" flags 0x7ff00041 mode 0600: flags 0x7ff00000 not allowed",
		     "refused OPEN \"probe-mode\" flags 0x41 mode 017777777777: mode 017777777777 is not a file mode",
		     "ignored a 0-byte message",
		     "ignored a 3-byte message",
		     "refused OPEN: malformed: OPEN: 8-byte message, shorter than the 16-byte header",
		     "ignored a 16-byte message: unknown call id 99",
		     "refused OPEN: malformed: OPEN: data_len 400 runs past the 9 data bytes that came",
		     "refused OPEN: malformed: OPEN: path is not NUL-terminated within data_len 480",
		     "refused READ: malformed: READ: negative length -1",
		     "refused WRITE: malformed: WRITE: length 100 is more than the 10 data bytes sent",
		     "refused WRITE: malformed: WRITE: data_len 1000 runs past the 10 data bytes that came",
		     "refused CLOSE 77: not an open file",
		     "refused READ 1000: not an open file",
		     "too many open files (max_open_files 24)",
	     })
		EXPECT_NE(log.find(line), std::string::npos) << line << "\n" << log;
	const uint64_t refused = 6 + 8 + (1000 - kProbeCap);
	const std::string summary = std::to_string(refused) + " refused (9 malformed), " + std::to_string(kProbeCap + 4) +
				    " files opened";
	EXPECT_NE(log.find(summary), std::string::npos) << summary << "\n" << log;
	uint64_t logged = count(log, ": refused ") + count(log, ": ignored a ");
	uint64_t counted = sumBefore(log, " more refusals not logged") + sumBefore(log, " refusals not logged (rate limit)");
	EXPECT_EQ(logged + counted, refused + 3) << logged << " lines, " << counted << " counted\n" << log;
	EXPECT_LT(logged, 100u); // 20 lines per 10 s: the run takes seconds, not minutes

	// Nothing leaks: no file of the directory, no endpoint stays. (The
	// first session leaves the directory's own O_PATH fd, kept for the next
	// ones, and a timer of the loop: the count is judged after the next
	// session, against this one's.)
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	const std::string fdDir = "/proc/" + std::to_string(ampd_.pid()) + "/fd";
	for (const std::string &fd : test::listDir(fdDir)) {
		char target[4096];
		ssize_t n = ::readlink((fdDir + "/" + fd).c_str(), target, sizeof target - 1);
		std::string t(target, n > 0 ? size_t(n) : 0);
		EXPECT_EQ(t.rfind(proxyDir() + "/", 0), std::string::npos) << "ampd still holds " << t;
		EXPECT_EQ(t.find("rpmsg"), std::string::npos) << "ampd still holds " << t;
	}
	const size_t fds = settledFds();

	// And the service goes on: the rpc demo after it, served as ever.
	start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(2));
	EXPECT_EQ(test::readText(proxyDir() + "/remote.file"), kDemoText);
	EXPECT_NE(test::readText(consolePath()).value_or("").find("Read from fd = 3, size = 45, printing contents below .. " +
								  kDemoText),
		  std::string::npos);
	stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
	EXPECT_TRUE(eventually([&] { return ampdFds() == fds; })) << fds << " before, now:\n" << ampdFdList();
}

// console_max_bytes: the demo prints more than 1 KiB (more still at the
// end of its input); the file stops at the cap, the demo runs to its TERM.
TEST_P(Proxy, AFileConsoleStopsAtConsoleMaxBytesAndTheDemoRunsOn)
{
	test::writeFile(consolePath(), std::string(100, '#') + "\n");
	writeConfig(proxyConfig("file:" + consolePath(), {{"console_max_bytes", 1024}}));
	ASSERT_TRUE(startDaemon());
	RunResult start = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(start.exit, kOk) << start.describe();
	ASSERT_TRUE(sessionsOver(1));
	std::string console = test::readText(consolePath()).value_or("");
	EXPECT_EQ(console.size(), 1024u);
	EXPECT_EQ(console.rfind(std::string(100, '#') + "\n\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration", 0), 0u)
		<< console;
	EXPECT_EQ(console.find("going down"), std::string::npos); // past the cap
	// The demo's own file is unaffected by the console's cap.
	EXPECT_EQ(test::readText(proxyDir() + "/remote.file"), kDemoText);
	std::string log = daemonLog();
	EXPECT_EQ(count(log, "reached console_max_bytes (1024 bytes)"), 1u) << log;
	EXPECT_NE(log.find("bytes of the remote's output dropped at console_max_bytes (1024)"), std::string::npos) << log;
	EXPECT_EQ(log.find(": refused "), std::string::npos) << log;
	RunResult stop = ampctl({"stop", kRemote});
	EXPECT_EQ(stop.exit, kOk) << stop.describe();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Proxy, ::testing::Values("6.1", "5.15", "5.10"), layoutTestName);

} // namespace
} // namespace amp::e2e
