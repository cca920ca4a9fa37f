// SPDX-License-Identifier: MIT
// What the fault-injection tests share (test_faults.cpp,
// test_faults_daemon.cpp): ampsim's controls, an event watcher that has
// subscribed before it returns, streams of our own through libamp, and
// looks at ampd's fds, memory and the kernel's endpoint nodes.
#pragma once

#include "ampd_fixture.h"

#include <amp/client.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

namespace amp::e2e {

// State events of one remote through a libamp Client that has subscribed
// when watch() returns, so no event can come before it listens.
class EventWatch {
public:
	explicit EventWatch(std::optional<Client> client) : client_(std::move(client)) {}
	// Until the `to` states seen pass through `wantTo` in order.
	bool reach(const std::vector<std::string> &wantTo, std::chrono::milliseconds deadline = 10s)
	{
		auto end = std::chrono::steady_clock::now() + deadline;
		while (client_ && !inOrder(stateEvents(lines_), wantTo)) {
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
			if (left.count() <= 0)
				return false;
			std::string json;
			auto e = client_->nextEvent(left, &json);
			if (!e) {
				if (e.error().code == ETIMEDOUT || e.error().code == EINTR)
					continue;
				return false;
			}
			lines_ += json + "\n";
		}
		return client_.has_value();
	}
	std::string describe() const
	{
		std::string s;
		for (auto &[from, to] : stateEvents(lines_))
			s += from + " -> " + to + "\n";
		return "state events seen:\n" + s;
	}

private:
	std::optional<Client> client_;
	std::string lines_;
};

class FaultTest : public MultiEchoTest {
protected:

	// `ampsim ctl WORDS`, which must succeed; its stdout.
	std::string simCtl(const std::vector<std::string> &words)
	{
		std::string out;
		int status = sim_.ctl(words, &out);
		EXPECT_EQ(status, 0) << "ampsim ctl " << testing::PrintToString(words) << ": " << out;
		return out;
	}
	// How many times the simulated kernel has powered remoteproc0 up.
	unsigned boots()
	{
		std::string out;
		if (sim_.ctl({"boots", "0"}, &out) != 0)
			return ~0u;
		return static_cast<unsigned>(std::strtoul(out.c_str(), nullptr, 10));
	}

	EventWatch watch()
	{
		auto c = Client::connect(socketPath_, "e2e-events");
		if (!c) {
			ADD_FAILURE() << "connect: " << c.error().message();
			return EventWatch(std::nullopt);
		}
		if (auto sub = c->subscribe(kRemote); !sub) {
			ADD_FAILURE() << "subscribe: " << sub.error().message();
			return EventWatch(std::nullopt);
		}
		return EventWatch(std::move(*c));
	}

	// Streams of our own, a Client each (kept open with them).
	std::vector<Stream> openStreams(size_t n, OpenOptions options = {})
	{
		std::vector<Stream> streams;
		for (size_t i = 0; i < n; ++i) {
			auto c = Client::connect(socketPath_, "e2e-stream-" + std::to_string(i));
			if (!c) {
				ADD_FAILURE() << "connect: " << c.error().message();
				break;
			}
			auto s = c->open(kRemote, kDemoChannel, options);
			if (!s) {
				ADD_FAILURE() << "open: " << s.error().message();
				break;
			}
			streams.push_back(std::move(*s));
		}
		return streams;
	}
	// Message k of stream i: 8 bytes that say whose and which it is.
	static std::vector<uint8_t> message(unsigned i, unsigned k)
	{
		std::vector<uint8_t> m(8);
		for (unsigned b = 0; b < 4; ++b) {
			m[b] = static_cast<uint8_t>(i >> (8 * b));
			m[4 + b] = static_cast<uint8_t>(k >> (8 * b));
		}
		return m;
	}
	// Stream i gets back messages first..first+count-1 of its own, in order.
	static void expectEchoes(Stream &s, unsigned i, unsigned count, unsigned first = 0,
				 std::chrono::milliseconds each = 10s)
	{
		std::vector<uint8_t> buf(512);
		for (unsigned k = first; k < first + count; ++k) {
			auto got = s.receive(buf, each);
			ASSERT_TRUE(got) << "stream " << i << " message " << k << ": " << got.error().message();
			std::vector<uint8_t> want = message(i, k);
			ASSERT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(*got)), want)
				<< "stream " << i << " message " << k;
		}
	}

	// ampd's resident memory, kB (VmRSS).
	long ampdRssKb() const
	{
		auto status = test::readText("/proc/" + std::to_string(ampd_.pid()) + "/status");
		if (!status)
			return -1;
		size_t at = status->find("VmRSS:");
		return at == std::string::npos ? -1 : std::strtol(status->c_str() + at + 6, nullptr, 10);
	}
	// How long `ampctl status` takes to answer now.
	std::chrono::milliseconds statusLatency(int *exit = nullptr)
	{
		auto t0 = std::chrono::steady_clock::now();
		RunResult r = ampctl({"status"});
		if (exit)
			*exit = r.exit;
		EXPECT_EQ(r.exit, kOk) << r.describe();
		return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
	}
};

} // namespace amp::e2e
