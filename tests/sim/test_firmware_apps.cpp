// SPDX-License-Identifier: MIT
// Tests of the simulated remote firmware apps, byte for byte, on a fake bus.
//
// The fake RemoteBus records what an app sends, announces and reports, and
// runs its timers from a manual clock, so nothing sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "firmware_app.h"

namespace ampsim {
namespace {

constexpr uint32_t kRemote = AMPSIM_DEFAULT_ANNOUNCE_ADDR; // 0x400
constexpr uint32_t kLinuxA = 0x401;
constexpr uint32_t kLinuxB = 0x402;
const std::string kChannel = AMPSIM_DEFAULT_SERVICE;

using Bytes = std::vector<uint8_t>;

// The remote's world, recorded; timers run only when the test moves the
// clock, so nothing sleeps.
class FakeBus : public RemoteBus {
public:
	struct Sent {
		uint32_t src, dst;
		Bytes data;
		int64_t at;
	};
	std::vector<Sent> sent;
	std::vector<std::pair<std::string, uint32_t>> announced, unannounced;
	int crashes = 0;
	std::vector<std::string> logs;
	int64_t now = 0;
	bool lifoTies = false; // run same-deadline timers newest first
	std::function<void(const Sent &)> onSend;
	std::function<void()> onCrash;

	void send(uint32_t src, uint32_t dst, std::span<const uint8_t> data) override
	{
		sent.push_back(Sent{src, dst, Bytes(data.begin(), data.end()), now});
		if (onSend)
			onSend(sent.back());
	}
	void announce(const std::string &name, uint32_t addr) override { announced.emplace_back(name, addr); }
	void unannounce(const std::string &name, uint32_t addr) override { unannounced.emplace_back(name, addr); }
	void reportCrash() override
	{
		crashes++;
		if (onCrash)
			onCrash();
	}
	void log(const std::string &line) override { logs.push_back(line); }
	void after(std::chrono::milliseconds delay, std::function<void()> fn) override
	{
		timers_.push_back(Timer{now + delay.count(), seq_++, std::move(fn)});
	}

	void advance(int64_t ms)
	{
		int64_t until = now + ms;
		for (;;) {
			auto due = timers_.end();
			for (auto it = timers_.begin(); it != timers_.end(); ++it) {
				if (it->due > until)
					continue;
				if (due == timers_.end() || it->due < due->due ||
				    (it->due == due->due && (lifoTies ? it->seq > due->seq : it->seq < due->seq)))
					due = it;
			}
			if (due == timers_.end())
				break;
			now = due->due;
			auto fn = std::move(due->fn);
			timers_.erase(due);
			fn();
		}
		now = until;
	}

	bool logged(const std::string &needle) const
	{
		return std::any_of(logs.begin(), logs.end(),
				   [&](const std::string &l) { return l.find(needle) != std::string::npos; });
	}

private:
	struct Timer {
		int64_t due;
		uint64_t seq;
		std::function<void()> fn;
	};
	std::vector<Timer> timers_;
	uint64_t seq_ = 0;
};

FirmwareSpec spec(const std::string &app)
{
	FirmwareSpec s;
	s.app = app;
	return s;
}

std::unique_ptr<FirmwareApp> boot(FakeBus &bus, const std::optional<FirmwareSpec> &s)
{
	auto app = makeFirmwareApp(s);
	EXPECT_TRUE(app);
	app->start(bus);
	return app;
}

void put32(Bytes &b, size_t off, uint32_t v)
{
	if (b.size() < off + 4)
		b.resize(off + 4);
	for (int i = 0; i < 4; i++)
		b[off + i] = uint8_t(v >> (8 * i));
}

uint32_t get32(const Bytes &b, size_t off)
{
	return uint32_t(b.at(off)) | uint32_t(b.at(off + 1)) << 8 | uint32_t(b.at(off + 2)) << 16 |
	       uint32_t(b.at(off + 3)) << 24;
}

Bytes shutdownMsg(size_t extra = 0)
{
	Bytes b;
	put32(b, 0, AMPSIM_SHUTDOWN_WORD);
	b.resize(4 + extra, 0xA5);
	return b;
}

Bytes pattern(size_t n, unsigned seed)
{
	Bytes b(n);
	for (size_t i = 0; i < n; i++)
		b[i] = uint8_t(i * 7 + seed);
	return b;
}

// ------------------------------------------------------------ lifecycle ---

TEST(FirmwareApps, TalkingAppsAnnounceTheDemoChannel)
{
	for (const char *name : {"echo", "matmul", "rpc", "crash", "hang", "slow"}) {
		SCOPED_TRACE(name);
		FakeBus bus;
		auto app = boot(bus, spec(name));
		ASSERT_EQ(bus.announced.size(), 1u);
		EXPECT_EQ(bus.announced[0].first, "rpmsg-openamp-demo-channel");
		EXPECT_EQ(bus.announced[0].second, 0x400u);
		EXPECT_TRUE(bus.sent.empty()); // Linux talks first
		EXPECT_TRUE(bus.unannounced.empty());
		EXPECT_EQ(bus.crashes, 0);
	}
}

TEST(FirmwareApps, ServiceAndAddressComeFromTheSpec)
{
	FakeBus bus;
	FirmwareSpec s = spec("echo");
	s.service = "my-channel";
	s.announceAddr = 0x410;
	auto app = boot(bus, s);
	ASSERT_EQ(bus.announced.size(), 1u);
	EXPECT_EQ(bus.announced[0], std::make_pair(std::string("my-channel"), 0x410u));

	Bytes m = pattern(10, 1);
	app->receive(bus, kLinuxA, kRemote, m); // 0x400 is not this endpoint
	EXPECT_TRUE(bus.sent.empty());
	app->receive(bus, kLinuxA, 0x410, m);
	ASSERT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.sent[0].src, 0x410u);
	EXPECT_EQ(bus.sent[0].dst, kLinuxA);

