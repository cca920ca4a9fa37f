// SPDX-License-Identifier: MIT
// The soak: a bounded run that stops by itself, of 1,000,000 messages over
// 16 clients on one remote while two other remotes are stopped and started
// 1000 times in all under streams that follow them, checking that no
// message is lost, reordered or corrupted, and that neither ampd nor ampsim
// grows in memory or file descriptors from warm-up to the end.
//
// Three remotes of one simulated 6.1 kernel, all running the echo that
// answers each sender: r5-0 carries the traffic (amp-stream-stress, which
// checks every message), r5-1 and r5-2 are cycled at the same time, each
// through a libamp Client of its own, while two reattached streams (one
// relay, one direct) keep sending on each: every cycle must bring both
// back. All of it shares ampd's one loop, so the cycles run among a million
// messages rather than in a quiet daemon.
//
// Memory under the sanitizers: this suite runs on the ASan build (the one
// tests/run.sh makes; a second, unsanitized build only for this would cost
// CI more than the whole soak). ASan's quarantine keeps freed chunks out of
// reuse until 256 MB of them have piled up, so with the defaults RSS would
// climb with every free for the whole run and a real leak could not be told
// from it. The daemons here therefore run with quarantine_size_mb=0 and
// thread_local_quarantine_size_kb=0: a freed chunk is reused at once, and
// ASan's allocator, which keeps what it mapped, makes RSS follow the peak of
// the live heap (plus its shadow, a fixed 1/8 of it). Use-after-free is left
// to the other suites, which keep the quarantine; LeakSanitizer still runs
// at ampd's exit (TearDown wants exit 0) for memory nothing points to. What
// the RSS bound adds is growth that something still points to: a list, a
// map, a buffer kept per message, per stream or per cycle.
//
// The bound: after a warm-up of the same loads (so every pool, ring and
// allocator size class has been touched), RSS may grow by at most
// kRssSlackKb (4 MiB). A leak of even 8 bytes a message (an ASan chunk is
// at least 16 bytes plus its redzone, so in fact 32) over 1,000,000
// messages is 8+ MB; 4 KiB a cycle over 1000 cycles is 4 MB. The fds must
// come back to exactly what they were.
//
// Longer runs: AMP_SOAK_MESSAGES and AMP_SOAK_CYCLES (tests/e2e/README.md, "Soak");
// run the binary directly then, ctest's timeout is for the default.
#include "../e2e/ampd_fixture.h"

#include <amp/client.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace amp::e2e {
namespace {

// The remotes stopped and started; the cycles are split between them and
// run at the same time: a cycle waits on the simulated kernel more than on
// the CPU, so two at once halve the cycles' time, and ampd gets two state
// machines moving at once among the traffic. (The first runs with two made
// ampsim read freed memory, an rpmsg channel's `name` read as the channel
// went; fixed in tests/sim/vfs.cpp.)
const std::vector<std::string> kCycled = {"r5-1", "r5-2"};

// Growth of VmRSS allowed from warm-up to the end (see the top of the file).
constexpr long kRssSlackKb = 4096;
// ampsim, the test's kernel, is held to a looser bound: it is not what is
// under test, and its RSS grows by 1.5-3 MB with the peak of endpoints and
// queued messages it saw (measured); a leak per message would still exceed it.
constexpr long kSimRssSlackKb = 8192;

uint64_t fromEnv(const char *name, uint64_t fallback)
{
	const char *v = std::getenv(name);
	if (!v || !*v)
		return fallback;
	char *end = nullptr;
	unsigned long long n = std::strtoull(v, &end, 10);
	return end && *end == '\0' && n > 0 ? n : fallback;
}

// What /proc says about one process at one moment.
struct Footprint {
	long rssKb = -1, hwmKb = -1;
	size_t fds = 0;
	double cpuSeconds = 0; // user + system, since the process started

