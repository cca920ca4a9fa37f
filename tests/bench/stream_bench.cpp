// SPDX-License-Identifier: MIT
// Relay vs direct: the same remote, the same run, two streams through ampd,
// one relayed (ampd moves every message) and one direct (the endpoint fd
// itself). Each figure is taken for both, alternately, several times, and
// the medians are compared as ratios, so a noisy machine moves both sides.
//
//   stream_bench --socket PATH [--remote R] [--channel C] [--daemon-pid PID]
//                [--size N] [--rounds N] [--messages N] [--window N] [--repeat N] [--json]
//
// Round trips: one message out, its echo back, --rounds times: p50 and p99.
// Throughput: --messages echoed with up to --window in flight. With
// --daemon-pid, ampd's CPU time (all its threads, from schedstat) during
// the throughput phase, per message it relayed (each echo is two).
// tests/bench/stream-bench.sh sets up the simulator and the daemon.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "amp/client.hpp"
#include "amp/stream.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
	std::string socket;
	std::string remote = "r5-0";
	std::string channel = "rpmsg-openamp-demo-channel";
	int daemonPid = 0;
	size_t size = 64;
	unsigned rounds = 5000;
	unsigned messages = 20000;
	unsigned window = 32;
	unsigned repeat = 3;
	bool json = false;
};

[[noreturn]] void die(const std::string &what)
{
	fprintf(stderr, "stream_bench: %s\n", what.c_str());
	exit(1);
}

// Nanoseconds on a CPU, summed over the process's threads.
uint64_t cpuNs(int pid)
{
	if (pid <= 0)
		return 0;
	std::string dir = "/proc/" + std::to_string(pid) + "/task";
	uint64_t sum = 0;
	DIR *d = opendir(dir.c_str());
	if (!d)
		die("cannot read " + dir);
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		std::ifstream f(dir + "/" + e->d_name + "/schedstat");
		uint64_t ns = 0;
		if (f >> ns)
			sum += ns;
	}
	closedir(d);
	return sum;
}

void fill(std::vector<uint8_t> &buf, uint32_t seq)
{
	for (size_t i = 0; i < buf.size(); i++)
		buf[i] = static_cast<uint8_t>(seq * 31 + i);
}

void expectEcho(amp::Stream &s, std::span<uint8_t> in, const std::vector<uint8_t> &sent, const char *mode)
{
	auto n = s.receive(in, 10s);
	if (!n)
		die(std::string(mode) + ": receive: " + n.error().message());
	if (*n != sent.size() || !std::equal(sent.begin(), sent.end(), in.begin()))
		die(std::string(mode) + ": the echo differs from what was sent");
}

double percentile(std::vector<double> v, double p)
{
	std::sort(v.begin(), v.end());
	size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
	return v[std::min(i, v.size() - 1)];
}

struct RoundTrips {
	double p50 = 0, p99 = 0; // microseconds
};

RoundTrips roundTrips(amp::Stream &s, const Options &o, const char *mode)
{
	std::vector<uint8_t> out(o.size), in(amp::kMaxRpmsgPayload + 1);
	std::vector<double> us;
	us.reserve(o.rounds);
	for (unsigned i = 0; i < o.rounds; i++) {
		fill(out, i);
		auto t0 = Clock::now();
		if (auto r = s.send(out, 10s); !r)
			die(std::string(mode) + ": send: " + r.error().message());
		expectEcho(s, in, out, mode);
		us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
	}
	return {percentile(us, 0.5), percentile(us, 0.99)};
}

struct Throughput {
	double perSecond = 0;
	double daemonUsPerMessage = 0; // CPU, per message relayed
};

Throughput throughput(amp::Stream &s, const Options &o, const char *mode)
{
	std::vector<uint8_t> out(o.size), in(amp::kMaxRpmsgPayload + 1);
	std::vector<std::vector<uint8_t>> window(o.window, std::vector<uint8_t>(o.size));
	unsigned sent = 0, received = 0;
	uint64_t cpu0 = cpuNs(o.daemonPid);
	auto t0 = Clock::now();
	while (received < o.messages) {
		while (sent < o.messages && sent - received < o.window) {
			auto &slot = window[sent % o.window];
			fill(slot, sent);
			if (auto r = s.send(slot, 10s); !r)
				die(std::string(mode) + ": send: " + r.error().message());
			sent++;
		}
		expectEcho(s, in, window[received % o.window], mode);
		received++;
	}
	double secs = std::chrono::duration<double>(Clock::now() - t0).count();
	uint64_t cpu = cpuNs(o.daemonPid) - cpu0;
	return {o.messages / secs, o.daemonPid ? static_cast<double>(cpu) / 1000.0 / (2.0 * o.messages) : 0};
}