	app->receive(bus, kLinuxA, 0x410, shutdownMsg());
	ASSERT_EQ(bus.unannounced.size(), 1u);
	EXPECT_EQ(bus.unannounced[0], std::make_pair(std::string("my-channel"), 0x410u));
}

TEST(FirmwareApps, SilentAppsNeverTalk)
{
	std::vector<std::optional<FirmwareSpec>> specs = {std::nullopt, spec("silent"), spec("norsc"),
							  spec("no-such-app")};
	for (const auto &s : specs) {
		SCOPED_TRACE(s ? s->app : "no marker");
		FakeBus bus;
		auto app = boot(bus, s);
		app->receive(bus, kLinuxA, kRemote, pattern(20, 3));
		app->receive(bus, kLinuxA, kRemote, shutdownMsg());
		bus.advance(100000);
		EXPECT_TRUE(bus.announced.empty());
		EXPECT_TRUE(bus.unannounced.empty());
		EXPECT_TRUE(bus.sent.empty());
		EXPECT_EQ(bus.crashes, 0);
	}
}

// ----------------------------------------------------------------- echo ---

TEST(FirmwareApps, EchoIsByteExactForEverySize)
{
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	for (size_t n = 0; n <= 496; n++) {
		Bytes m = pattern(n, unsigned(n));
		app->receive(bus, kLinuxA, kRemote, m);
		ASSERT_EQ(bus.sent.size(), n + 1) << "size " << n;
		EXPECT_EQ(bus.sent.back().src, kRemote);
		EXPECT_EQ(bus.sent.back().dst, kLinuxA);
		EXPECT_EQ(bus.sent.back().data, m) << "size " << n;
	}
	EXPECT_TRUE(bus.unannounced.empty());
}

TEST(FirmwareApps, EchoRepliesToTheFirstSender)
{
	// rpmsg_send() uses the dest_addr learnt from the first message.
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	app->receive(bus, kLinuxA, kRemote, pattern(5, 1));
	app->receive(bus, kLinuxB, kRemote, pattern(6, 2));
	app->receive(bus, 0x7777, kRemote, pattern(7, 3));
	ASSERT_EQ(bus.sent.size(), 3u);
	for (const auto &s : bus.sent)
		EXPECT_EQ(s.dst, kLinuxA);
	EXPECT_EQ(bus.sent[1].data, pattern(6, 2));
}

TEST(FirmwareApps, ReplyToSenderFlagAnswersEachSender)
{
	for (const char *name : {"echo", "matmul", "crash"}) {
		SCOPED_TRACE(name);
		FakeBus bus;
		FirmwareSpec s = spec(name);
		s.flags = AMPSIM_FW_REPLY_TO_SENDER;
		auto app = boot(bus, s);
		app->receive(bus, kLinuxA, kRemote, Bytes(296, 1));
		app->receive(bus, kLinuxB, kRemote, Bytes(296, 2));
		app->receive(bus, kLinuxA, kRemote, Bytes(296, 3));
		ASSERT_EQ(bus.sent.size(), 3u);
		EXPECT_EQ(bus.sent[0].dst, kLinuxA);
		EXPECT_EQ(bus.sent[1].dst, kLinuxB);
		EXPECT_EQ(bus.sent[2].dst, kLinuxA);
	}
}

TEST(FirmwareApps, MessagesForOtherAddressesAreDroppedAndTeachNothing)
{
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	app->receive(bus, kLinuxA, 0x401, pattern(8, 1));
	app->receive(bus, kLinuxA, 53, pattern(8, 1));
	EXPECT_TRUE(bus.sent.empty());
	app->receive(bus, kLinuxB, kRemote, pattern(8, 2));
	app->receive(bus, kLinuxA, kRemote, pattern(8, 3));
	ASSERT_EQ(bus.sent.size(), 2u);
	EXPECT_EQ(bus.sent[0].dst, kLinuxB); // the first message that reached the endpoint
	EXPECT_EQ(bus.sent[1].dst, kLinuxB);
}

class EchoShutdown : public ::testing::TestWithParam<size_t> {};

TEST_P(EchoShutdown, IsNotEchoedUnannouncesAndEndsTheLoop)
{
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	app->receive(bus, kLinuxA, kRemote, pattern(16, 9));
	ASSERT_EQ(bus.sent.size(), 1u);

	app->receive(bus, kLinuxA, kRemote, shutdownMsg(GetParam()));
	EXPECT_EQ(bus.sent.size(), 1u);
	ASSERT_EQ(bus.unannounced.size(), 1u);
	EXPECT_EQ(bus.unannounced[0], std::make_pair(kChannel, kRemote));
	EXPECT_TRUE(bus.logged("shutdown message is received."));

	app->receive(bus, kLinuxA, kRemote, pattern(16, 9));
	app->receive(bus, kLinuxB, kRemote, pattern(3, 1));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	EXPECT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(FirmwareApps, EchoShutdown, ::testing::Values(0, 1, 4, 20, 492));

TEST(FirmwareApps, EchoShutdownIsOnlyTheLeadingLittleEndianWord)
{
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	std::vector<Bytes> notShutdown = {
		Bytes{0x5A, 0xA5, 0x56},             // three bytes of it
		Bytes{0xEF, 0x56, 0xA5, 0x5A},       // big-endian
		Bytes{0, 0, 0, 0, 0x5A, 0xA5, 0x56, 0xEF}, // not at the start
	};
	for (const auto &m : notShutdown)
		app->receive(bus, kLinuxA, kRemote, m);
	ASSERT_EQ(bus.sent.size(), notShutdown.size());
	for (size_t i = 0; i < notShutdown.size(); i++)
		EXPECT_EQ(bus.sent[i].data, notShutdown[i]);
	EXPECT_TRUE(bus.unannounced.empty());
}

TEST(FirmwareApps, ShutdownAsFirstMessage)
{
	FakeBus bus;
	auto app = boot(bus, spec("echo"));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	EXPECT_TRUE(bus.sent.empty());
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

// --------------------------------------------------------------- matmul ---

struct Mat {
	uint32_t size = 6;
	uint32_t e[6][6] = {};
};

Bytes matBytes(const Mat &m)
{
	Bytes b;
	put32(b, 0, m.size);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			put32(b, 4 + 4 * (i * 6 + j), m.e[i][j]);
	return b;
}

Mat matFrom(const Bytes &b, size_t off = 0)
{
	Mat m;
	m.size = get32(b, off);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			m.e[i][j] = get32(b, off + 4 + 4 * (i * 6 + j));
	return m;
}

// Matrix_Multiply() of the demo, written out again for sizes up to 6.
Mat product(const Mat &a, const Mat &b)
{
	Mat r;
	r.size = a.size;
	for (uint32_t i = 0; i < std::min(a.size, 6u); i++)
		for (uint32_t j = 0; j < std::min(b.size, 6u); j++)
			for (uint32_t k = 0; k < std::min(r.size, 6u); k++)
				r.e[i][j] += a.e[i][k] * b.e[k][j];
	return r;
}

Bytes matmulMsg(const Mat &a, const Mat &b)
{
	Bytes m = matBytes(a), nb = matBytes(b);
	m.insert(m.end(), nb.begin(), nb.end());
	return m;
}

TEST(FirmwareApps, MatmulMultipliesLikeTheDemo)
{
	FakeBus bus;
	auto app = boot(bus, spec("matmul"));
	std::mt19937 rng(42);
	for (int round = 0; round < 200; round++) {
		bool small = round % 2 == 0; // the demo's 0..9, then any u32
		Mat a, b;
		for (int i = 0; i < 6; i++)
			for (int j = 0; j < 6; j++) {
				a.e[i][j] = small ? rng() % 10 : rng();
				b.e[i][j] = small ? rng() % 10 : rng();
			}
		Bytes msg = matmulMsg(a, b);
		ASSERT_EQ(msg.size(), 296u);
		app->receive(bus, kLinuxA, kRemote, msg);
		ASSERT_EQ(bus.sent.size(), size_t(round + 1));
		const auto &r = bus.sent.back();
		EXPECT_EQ(r.src, kRemote);
		EXPECT_EQ(r.dst, kLinuxA);
		ASSERT_EQ(r.data.size(), 148u);
		EXPECT_EQ(r.data, matBytes(product(a, b))) << "round " << round;
		EXPECT_EQ(get32(r.data, 0), 6u);
	}
	// A spot check that does not trust product(): identity times B is B.
	Mat id, b;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++) {
			id.e[i][j] = i == j;
			b.e[i][j] = uint32_t(i * 6 + j);
		}
	app->receive(bus, kLinuxA, kRemote, matmulMsg(id, b));
	EXPECT_EQ(bus.sent.back().data, matBytes(b));
}

TEST(FirmwareApps, MatmulUsesTheOperandSizes)
{
	FakeBus bus;
	auto app = boot(bus, spec("matmul"));
	Mat a, b;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++) {
			a.e[i][j] = uint32_t(i + j + 1);
			b.e[i][j] = uint32_t(2 * i + j);
		}
	a.size = 3; // rows 0..2, k 0..2; columns follow b.size
	app->receive(bus, kLinuxA, kRemote, matmulMsg(a, b));
	Mat r = matFrom(bus.sent.back().data);
	EXPECT_EQ(r.size, 3u);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++) {
			uint32_t want = 0;
			if (i < 3)
				for (int k = 0; k < 3; k++)
					want += a.e[i][k] * b.e[k][j];
			EXPECT_EQ(r.e[i][j], want) << i << "," << j;
		}