	static Footprint of(pid_t pid)
	{
		Footprint f;
		std::ifstream status("/proc/" + std::to_string(pid) + "/status");
		for (std::string line; std::getline(status, line);) {
			if (line.rfind("VmRSS:", 0) == 0)
				f.rssKb = std::strtol(line.c_str() + 6, nullptr, 10);
			else if (line.rfind("VmHWM:", 0) == 0)
				f.hwmKb = std::strtol(line.c_str() + 6, nullptr, 10);
		}
		f.fds = test::listDir("/proc/" + std::to_string(pid) + "/fd").size();
		std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
		std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
		if (size_t close = text.rfind(')'); close != std::string::npos) {
			// Fields 3.. after the command: state is 3, utime 14, stime 15.
			std::istringstream rest(text.substr(close + 2));
			std::string field;
			unsigned long long utime = 0, stime = 0;
			for (int i = 3; i <= 15 && rest >> field; ++i) {
				if (i == 14)
					utime = std::stoull(field);
				if (i == 15)
					stime = std::stoull(field);
			}
			f.cpuSeconds = double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
		}
		return f;
	}
};

std::string describe(const std::string &who, const Footprint &a, const Footprint &b)
{
	std::ostringstream s;
	s << who << ": VmRSS " << a.rssKb << " -> " << b.rssKb << " kB (" << std::showpos << (b.rssKb - a.rssKb)
	  << std::noshowpos << "), VmHWM " << a.hwmKb << " -> " << b.hwmKb << " kB, fds " << a.fds << " -> " << b.fds
	  << ", CPU " << std::fixed << std::setprecision(1) << (b.cpuSeconds - a.cpuSeconds) << " s";
	return s.str();
}

class Soak : public AmpdFixture {
protected:
	std::string layout() const override { return "6.1"; }

	void SetUp() override
	{
		// See the top of the file; the test binary itself is not measured.
		std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
		asan += std::string(asan.empty() ? "" : ":") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
		::setenv("ASAN_OPTIONS", asan.c_str(), 1);
		// A core for r5-0 (remoteproc0), one for each cycled remote.
		simArgs_ = {"--remote", "ffe00000.r5f"};
		for (size_t i = 0; i < kCycled.size(); ++i)
			simArgs_.insert(simArgs_.end(), {"--remote", "ffe0" + std::to_string(i + 1) + "000.r5f"});
		AmpdFixture::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		installMultiEcho();
	}

	// ampd with r5-0 and r5-1, both running the echo that answers each sender.
	bool startBoth()
	{
		json c = config();
		for (size_t i = 0; i < kCycled.size(); ++i)
			c["remotes"][kCycled[i]] = {{"remoteproc", i + 1}};
		writeConfig(c);
		if (!startDaemon())
			return false;
		std::vector<std::string> all = kCycled;
		all.insert(all.begin(), kRemote);
		for (const std::string &remote : all) {
			RunResult start = ampctl({"start", remote, "--firmware", kMultiEcho});
			EXPECT_EQ(start.exit, kOk) << remote << "\n" << start.describe();
			if (start.exit != kOk)
				return false;
		}
		return true;
	}

	static json report(const RunResult &r)
	{
		json j = parseReply(r.out);
		std::istringstream in(r.out);
		for (std::string line; std::getline(in, line);)
			if (line.rfind("amp-stream-stress:", 0) == 0)
				std::cout << "    " << line << "\n";
		return j.is_object() && j.contains("streams") ? j : json();
	}
	std::string fdList(pid_t pid) const
	{
		std::string list, dir = "/proc/" + std::to_string(pid) + "/fd/";
		for (const auto &fd : test::listDir(dir)) {
			char target[512] = {};
			ssize_t n = ::readlink((dir + fd).c_str(), target, sizeof target - 1);
			list += fd + " -> " + (n > 0 ? std::string(target, size_t(n)) : "?") + "\n";
		}
		return list;
	}

	struct Round {
		uint64_t messages = 0;
		unsigned cycles = 0;
		double seconds = 0;
		std::vector<long> rssEvery100; // ampd's VmRSS about every 100 cycles
	};