double median(std::vector<double> v)
{
	return percentile(std::move(v), 0.5);
}

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto next = [&]() -> std::string {
			if (i + 1 >= argc)
				die(a + " needs a value");
			return argv[++i];
		};
		auto number = [&]() -> unsigned long {
			std::string v = next();
			char *end = nullptr;
			unsigned long n = strtoul(v.c_str(), &end, 10);
			if (v.empty() || *end)
				die(a + ": not a number: " + v);
			return n;
		};
		if (a == "--socket")
			o.socket = next();
		else if (a == "--remote")
			o.remote = next();
		else if (a == "--channel")
			o.channel = next();
		else if (a == "--daemon-pid")
			o.daemonPid = static_cast<int>(number());
		else if (a == "--size")
			o.size = number();
		else if (a == "--rounds")
			o.rounds = static_cast<unsigned>(number());
		else if (a == "--messages")
			o.messages = static_cast<unsigned>(number());
		else if (a == "--window")
			o.window = static_cast<unsigned>(number());
		else if (a == "--repeat")
			o.repeat = static_cast<unsigned>(number());
		else if (a == "--json")
			o.json = true;
		else
			die("unknown option " + a + " (see the comment at the top of stream_bench.cpp)");
	}
	if (o.socket.empty())
		die("--socket is required");
	if (o.size > amp::kMaxRpmsgPayload || o.rounds == 0 || o.messages == 0 || o.window == 0 || o.repeat == 0)
		die("--size 0..496, and --rounds, --messages, --window, --repeat at least 1");
	return o;
}

} // namespace

int main(int argc, char **argv)
{
	Options o = parse(argc, argv);
	auto client = amp::Client::connect(o.socket, "stream_bench");
	if (!client)
		die("connect: " + client.error().message());
	auto relay = client->open(o.remote, o.channel, amp::OpenOptions{});
	if (!relay)
		die("open (relay): " + relay.error().message());
	amp::OpenOptions directOptions;
	directOptions.direct = true;
	auto direct = client->open(o.remote, o.channel, directOptions);
	if (!direct)
		die("open (direct): " + direct.error().message());

	std::vector<double> rp50, rp99, dp50, dp99, rtp, dtp, rcpu, dcpu;
	for (unsigned k = 0; k < o.repeat; k++) {
		auto r = roundTrips(*relay, o, "relay");
		auto d = roundTrips(*direct, o, "direct");
		rp50.push_back(r.p50), rp99.push_back(r.p99), dp50.push_back(d.p50), dp99.push_back(d.p99);
		auto rt = throughput(*relay, o, "relay");
		auto dt = throughput(*direct, o, "direct");
		rtp.push_back(rt.perSecond), dtp.push_back(dt.perSecond);
		rcpu.push_back(rt.daemonUsPerMessage), dcpu.push_back(dt.daemonUsPerMessage);
	}
	double r50 = median(rp50), r99 = median(rp99), d50 = median(dp50), d99 = median(dp99);
	double rt = median(rtp), dt = median(dtp), cpu = median(rcpu), dcpuMedian = median(dcpu);
	if (o.json) {
		printf("{\"size\":%zu,\"rounds\":%u,\"messages\":%u,\"window\":%u,\"repeat\":%u,"
		       "\"relay\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"msgs_per_s\":%.0f,\"daemon_cpu_us_per_msg\":%.2f},"
		       "\"direct\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"msgs_per_s\":%.0f,\"daemon_cpu_us_per_msg\":%.2f},"
		       "\"ratio\":{\"p50\":%.2f,\"p99\":%.2f,\"throughput\":%.2f}}\n",
		       o.size, o.rounds, o.messages, o.window, o.repeat, r50, r99, rt, cpu, d50, d99, dt, dcpuMedian, r50 / d50,
		       r99 / d99, rt / dt);
		return 0;
	}
	printf("%zu-byte messages, medians of %u alternating runs (%u round trips, %u pipelined with %u in flight)\n",
	       o.size, o.repeat, o.rounds, o.messages, o.window);
	printf("%-8s %10s %10s %12s %16s\n", "", "p50 us", "p99 us", "msgs/s", "ampd CPU us/msg");
	printf("%-8s %10.1f %10.1f %12.0f %16.2f\n", "relay", r50, r99, rt, cpu);
	printf("%-8s %10.1f %10.1f %12.0f %16.2f\n", "direct", d50, d99, dt, dcpuMedian);
	printf("%-8s %10.2fx %9.2fx %11.2fx\n", "ratio", r50 / d50, r99 / d99, rt / dt);
	return 0;
}