	a.size = 0;
	app->receive(bus, kLinuxA, kRemote, matmulMsg(a, b));
	EXPECT_EQ(bus.sent.back().data, Bytes(148, 0));
}

TEST(FirmwareApps, MatmulSurvivesShortLongAndOversizedMessages)
{
	FakeBus bus;
	auto app = boot(bus, spec("matmul"));
	Mat a, b;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++) {
			a.e[i][j] = uint32_t(i * j + 1);
			b.e[i][j] = uint32_t(i + 2 * j);
		}
	Bytes full = matmulMsg(a, b);
	for (size_t n : {0, 1, 3, 4, 100, 148, 152, 295, 297, 400, 496}) {
		SCOPED_TRACE(n);
		Bytes m = full;
		m.resize(n, 0xFF);
		app->receive(bus, kLinuxA, kRemote, m);
		ASSERT_FALSE(bus.sent.empty());
		ASSERT_EQ(bus.sent.back().data.size(), 148u);
		// What the demo computes on the first 296 bytes, missing ones 0.
		Bytes seen = m;
		seen.resize(296, 0);
		EXPECT_EQ(bus.sent.back().data, matBytes(product(matFrom(seen), matFrom(seen, 148))));
	}
	// Sizes past 6 would walk the real demo off its arrays.
	a.size = 0xFFFFFFFF;
	b.size = 1000;
	app->receive(bus, kLinuxA, kRemote, matmulMsg(a, b));
	Mat r = matFrom(bus.sent.back().data);
	EXPECT_EQ(r.size, 0xFFFFFFFFu);
	EXPECT_EQ(bus.sent.back().data.size(), 148u);
	EXPECT_TRUE(bus.logged("exceed"));
	EXPECT_TRUE(bus.unannounced.empty());
}

TEST(FirmwareApps, MatmulShutdown)
{
	FakeBus bus;
	auto app = boot(bus, spec("matmul"));
	app->receive(bus, kLinuxA, kRemote, Bytes(296, 0));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg(292));
	EXPECT_EQ(bus.sent.size(), 1u);
	ASSERT_EQ(bus.unannounced.size(), 1u);
	EXPECT_EQ(bus.unannounced[0], std::make_pair(kChannel, kRemote));
	app->receive(bus, kLinuxA, kRemote, Bytes(296, 0));
	EXPECT_EQ(bus.sent.size(), 1u);
}

// ------------------------------------------------------------------ rpc ---

struct Rpc {
	uint32_t id = 0;
	int32_t f1 = 0, f2 = 0;
	uint32_t len = 0;
	Bytes data;
};

Rpc parseRpc(const Bytes &b)
{
	Rpc r;
	EXPECT_GE(b.size(), 16u);
	if (b.size() < 16)
		return r;
	r.id = get32(b, 0);
	r.f1 = int32_t(get32(b, 4));
	r.f2 = int32_t(get32(b, 8));
	r.len = get32(b, 12);
	r.data.assign(b.begin() + 16, b.end());
	return r;
}

Bytes rpcBytes(uint32_t id, int32_t f1, int32_t f2 = 0, uint32_t len = 0, const std::string &data = "")
{
	Bytes b;
	put32(b, 0, id);
	put32(b, 4, uint32_t(f1));
	put32(b, 8, uint32_t(f2));
	put32(b, 12, len);
	b.insert(b.end(), data.begin(), data.end());
	return b;
}

const Bytes kInitMsg = {'i', 'n', 'i', 't', '_', 'm', 's', 'g', 0};
const std::string kTestString = "This is a test string being written to file..";

// The Linux proxy: executes the remote's calls on a pretend file system and
// console, answering READs with at most `readCap` bytes, as a careful master
// does.
class FakeHost {
public:
	std::map<std::string, std::string> files;
	std::deque<std::string> console; // each console READ takes one entry
	std::vector<std::string> consoleCycle; // refills `console` when empty
	std::string out;                      // what reached fd 1
	std::vector<Rpc> calls;
	size_t consoleReads = 0;
	size_t readCap = 480;
	bool term = false;