	// `cycles` stop/start cycles of `remote` through a Client of its own,
	// each ending when both of `follower`'s streams are back. Runs on a
	// thread of its own: failures are recorded, `false` says to stop.
	bool cycle(const std::string &remote, unsigned cycles, Process &follower, std::vector<long> *rss)
	{
		auto client = Client::connect(socketPath_, "soak-cycles-" + remote);
		if (!client) {
			ADD_FAILURE() << remote << ": " << client.error().message();
			return false;
		}
		for (unsigned k = 1; k <= cycles; ++k) {
			auto stop = client->stop(remote);
			if (!stop) {
				ADD_FAILURE() << remote << " cycle " << k << ": " << stop.error().message();
				return false;
			}
			auto start = client->start(remote, StartOptions{kMultiEcho, false});
			if (!start) {
				ADD_FAILURE() << remote << " cycle " << k << ": " << start.error().message();
				return false;
			}
			// Both streams saw the remote go and come back.
			if (!follower.readUntil([&](const std::string &out) { return lines(out, "up ") >= 2 * size_t(k); }, 60s)) {
				const std::string &out = follower.out();
				ADD_FAILURE() << remote << " cycle " << k << ": not every stream came back\n"
					      << out.substr(out.size() > 4000 ? out.size() - 4000 : 0);
				return false;
			}
			if (rss && k % (100 / kCycled.size()) == 0)
				rss->push_back(Footprint::of(ampd_.pid()).rssKb);
		}
		return true;
	}