	std::optional<Bytes> serve(const Bytes &req)
	{
		Rpc m = parseRpc(req);
		calls.push_back(m);
		EXPECT_EQ(req.size(), 16 + size_t(m.len)) << "data_len must cover the payload";
		switch (m.id) {
		case 1: {
			std::string path(reinterpret_cast<const char *>(m.data.data()),
					 strnlen(reinterpret_cast<const char *>(m.data.data()), m.data.size()));
			if (!files.count(path) && !(m.f1 & 0100))
				return rpcBytes(1, -1);
			files[path];
			int fd = 3;
			while (fds_.count(fd))
				fd++;
			fds_[fd] = Open{path, 0};
			return rpcBytes(1, fd);
		}
		case 2:
			return rpcBytes(2, fds_.erase(m.f1) ? 0 : -1);
		case 3: {
			if (m.f2 < 0 || size_t(m.f2) > m.data.size())
				return rpcBytes(3, -1);
			std::string d(m.data.begin(), m.data.begin() + m.f2);
			if (m.f1 == 1) {
				EXPECT_EQ(m.len, uint32_t(m.f2) + 1) << "stdout writes carry a NUL";
				EXPECT_EQ(m.data.back(), 0);
				out += d;
				return rpcBytes(3, m.f2);
			}
			auto it = fds_.find(m.f1);
			if (it == fds_.end())
				return rpcBytes(3, -1);
			files[it->second.path] += d;
			return rpcBytes(3, m.f2);
		}
		case 4: {
			if (m.f1 == 0) {
				consoleReads++;
				if (console.empty())
					console.insert(console.end(), consoleCycle.begin(), consoleCycle.end());
				if (console.empty())
					return rpcBytes(4, 0);
				std::string line = console.front();
				console.pop_front();
				size_t n = std::min({line.size(), size_t(std::max(m.f2, 0)), readCap});
				if (n < line.size())
					console.push_front(line.substr(n));
				return rpcBytes(4, int32_t(n), 0, uint32_t(n), line.substr(0, n));
			}
			auto it = fds_.find(m.f1);
			if (it == fds_.end())
				return rpcBytes(4, -1);
			const std::string &f = files[it->second.path];
			size_t n = std::min({f.size() - it->second.pos, size_t(std::max(m.f2, 0)), readCap});
			std::string d = f.substr(it->second.pos, n);
			it->second.pos += n;
			return rpcBytes(4, int32_t(n), 0, uint32_t(n), d);
		}
		case 6:
			EXPECT_EQ(req.size(), 16u);
			term = true;
			return std::nullopt;
		default:
			ADD_FAILURE() << "unexpected rpc id " << m.id;
			return rpcBytes(m.id, -1);
		}
	}

	// The calls that were not console output.
	std::vector<Rpc> syscalls() const
	{
		std::vector<Rpc> v;
		for (const auto &c : calls)
			if (!(c.id == 3 && c.f1 == 1))
				v.push_back(c);
		return v;
	}

private:
	struct Open {
		std::string path;
		size_t pos;
	};
	std::map<int, Open> fds_;
};

using Answer = std::function<std::optional<Bytes>(const FakeBus::Sent &)>;

// Play Linux: answer every message the remote sends until it stops sending
// (or `maxSteps`). Returns the number of messages answered.
size_t converse(FirmwareApp &app, FakeBus &bus, const Answer &answer, size_t maxSteps = 100000,
		uint32_t from = kLinuxA)
{
	size_t next = 0, steps = 0;
	while (next < bus.sent.size() && steps < maxSteps) {
		FakeBus::Sent s = bus.sent[next++];
		EXPECT_EQ(s.src, kRemote);
		EXPECT_LE(s.data.size(), 496u);
		std::optional<Bytes> reply = answer(s);
		steps++;
		if (reply)
			app.receive(bus, from, kRemote, *reply);
	}
	return steps;
}

std::unique_ptr<FirmwareApp> startRpc(FakeBus &bus, uint32_t from = kLinuxA)
{
	auto app = boot(bus, spec("rpc"));
	app->receive(bus, from, kRemote, kInitMsg);
	return app;
}

Answer by(FakeHost &host)
{
	return [&host](const FakeBus::Sent &s) { return host.serve(s.data); };
}

std::string pass(const std::string &name, const std::string &age, const std::string &pi)
{
	return "\nRemote>Remote firmware using scanf and printf ..\r\n"
	       "\nRemote>Scanning user input from master..\r\n"
	       "\nRemote>Enter name\r\n"
	       "\nRemote>Enter age\r\n"
	       "\nRemote>Enter value for pi\r\n"
	       "\nRemote>User name = '" +
	       name + "'\r\n\nRemote>User age = '" + age + "'\r\n\nRemote>User entered value of pi = '" + pi +
	       "'\r\n\nRemote>Repeat demo ? (enter yes or no) \r\n";
}

std::string fileIo(int fd, const std::string &contents)
{
	std::string s = std::to_string(fd);
	return "\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n"
	       "\nRemote>***************************************************\r\n"
	       "\nRemote>Rpmsg based retargetting to proxy initialized..\r\n"
	       "\nRemote>FileIO demo ..\r\n"
	       "\nRemote>Creating a file on master and writing to it..\r\n"
	       "\nRemote>Opened file 'remote.file' with fd = " +
	       s + "\r\n\nRemote>Wrote to fd = " + s + ", size = 45, content = " + kTestString +
	       "\r\n\nRemote>Closed fd = " + s +
	       "\r\n\nRemote>Reading a file on master and displaying its contents..\r\n"
	       "\nRemote>Opened file 'remote.file' with fd = " +
	       s + "\r\n\nRemote>Read from fd = " + s + ", size = " + std::to_string(contents.size()) +
	       ", printing contents below .. " + contents + "\r\n\nRemote>Closed fd = " + s + "\r\n";
}

const std::string kQuit = "\nRemote>RPC retargetting quitting ...\r\n"
			  "\nRemote> Firmware's rpmsg-rpc-channel going down! \r\n";

TEST(FirmwareApps, RpcWaitsForTheHostToTalkFirst)
{
	FakeBus bus;
	auto app = boot(bus, spec("rpc"));
	bus.advance(10000);
	EXPECT_TRUE(bus.sent.empty());
	app->receive(bus, kLinuxB, kRemote, Bytes{'x'}); // any first message will do
	ASSERT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.sent[0].src, kRemote);
	EXPECT_EQ(bus.sent[0].dst, kLinuxB);
	// The banner's leading "\n" is its own line on a line-buffered stdout.
	EXPECT_EQ(bus.sent[0].data, rpcBytes(3, 1, 1, 2, std::string("\n\0", 2)));
}

TEST(FirmwareApps, RpcRunsTheWholeDemo)
{
	FakeBus bus;
	FakeHost host;
	host.console = {"Alice\n", "30\n", "3.14\n", "yes\n", "Bob\n", "41\n", "2.5\n", "no\n"};
	auto app = startRpc(bus);
	converse(*app, bus, by(host));

	EXPECT_EQ(host.out, fileIo(3, kTestString) + pass("Alice", "30", "3.140000") +
				    pass("Bob", "41", "2.500000") + kQuit);
	EXPECT_EQ(host.files["remote.file"], kTestString);
	EXPECT_TRUE(host.term);
	EXPECT_TRUE(host.console.empty());

	// Every stdout WRITE is one whole line.
	for (const auto &c : host.calls)
		if (c.id == 3 && c.f1 == 1) {
			ASSERT_GE(c.f2, 1);
			EXPECT_EQ(c.data[size_t(c.f2) - 1], '\n');
		}

	auto sc = host.syscalls();
	ASSERT_EQ(sc.size(), 6u + 8u + 1u);
	// OPEN "remote.file" O_CREAT|O_WRONLY|O_APPEND, 0600, path with its NUL.
	EXPECT_EQ(sc[0].id, 1u);
	EXPECT_EQ(sc[0].f1, 0x441);
	EXPECT_EQ(sc[0].f2, 0600);
	EXPECT_EQ(sc[0].len, 12u);
	EXPECT_EQ(sc[0].data, (Bytes{'r', 'e', 'm', 'o', 't', 'e', '.', 'f', 'i', 'l', 'e', 0}));
	// WRITE to the file: no NUL.
	EXPECT_EQ(sc[1].id, 3u);
	EXPECT_EQ(sc[1].f1, 3);
	EXPECT_EQ(sc[1].f2, 45);
	EXPECT_EQ(sc[1].len, 45u);
	EXPECT_EQ(std::string(sc[1].data.begin(), sc[1].data.end()), kTestString);
	EXPECT_EQ(sc[2].id, 2u);
	EXPECT_EQ(sc[2].f1, 3);
	// OPEN read-only, still mode 0600 as the demo passes it.
	EXPECT_EQ(sc[3].id, 1u);
	EXPECT_EQ(sc[3].f1, 0);
	EXPECT_EQ(sc[3].f2, 0600);
	// One read() of 1024.
	EXPECT_EQ(sc[4].id, 4u);
	EXPECT_EQ(sc[4].f1, 3);
	EXPECT_EQ(sc[4].f2, 1024);
	EXPECT_EQ(sc[4].len, 0u);
	EXPECT_EQ(sc[5].id, 2u);
	for (size_t i = 6; i < 14; i++) {
		EXPECT_EQ(sc[i].id, 4u);
		EXPECT_EQ(sc[i].f1, 0); // console
		EXPECT_EQ(sc[i].f2, 1024);
	}
	// TERM: id 6, zero args, nothing else; then the channel goes.
	EXPECT_EQ(bus.sent.back().data, rpcBytes(6, 0, 0, 0));
	ASSERT_EQ(bus.unannounced.size(), 1u);
	EXPECT_EQ(bus.unannounced[0], std::make_pair(kChannel, kRemote));

	size_t n = bus.sent.size();
	app->receive(bus, kLinuxA, kRemote, rpcBytes(4, 3, 0, 3, "no\n"));
	app->receive(bus, kLinuxA, kRemote, kInitMsg);
	EXPECT_EQ(bus.sent.size(), n);
}

TEST(FirmwareApps, RpcReadsTheFileOnceAndPrintsWhatFits)
{
	{
		FakeBus bus;
		FakeHost host;
		host.files["remote.file"] = std::string(300, 'x');
		host.console = {"a 1 1 no\n"};
		auto app = startRpc(bus);
		converse(*app, bus, by(host));
		std::string contents = std::string(300, 'x') + kTestString;
		EXPECT_EQ(host.out.substr(0, fileIo(3, contents).size()), fileIo(3, contents));
		EXPECT_TRUE(host.term);
	}
	{
		// 1045 bytes: the host caps the READ at 480 and the demo does not
		// read again (newlib's read() is one _read()). The line printing
		// them is longer than one WRITE can carry, so _write() refuses it
		// and that line never reaches the console.
		FakeBus bus;
		FakeHost host;
		host.files["remote.file"] = std::string(1000, 'y');
		host.console = {"a 1 1 no\n"};
		auto app = startRpc(bus);
		converse(*app, bus, by(host));
		auto sc = host.syscalls();
		ASSERT_GE(sc.size(), 6u);
		EXPECT_EQ(sc[4].id, 4u);
		EXPECT_EQ(sc[4].f1, 3);
		EXPECT_EQ(sc[5].id, 2u); // CLOSE straight after the one READ
		EXPECT_EQ(host.out.find("Remote>Read from fd"), std::string::npos);
		EXPECT_NE(host.out.find("with fd = 3\r\n\n\nRemote>Closed fd = 3\r\n"), std::string::npos);
		EXPECT_TRUE(bus.logged("does not fit"));
		EXPECT_TRUE(host.term);
	}
}

TEST(FirmwareApps, RpcConsoleInputIsBufferedLikeStdio)
{
	FakeBus bus;
	FakeHost host;
	host.console = {"Carol 7 1.5 no\n"};
	auto app = startRpc(bus);
	converse(*app, bus, by(host));
	EXPECT_EQ(host.consoleReads, 1u);
	EXPECT_EQ(host.out, fileIo(3, kTestString) + pass("Carol", "7", "1.500000") + kQuit);
	EXPECT_TRUE(host.term);
}

TEST(FirmwareApps, RpcInvalidInputStartsAgain)
{
	FakeBus bus;
	FakeHost host;
	host.console = {"Dave\n", "abc\n", "Eve\n", "5\n", "2.0\n", "maybe\n", "Eve\n", "-5\n", "1e3\n", "no\n"};
	auto app = startRpc(bus);
	converse(*app, bus, by(host));
	std::string loop = host.out.substr(fileIo(3, kTestString).size());
	std::string want =
		"\nRemote>Remote firmware using scanf and printf ..\r\n"
		"\nRemote>Scanning user input from master..\r\n"
		"\nRemote>Enter name\r\n"
		"\nRemote>Enter age\r\n"
		"Remote> Invalid value. Starting again...." +
		pass("Eve", "5", "2.000000") + "\nRemote>Invalid option. Starting again....\r\n" +
		pass("Eve", "-5", "1000.000000") + kQuit;
	EXPECT_EQ(loop, want);
	EXPECT_TRUE(host.term);
}