	// One round of the loads, back to the quiet state (every remote
	// running, no stream, no endpoint) at the end: `messages` over 16
	// streams on r5-0, and `cycles` stop/start cycles split between the
	// cycled remotes, cycled at the same time.
	void round(uint64_t messages, unsigned cycles, Round &result)
	{
		auto t0 = std::chrono::steady_clock::now();
		// 16 streams, a Client each, sizes 1..496, 32 in flight each.
		Process traffic = stressAsync({"--streams", "16", "--messages", std::to_string(messages), "--min-size", "1", "--max-size",
					"496", "--window", "32"},
				       kRemote, 3600);
		// The cycles split evenly between the cycled remotes.
		const size_t n = kCycled.size();
		std::vector<unsigned> share(n, cycles / unsigned(n));
		share[0] += cycles % unsigned(n);
		// Two streams on each cycled remote, reattached, one of them
		// direct; at least 6 bytes, so a loss at a down is counted exactly.
		std::vector<Process> followers;
		for (size_t i = 0; i < n; ++i) {
			followers.push_back(stressAsync({"--streams", "2", "--direct=1", "--reattach", "--window", "8", "--min-size",
							 "6", "--until-signal", "--expect-downs", std::to_string(share[i]), "--events"},
							kCycled[i], 3600));
			ASSERT_TRUE(followers[i].readUntil([](const std::string &out) { return lines(out, "started") >= 1; }, 60s))
				<< followers[i].out() << followers[i].err();
		}
		std::vector<char> ok(n, 0);
		std::vector<std::thread> others;
		for (size_t i = 1; i < n; ++i)
			others.emplace_back([&, i] { ok[i] = cycle(kCycled[i], share[i], followers[i], nullptr); });
		ok[0] = cycle(kCycled[0], share[0], followers[0], &result.rssEvery100);
		for (auto &t : others)
			t.join();
		ASSERT_TRUE(std::all_of(ok.begin(), ok.end(), [](char c) { return c; }));
		for (size_t i = 0; i < n; ++i) {
			followers[i].signal(SIGINT);
			RunResult followed = followers[i].wait(120s);
			ASSERT_EQ(followed.exit, 0) << followed.describe();
			json f = report(followed);
			ASSERT_TRUE(f.is_object()) << followed.describe();
			for (const auto &st : f["streams"]) {
				EXPECT_EQ(st["downs"], share[i]) << st.dump();
				EXPECT_EQ(st["ups"], share[i]) << st.dump();
				EXPECT_EQ(st["problems"].size(), 0u) << st.dump();
			}
		}

		RunResult carried = traffic.wait(3600s);
		ASSERT_EQ(carried.exit, 0) << carried.describe();
		json t = report(carried);
		ASSERT_TRUE(t.is_object()) << carried.describe();
		EXPECT_EQ(t["messages"], messages);
		EXPECT_EQ(t["lost"], 0);
		for (const auto &st : t["streams"]) {
			EXPECT_EQ(st["sent"], st["received"]) << st.dump();
			EXPECT_EQ(st["bytes_sent"], st["bytes_received"]) << st.dump();
			EXPECT_EQ(st["corrupt"].get<int>() + st["duplicates"].get<int>() + st["misdelivered"].get<int>() +
					  st["missing"].get<int>(),
				  0)
				<< st.dump();
		}
		result.messages += t["messages"].get<uint64_t>();
		result.cycles += cycles;
		result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		// Every stream's endpoint went with it.
		EXPECT_TRUE(test::waitUntil([&] { return endpointNodes().empty(); }, 10s))
			<< "endpoints left: " << testing::PrintToString(endpointNodes());
		std::vector<std::string> all = kCycled;
		all.insert(all.begin(), kRemote);
		for (const std::string &remote : all) {
			RunResult status = ampctl({"--json", "status", remote});
			EXPECT_EQ(parseReply(status.out)["remotes"][0].value("state", ""), "running") << status.describe();
		}
	}
};

TEST_F(Soak, MillionMessagesAndThousandCyclesLoseNothingAndLeakNothing)
{
	const uint64_t messages = fromEnv("AMP_SOAK_MESSAGES", 1000000);
	const unsigned cycles = static_cast<unsigned>(fromEnv("AMP_SOAK_CYCLES", 1000));
	ASSERT_TRUE(startBoth());

	// Warm-up: both loads, smaller, so that what a first use allocates
	// (rings, queues, size classes, the second Client's buffers) is in.
	Round warm;
	round(std::max<uint64_t>(messages / 20, 16000), std::max(cycles / 20, 20u), warm);
	if (HasFatalFailure())
		return;
	// ampd closes a stream's fds once the client's hangup reaches its loop:
	// the baseline is taken once no client socket is left. ampd's fds are
	// counted without the sysfs files it opens for one read (ampdFds()).
	Footprint ampdStart = Footprint::of(ampd_.pid());
	ampdStart.fds = settledFds();
	const Footprint simStart = Footprint::of(sim_.pid());
	const std::string ampdFdsStart = ampdFdList();

	Round soak;
	round(messages, cycles, soak);
	if (HasFatalFailure())
		return;
	// The fds must come back to what they were (the close of the last
	// stream's may still be on its way).
	test::waitUntil([&] { return ampdFds() == ampdStart.fds; }, 10s);
	Footprint ampdEnd = Footprint::of(ampd_.pid());
	ampdEnd.fds = ampdFds();
	const Footprint simEnd = Footprint::of(sim_.pid());

	std::cout << "    soak: " << soak.messages << " messages over 16 streams on " << kRemote << ", " << soak.cycles
		  << " stop/start cycles (" << testing::PrintToString(kCycled) << ", 2 reattached streams each), " << std::fixed
		  << std::setprecision(1) << soak.seconds << " s (warm-up: " << warm.messages << " messages, " << warm.cycles
		  << " cycles, " << warm.seconds << " s)\n"
		  << "    " << describe("ampd", ampdStart, ampdEnd) << "\n"
		  << "    " << describe("ampsim", simStart, simEnd) << "\n"
		  << "    ampd VmRSS about every 100 cycles (kB):";
	for (long kb : soak.rssEvery100)
		std::cout << " " << kb;
	std::cout << "\n";
	RecordProperty("messages", std::to_string(soak.messages));
	RecordProperty("cycles", std::to_string(soak.cycles));
	RecordProperty("seconds", std::to_string(soak.seconds));
	RecordProperty("ampd_rss_kb", std::to_string(ampdStart.rssKb) + "->" + std::to_string(ampdEnd.rssKb));
	RecordProperty("ampd_fds", std::to_string(ampdStart.fds) + "->" + std::to_string(ampdEnd.fds));

	EXPECT_EQ(ampdEnd.fds, ampdStart.fds) << "before:\n" << ampdFdsStart << "now:\n" << ampdFdList();
	EXPECT_EQ(simEnd.fds, simStart.fds) << "ampsim's fds\n" << fdList(sim_.pid());
	EXPECT_LE(ampdEnd.rssKb - ampdStart.rssKb, kRssSlackKb) << describe("ampd", ampdStart, ampdEnd);
	EXPECT_LE(simEnd.rssKb - simStart.rssKb, kSimRssSlackKb) << describe("ampsim", simStart, simEnd);
}

} // namespace
} // namespace amp::e2e