TEST(FirmwareApps, RpcConsoleEofEndsTheDemo)
{
	FakeBus bus;
	FakeHost host; // no console input: READ(0) returns 0
	auto app = startRpc(bus);
	size_t steps = converse(*app, bus, by(host));
	EXPECT_LT(steps, 1000u);
	EXPECT_EQ(host.consoleReads, 1u); // newlib's EOF is sticky
	EXPECT_TRUE(host.term);
	EXPECT_EQ(bus.unannounced.size(), 1u);
	EXPECT_TRUE(bus.logged("prompt forever"));
	// Name and the rest failed with EOF, which the demo takes as success.
	EXPECT_NE(host.out.find("\nRemote>User name = ''\r\n"), std::string::npos);
}

TEST(FirmwareApps, RpcEofAfterNoStillQuits)
{
	// EOF makes scanf() return -1, which the demo treats as a match, so a
	// name of "no" followed by EOF quits at the repeat prompt.
	FakeBus bus;
	FakeHost host;
	host.console = {"no\n"};
	auto app = startRpc(bus);
	converse(*app, bus, by(host));
	EXPECT_NE(host.out.find(kQuit), std::string::npos);
	EXPECT_FALSE(bus.logged("prompt forever"));
	EXPECT_TRUE(host.term);
}

TEST(FirmwareApps, RpcWithAHostThatAnswersFromInsideSend)
{
	FakeBus bus;
	FakeHost host;
	host.console = {"Alice\n", "30\n", "3.14\n", "no\n"};
	std::unique_ptr<FirmwareApp> app;
	size_t depth = 0, maxDepth = 0;
	bus.onSend = [&](const FakeBus::Sent &s) {
		std::optional<Bytes> reply = host.serve(s.data);
		if (!reply)
			return;
		depth++;
		maxDepth = std::max(maxDepth, depth);
		app->receive(bus, kLinuxA, kRemote, *reply);
		depth--;
	};
	app = boot(bus, spec("rpc"));
	app->receive(bus, kLinuxA, kRemote, kInitMsg);
	EXPECT_EQ(host.out, fileIo(3, kTestString) + pass("Alice", "30", "3.140000") + kQuit);
	EXPECT_TRUE(host.term);
	EXPECT_EQ(maxDepth, 1u); // replies were queued, not recursed into
}

TEST(FirmwareApps, RpcTalksToTheFirstSenderUnlessToldOtherwise)
{
	for (bool toSender : {false, true}) {
		SCOPED_TRACE(toSender);
		FakeBus bus;
		FakeHost host;
		host.console = {"a 1 1 no\n"};
		FirmwareSpec s = spec("rpc");
		if (toSender)
			s.flags = AMPSIM_FW_REPLY_TO_SENDER;
		auto app = boot(bus, s);
		app->receive(bus, kLinuxA, kRemote, kInitMsg);
		converse(*app, bus, by(host), 100000, kLinuxB); // replies come from B
		ASSERT_GT(bus.sent.size(), 2u);
		EXPECT_EQ(bus.sent[0].dst, kLinuxA);
		for (size_t i = 1; i < bus.sent.size(); i++)
			EXPECT_EQ(bus.sent[i].dst, toSender ? kLinuxB : kLinuxA) << i;
		EXPECT_TRUE(host.term);
	}
}

TEST(FirmwareApps, RpcCanBeStoppedAtAnyPoint)
{
	// The core may stop while the demo waits in any call: the app (and
	// the coroutine frames suspended inside it) must go cleanly.
	size_t total = 0;
	{
		FakeBus bus;
		FakeHost host;
		host.console = {"Alice\n", "30\n", "3.14\n", "yes\n", "Bob\n", "x\n", "no\n"};
		auto app = startRpc(bus);
		total = converse(*app, bus, by(host));
	}
	ASSERT_GT(total, 50u);
	for (size_t k = 0; k <= total; k++) {
		FakeBus bus;
		FakeHost host;
		host.console = {"Alice\n", "30\n", "3.14\n", "yes\n", "Bob\n", "x\n", "no\n"};
		auto app = startRpc(bus);
		converse(*app, bus, by(host), k);
		app.reset();
	}
}

TEST(FirmwareApps, RpcTermFromTheHostDestroysTheEndpoint)
{
	FakeBus bus;
	auto app = startRpc(bus);
	ASSERT_EQ(bus.sent.size(), 1u);
	app->receive(bus, kLinuxA, kRemote, rpcBytes(6, 0));
	ASSERT_EQ(bus.unannounced.size(), 1u);
	app->receive(bus, kLinuxA, kRemote, rpcBytes(3, 1));
	app->receive(bus, kLinuxA, kRemote, kInitMsg);
	EXPECT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

TEST(FirmwareApps, RpcTermAsTheFirstMessage)
{
	FakeBus bus;
	auto app = boot(bus, spec("rpc"));
	app->receive(bus, kLinuxA, kRemote, rpcBytes(6, 0));
	EXPECT_TRUE(bus.sent.empty());
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

TEST(FirmwareApps, RpcErrorResultsArePrintedAndTheDemoGoesOn)
{
	// OPEN fails: the demo prints fd = -1 and carries on with fd -1.
	FakeBus bus;
	FakeHost host;
	host.console = {"a 1 1 no\n"};
	auto app = startRpc(bus);
	Answer a = [&](const FakeBus::Sent &s) -> std::optional<Bytes> {
		Rpc r = parseRpc(s.data);
		if (r.id == 1) {
			host.calls.push_back(r);
			return rpcBytes(1, -1);
		}
		return host.serve(s.data);
	};
	converse(*app, bus, a);
	EXPECT_NE(host.out.find("\nRemote>Opened file 'remote.file' with fd = -1\r\n"), std::string::npos);
	EXPECT_NE(host.out.find("\nRemote>Wrote to fd = -1, size = -1, content = "), std::string::npos);
	EXPECT_NE(host.out.find("\nRemote>Read from fd = -1, size = -1, printing contents below .. \r\n"),
		  std::string::npos);
	EXPECT_TRUE(host.term);
}

// Hostile hosts: lie for the first `hostileSteps` answers, then behave
// (with a console that eventually says "no"). The remote must never crash,
// never send more than fits a message, and end: TERM, or at least its
// endpoint gone. Some lies end the demo by themselves (every call fails, or
// stdin reaches EOF); others keep feeding the console bytes, and like the
// real demo the simulated one then prompts for as long as the host answers,
// so those are only told for a while.
struct Hostile {
	const char *name;
	bool endsAlone;
	std::function<std::optional<Bytes>(const Rpc &, const Bytes &honest, size_t step, std::mt19937 &)> lie;
};

void runHostile(const Hostile &h, unsigned seed, size_t hostileSteps)
{
	SCOPED_TRACE(std::string(h.name) + " seed " + std::to_string(seed));
	FakeBus bus;
	FakeHost host;
	host.consoleCycle = {"n\n", "1\n", "1\n", "no\n"};
	std::mt19937 rng(seed);
	size_t step = 0;
	auto app = startRpc(bus);
	Answer a = [&](const FakeBus::Sent &s) -> std::optional<Bytes> {
		std::optional<Bytes> honest = host.serve(s.data);
		if (step++ >= hostileSteps || !honest)
			return honest;
		return h.lie(parseRpc(s.data), *honest, step, rng);
	};
	size_t steps = converse(*app, bus, a, 200000);
	EXPECT_LT(steps, 200000u) << "the demo never ended";
	EXPECT_EQ(bus.unannounced.size(), 1u);
	if (host.term) {
		EXPECT_EQ(bus.sent.back().data, rpcBytes(6, 0, 0, 0));
	}
	EXPECT_EQ(bus.crashes, 0);
}

const std::vector<Hostile> &hostiles()
{
	static const std::vector<Hostile> v = {
		{"wrong ids", true,
		 [](const Rpc &r, const Bytes &, size_t step, std::mt19937 &) -> std::optional<Bytes> {
			 return rpcBytes(r.id % 5 + 1 + uint32_t(step % 3 == 0 ? 40 : 0), 1, 0, 0);
		 }},
		{"negative results", true,
		 [](const Rpc &r, const Bytes &, size_t, std::mt19937 &) -> std::optional<Bytes> {
			 return rpcBytes(r.id, -1, 0, 0);
		 }},
		{"truncated", true,
		 [](const Rpc &, const Bytes &honest, size_t step, std::mt19937 &) -> std::optional<Bytes> {
			 Bytes b = honest;
			 b.resize(std::min(b.size(), step % 20));
			 return b;
		 }},
		{"huge data_len", false,
		 [](const Rpc &r, const Bytes &honest, size_t step, std::mt19937 &) -> std::optional<Bytes> {
			 if (r.id != 4)
				 return honest;
			 int32_t f1 = step % 2 ? INT32_MAX : 100000;
			 Bytes b = rpcBytes(4, f1, 0, 0xFFFFFFFFu);
			 if (step % 3)
				 b.resize(496, 'A');
			 return b;
		 }},
		{"data_len past the message", false,
		 [](const Rpc &r, const Bytes &honest, size_t, std::mt19937 &) -> std::optional<Bytes> {
			 if (r.id != 4)
				 return honest;
			 return rpcBytes(4, 400, 0, 400, "no\n"); // claims 400, carries 3
		 }},
		{"zero-byte writes", true,
		 [](const Rpc &r, const Bytes &honest, size_t, std::mt19937 &) -> std::optional<Bytes> {
			 return r.id == 3 ? rpcBytes(3, 0) : honest;
		 }},
		{"garbage", false,
		 [](const Rpc &, const Bytes &, size_t, std::mt19937 &rng) -> std::optional<Bytes> {
			 Bytes b(rng() % 497);
			 for (auto &x : b)
				 x = uint8_t(rng());
			 // Mostly plausible ids, so the replies get past the id check;
			 // a TERM (6) now and then ends the demo the hard way.
			 static const uint8_t ids[] = {0, 1, 2, 3, 4, 4, 4, 5, 7};
			 if (b.size() >= 4 && rng() % 4) {
				 b[0] = rng() % 300 ? ids[rng() % sizeof(ids)] : 6;
				 b[1] = b[2] = b[3] = 0;
			 }
			 return b;
		 }},
		{"nothing", true,
		 [](const Rpc &, const Bytes &, size_t, std::mt19937 &) -> std::optional<Bytes> {
			 return Bytes{};
		 }},
	};
	return v;
}

TEST(FirmwareApps, RpcSurvivesHostileReplies)
{
	for (const auto &h : hostiles()) {
		if (h.endsAlone)
			runHostile(h, 1, SIZE_MAX); // hostile throughout
		runHostile(h, 2, 60);               // hostile during the file part
		runHostile(h, 3, 400);
	}
}

TEST(FirmwareApps, RpcSurvivesFuzzedReplies)
{
	const Hostile &garbage = hostiles()[6];
	ASSERT_STREQ(garbage.name, "garbage");
	for (unsigned seed = 10; seed < 60; seed++)
		runHostile(garbage, seed, 5 + seed * 7);
}

// ---------------------------------------------------------------- crash ---

TEST(FirmwareApps, CrashAfterMessages)
{
	FakeBus bus;
	FirmwareSpec s = spec("crash");
	s.crashAfterMsgs = 3;
	auto app = boot(bus, s);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(bus.crashes, 0);
		app->receive(bus, kLinuxA, kRemote, pattern(10, unsigned(i)));
	}
	EXPECT_EQ(bus.sent.size(), 3u); // it echoes as the echo demo does
	EXPECT_EQ(bus.sent[2].data, pattern(10, 2));
	EXPECT_EQ(bus.crashes, 1);
	app->receive(bus, kLinuxA, kRemote, pattern(10, 9));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	bus.advance(100000);
	EXPECT_EQ(bus.sent.size(), 3u);
	EXPECT_EQ(bus.crashes, 1);
	EXPECT_TRUE(bus.unannounced.empty()); // a faulted core says nothing
}

TEST(FirmwareApps, CrashAfterTime)
{
	FakeBus bus;
	FirmwareSpec s = spec("crash");
	s.crashAfterMs = 100;
	auto app = boot(bus, s);
	bus.advance(99);
	app->receive(bus, kLinuxA, kRemote, pattern(4, 1));
	EXPECT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.crashes, 0);
	bus.advance(1);
	EXPECT_EQ(bus.crashes, 1);
	app->receive(bus, kLinuxA, kRemote, pattern(4, 1));
	bus.advance(100000);
	EXPECT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.crashes, 1);
}

TEST(FirmwareApps, CrashByCountOrTimeCrashesOnce)
{
	FakeBus bus;
	FirmwareSpec s = spec("crash");
	s.crashAfterMsgs = 1;
	s.crashAfterMs = 50;
	auto app = boot(bus, s);
	app->receive(bus, kLinuxA, kRemote, pattern(4, 1));
	EXPECT_EQ(bus.crashes, 1);
	bus.advance(1000);
	EXPECT_EQ(bus.crashes, 1);
}

TEST(FirmwareApps, CrashWithoutTriggersIsAnEcho)
{
	FakeBus bus;
	auto app = boot(bus, spec("crash"));
	for (int i = 0; i < 50; i++)
		app->receive(bus, kLinuxA, kRemote, pattern(size_t(i), 1));
	bus.advance(1000000);
	EXPECT_EQ(bus.sent.size(), 50u);
	EXPECT_EQ(bus.crashes, 0);
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

TEST(FirmwareApps, CrashAfterACleanShutdownDoesNotHappen)
{
	FakeBus bus;
	FirmwareSpec s = spec("crash");
	s.crashAfterMs = 100;
	auto app = boot(bus, s);
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	bus.advance(1000);
	EXPECT_EQ(bus.crashes, 0);
	EXPECT_EQ(bus.unannounced.size(), 1u);
}

TEST(FirmwareApps, CrashSurvivesBeingDestroyedFromReportCrash)
{
	{
		FakeBus bus;
		FirmwareSpec s = spec("crash");
		s.crashAfterMsgs = 1;
		std::unique_ptr<FirmwareApp> app = boot(bus, s);
		bus.onCrash = [&] { app.reset(); };
		FirmwareApp *raw = app.get();
		raw->receive(bus, kLinuxA, kRemote, pattern(4, 1));
		EXPECT_FALSE(app);
		EXPECT_EQ(bus.crashes, 1);
	}
	{
		FakeBus bus;
		FirmwareSpec s = spec("crash");
		s.crashAfterMs = 10;
		std::unique_ptr<FirmwareApp> app = boot(bus, s);
		bus.onCrash = [&] { app.reset(); };
		bus.advance(10);
		EXPECT_FALSE(app);
		EXPECT_EQ(bus.crashes, 1);
	}
}

TEST(FirmwareApps, TimersOfAStoppedCoreDoNothing)
{
	FakeBus bus;
	FirmwareSpec c = spec("crash");
	c.crashAfterMs = 10;
	FirmwareSpec sl = spec("slow");
	auto crash = boot(bus, c);
	auto slow = boot(bus, sl);
	slow->receive(bus, kLinuxA, kRemote, pattern(4, 1));
	crash.reset();
	slow.reset();
	bus.advance(1000);
	EXPECT_EQ(bus.crashes, 0);
	EXPECT_TRUE(bus.sent.empty());
}

// ----------------------------------------------------------------- hang ---

TEST(FirmwareApps, HangAnnouncesAndDropsEverything)
{
	FakeBus bus;
	auto app = boot(bus, spec("hang"));
	EXPECT_EQ(bus.announced.size(), 1u);
	app->receive(bus, kLinuxA, kRemote, pattern(10, 1));
	app->receive(bus, kLinuxA, kRemote, kInitMsg);
	app->receive(bus, kLinuxA, kRemote, Bytes(296, 1));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg());
	bus.advance(1000000);
	EXPECT_TRUE(bus.sent.empty());
	EXPECT_TRUE(bus.unannounced.empty());
	EXPECT_EQ(bus.crashes, 0);
}

// ----------------------------------------------------------------- slow ---

TEST(FirmwareApps, SlowDelaysEveryReplyInOrder)
{
	for (bool lifo : {false, true}) {
		SCOPED_TRACE(lifo ? "bus runs ties newest first" : "bus runs ties oldest first");
		FakeBus bus;
		bus.lifoTies = lifo;
		FirmwareSpec s = spec("slow");
		s.replyDelayMs = 30;
		auto app = boot(bus, s);
		app->receive(bus, kLinuxA, kRemote, pattern(5, 1));
		bus.advance(10);
		app->receive(bus, kLinuxB, kRemote, pattern(6, 2));
		app->receive(bus, kLinuxA, kRemote, pattern(7, 3));
		bus.advance(19);
		EXPECT_TRUE(bus.sent.empty());
		bus.advance(1);
		ASSERT_EQ(bus.sent.size(), 1u);
		EXPECT_EQ(bus.sent[0].at, 30);
		EXPECT_EQ(bus.sent[0].data, pattern(5, 1));
		bus.advance(9);
		EXPECT_EQ(bus.sent.size(), 1u);
		bus.advance(1);
		ASSERT_EQ(bus.sent.size(), 3u);
		EXPECT_EQ(bus.sent[1].data, pattern(6, 2));
		EXPECT_EQ(bus.sent[2].data, pattern(7, 3));
		EXPECT_EQ(bus.sent[2].at, 40);
		for (const auto &m : bus.sent) {
			EXPECT_EQ(m.src, kRemote);
			EXPECT_EQ(m.dst, kLinuxA); // first sender
		}
	}
}

TEST(FirmwareApps, SlowDefaultsTo50ms)
{
	FakeBus bus;
	auto app = boot(bus, spec("slow"));
	app->receive(bus, kLinuxA, kRemote, pattern(5, 1));
	bus.advance(49);
	EXPECT_TRUE(bus.sent.empty());
	bus.advance(1);
	ASSERT_EQ(bus.sent.size(), 1u);
	EXPECT_EQ(bus.sent[0].data, pattern(5, 1));
}

TEST(FirmwareApps, SlowReplyToSenderKeepsEachSender)
{
	FakeBus bus;
	FirmwareSpec s = spec("slow");
	s.flags = AMPSIM_FW_REPLY_TO_SENDER;
	auto app = boot(bus, s);
	app->receive(bus, kLinuxA, kRemote, pattern(5, 1));
	app->receive(bus, kLinuxB, kRemote, pattern(5, 2));
	bus.advance(50);
	ASSERT_EQ(bus.sent.size(), 2u);
	EXPECT_EQ(bus.sent[0].dst, kLinuxA);
	EXPECT_EQ(bus.sent[1].dst, kLinuxB);
}

TEST(FirmwareApps, SlowShutdownWaitsForTheRepliesAheadOfIt)
{
	FakeBus bus;
	auto app = boot(bus, spec("slow"));
	app->receive(bus, kLinuxA, kRemote, pattern(5, 1));
	app->receive(bus, kLinuxA, kRemote, pattern(5, 2));
	app->receive(bus, kLinuxA, kRemote, shutdownMsg(8));
	app->receive(bus, kLinuxA, kRemote, pattern(5, 3)); // after the shutdown: ignored
	EXPECT_TRUE(bus.unannounced.empty());
	bus.advance(50);
	ASSERT_EQ(bus.sent.size(), 2u);
	EXPECT_EQ(bus.sent[1].data, pattern(5, 2));
	ASSERT_EQ(bus.unannounced.size(), 1u);
	bus.advance(1000);
	EXPECT_EQ(bus.sent.size(), 2u);

	FakeBus idle;
	auto app2 = boot(idle, spec("slow"));
	app2->receive(idle, kLinuxA, kRemote, shutdownMsg());
	EXPECT_EQ(idle.unannounced.size(), 1u); // nothing pending: at once
}

} // namespace
} // namespace ampsim
