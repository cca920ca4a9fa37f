// SPDX-License-Identifier: MIT
// ampctl echo-test and matmul: the demos' payloads byte for byte, their checks and output, and the commands against a fake ampd.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ampctl.hpp"
#include "fake_ampd.h"

using namespace amp;
using namespace amp::cli;
using namespace amp::test;
using namespace std::chrono_literals;

namespace {

struct Output {
	std::ostringstream out, err;
	Context context(const std::string &socket, bool json = false) { return Context{socket, json, &out, &err}; }
};

const ChannelInfo kDemo{"r5-0", "rpmsg-openamp-demo-channel", 0x401, 0x400};

// A fake ampd that answers one open with a relay stream and plays the remote: behave(socket).
FakeServer demoServer(std::function<void(int socket)> behave)
{
	return FakeServer([=](Peer &p) {
		p.hello();
		Request open = p.read();
		if (open.type() != RequestType::Open) {
			ADD_FAILURE() << "expected an open";
			return;
		}
		EXPECT_EQ(std::get<Open>(open.body).channel, "rpmsg-openamp-demo-channel");
		SocketPair stream = seqpacketPair();
		p.replyWithFds(open, OpenReply{kDemo, kMaxRpmsgPayload, false, true, 0}, {stream.client.get()});
		stream.client.reset();
		behave(stream.ampd.get());
		p.waitForClose();
	});
}

// Relay packets are a type byte (0: a message) and the message.
std::vector<std::uint8_t> messageOf(const std::string &packet)
{
	return std::vector<std::uint8_t>(packet.begin() + 1, packet.end());
}

std::uint32_t le32(const std::uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

} // namespace

TEST(AmpctlDemoEcho, PayloadIsTheDemosStruct)
{
	auto p = echoPayload(0x0102030405060708ull, 3);
	ASSERT_EQ(p.size(), 19u);
	EXPECT_EQ(std::vector<std::uint8_t>(p.begin(), p.begin() + 16),
		  (std::vector<std::uint8_t>{8, 7, 6, 5, 4, 3, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0}));
	EXPECT_EQ(p[16], 0xA5);
	EXPECT_EQ(p[18], 0xA5);
	EXPECT_EQ(echoPayload(1, kEchoMaxSize).size(), 488u) << "the largest fits one rpmsg message with room to spare";
}

TEST(AmpctlDemoEcho, EveryByteIsChecked)
{
	auto p = echoPayload(7, 40);
	EXPECT_EQ(echoProblem(7, 40, p), std::nullopt);
	auto bad = p;
	bad[16 + 9] = 0x5A;
	EXPECT_EQ(echoProblem(7, 40, bad), "data byte 9 is 0x5a, not 0xa5");
	bad = p;
	bad[0] = 8;
	EXPECT_EQ(echoProblem(7, 40, bad), "num 8 for 7");
	bad = p;
	bad[8] = 41;
	EXPECT_EQ(echoProblem(7, 40, bad), "size 41 for 40");
	EXPECT_EQ(echoProblem(7, 40, std::span(p).first(55)), "55 bytes back for 56");
	EXPECT_EQ(echoProblem(7, 40, {}), "0 bytes back for 56");
}

TEST(AmpctlDemoEcho, SizeRanges)
{
	EXPECT_EQ(parseSizeRange("1..472"), (std::pair<std::size_t, std::size_t>{1, 472}));
	EXPECT_EQ(parseSizeRange("17..17"), (std::pair<std::size_t, std::size_t>{17, 17}));
	EXPECT_EQ(parseSizeRange("100"), (std::pair<std::size_t, std::size_t>{100, 100}));
	for (const char *bad : {"0..4", "1..473", "5..4", "", "..", "1..", "a..b", "1...4", "-1..3", " 1..2"})
		EXPECT_EQ(parseSizeRange(bad), std::nullopt) << bad;
}

TEST(AmpctlDemoEcho, SummaryAndJson)
{
	EchoStats s;
	s.rounds = 2;
	s.minSize = 1;
	s.maxSize = 3;
	s.sent = 6;
	s.received = 4;
	s.corrupt = 1;
	s.bytes = 2 * (17 + 18 + 19);
	s.rttUs = {90, 80, 130, 100};
	EXPECT_EQ(s.lost(), 1u);
	EXPECT_EQ(formatEchoSummary("r5-0", s), "--- r5-0 echo-test statistics ---\n"
						"2 rounds, sizes 1..3, 6 messages, 108 bytes, 2 errors (1 corrupt, 1 lost)\n"
						"rtt min/p50/p99/max = 80/90/130/130 us\n");
	auto j = nlohmann::json::parse(echoSummaryJson("r5-0", false, s, {{2, 3, "corrupt: data byte 0 is 0x00, not 0xa5"}}));
	EXPECT_EQ(j["ok"], false);
	EXPECT_EQ(j["channel"], "rpmsg-openamp-demo-channel");
	EXPECT_EQ(j["messages"], 6);
	EXPECT_EQ(j["errors"], 2);
	EXPECT_EQ(j["sizes"], (nlohmann::json{{"min", 1}, {"max", 3}}));
	EXPECT_EQ(j["failures"][0]["round"], 2);
	EXPECT_EQ(j["failures"][0]["size"], 3);
	EXPECT_EQ(j["rtt_us"]["p50"], 90);
}

TEST(AmpctlDemoEcho, AllSizesAgainstAnEcho)
{
	std::uint64_t seen = 0;
	auto server = demoServer([&](int socket) {
		while (auto packet = readPacket(socket)) {
			++seen;
			sendWithFds(socket, *packet, {});
		}
	});
	Output o;
	EchoTestArgs args;
	args.remote = "r5-0";
	args.rounds = 2;
	args.minSize = 1;
	args.maxSize = 20;
	EXPECT_EQ(cmdEchoTest(o.context(server.path()), args), kExitOk) << o.err.str();
	std::string out = o.out.str();
	EXPECT_EQ(out.rfind("ECHO r5-0 rpmsg-openamp-demo-channel (src 0x401, dst 0x400, relay): sizes 1..20 (+16 header), 2 rounds\n", 0), 0u)
		<< out;
	EXPECT_NE(out.find("\nround 1: sizes 1..20: 0 errors\nround 2: sizes 1..20: 0 errors\n"), std::string::npos) << out;
	EXPECT_NE(out.find("2 rounds, sizes 1..20, 40 messages, 1060 bytes, 0 errors (0 corrupt, 0 lost)\n"), std::string::npos) << out;
	EXPECT_TRUE(std::regex_search(out, std::regex("rtt min/p50/p99/max = [0-9]+/[0-9]+/[0-9]+/[0-9]+ us\n$"))) << out;
	EXPECT_EQ(o.err.str(), "");
}

TEST(AmpctlDemoEcho, CorruptAndLostEchoesFailNamingTheRound)
{
	auto server = demoServer([](int socket) {
		int n = 0;
		while (auto packet = readPacket(socket)) {
			++n;
			if (n == 2)
				continue; // lost
			if (n == 3)
				(*packet)[1 + 16] ^= 0xFF; // the first data byte
			sendWithFds(socket, *packet, {});
		}
	});
	Output o;
	EchoTestArgs args;
	args.remote = "r5-0";
	args.minSize = 5;
	args.maxSize = 8;
	args.timeout = 100ms;
	EXPECT_EQ(cmdEchoTest(o.context(server.path()), args), kExitFailed);
	std::string out = o.out.str();
	EXPECT_NE(out.find("\nround 1, size 6: lost: no echo within 0.1 s\n"), std::string::npos) << out;
	EXPECT_NE(out.find("\nround 1, size 7: corrupt: data byte 0 is 0x5a, not 0xa5\n"), std::string::npos) << out;
	EXPECT_NE(out.find("1 round, sizes 5..8, 4 messages, 90 bytes, 2 errors (1 corrupt, 1 lost)\n"), std::string::npos) << out;
	EXPECT_EQ(o.err.str(), "ampctl: echo-test r5-0: 2 of 4 echoes failed (1 corrupt, 1 lost)\n");

	auto again = demoServer([](int socket) {
		while (auto packet = readPacket(socket)) {
			(*packet)[1] ^= 0x80; // num: not an earlier one
			sendWithFds(socket, *packet, {});
		}
	});
	Output j;
	args.timeout = 100ms;
	EXPECT_EQ(cmdEchoTest(j.context(again.path(), true), args), kExitFailed);
	auto report = nlohmann::json::parse(j.out.str());
	EXPECT_EQ(report["ok"], false);
	EXPECT_EQ(report["corrupt"], 4);
	EXPECT_EQ(report["failures"].size(), 4u);
	EXPECT_FALSE(report.contains("stop")) << "no --firmware, no --stop: the remote is left running";
}

TEST(AmpctlDemoEcho, ArgumentsAreCheckedBeforeConnecting)
{
	Output o;
	auto ctx = o.context("/nonexistent/ampd.sock");
	EchoTestArgs args;
	args.remote = "r5-0";
	args.rounds = 0;
	EXPECT_EQ(cmdEchoTest(ctx, args), kExitUsage);
	args.rounds = 1;
	args.maxSize = 473;
	EXPECT_EQ(cmdEchoTest(ctx, args), kExitUsage);
	args.maxSize = 10;
	args.remote = "r5 0";
	EXPECT_EQ(cmdEchoTest(ctx, args), kExitUsage);
	args.remote = "r5-0";
	EXPECT_EQ(cmdEchoTest(ctx, args), kExitUnreachable);
}

TEST(AmpctlDemoMatmul, MathAndTheWireFormat)
{
	Matrix id{}, a{};
	for (std::size_t i = 0; i < kMatrixN; ++i) {
		id[i][i] = 1;
		for (std::size_t j = 0; j < kMatrixN; ++j)
			a[i][j] = static_cast<std::uint32_t>((i * kMatrixN + j) % 10);
	}
	EXPECT_EQ(multiply(a, id), a);
	EXPECT_EQ(multiply(id, a), a);
	Matrix nines{};
	for (auto &r : nines)
		r.fill(9);
	EXPECT_EQ(multiply(nines, nines)[5][5], 486u);

	auto req = matmulRequest(a, id);
	ASSERT_EQ(req.size(), 296u);
	EXPECT_EQ(le32(req.data()), 6u);
	EXPECT_EQ(le32(req.data() + 4 + 4 * 7), a[1][1]);
	EXPECT_EQ(le32(req.data() + 148), 6u);
	EXPECT_EQ(le32(req.data() + 148 + 4), 1u);
	EXPECT_EQ(le32(req.data() + 148 + 8), 0u);

	auto back = parseMatrix(std::span(req).first(148));
	ASSERT_TRUE(back);
	EXPECT_EQ(*back, a);
	EXPECT_FALSE(parseMatrix(std::span(req).first(147)));
	auto wrongSize = std::vector<std::uint8_t>(req.begin(), req.begin() + 148);
	wrongSize[0] = 5;
	ASSERT_FALSE(parseMatrix(wrongSize));
	EXPECT_EQ(parseMatrix(wrongSize).error().context, "size 5 for 6");
}

TEST(AmpctlDemoMatmul, SeededValuesAreTheDemosAndRepeatable)
{
	std::uint64_t s1 = 42, s2 = 42;
	Matrix a = randomMatrix(s1), b = randomMatrix(s2);
	EXPECT_EQ(a, b);
	EXPECT_NE(randomMatrix(s1), a) << "the state moves on";
	for (const auto &r : a)
		for (auto v : r)
			EXPECT_LE(v, 9u);
}

TEST(AmpctlDemoMatmul, TableAndJson)
{
	Matrix a{}, b{};
	for (std::size_t i = 0; i < kMatrixN; ++i)
		for (std::size_t j = 0; j < kMatrixN; ++j) {
			a[i][j] = 9;
			b[i][j] = i == j ? 2 : 0;
		}
	std::string t = formatMatrices(a, b, multiply(a, b));
	EXPECT_EQ(t.substr(0, t.find('\n') + 1), "A              B              A x B\n");
	EXPECT_NE(t.find("\n 9 9 9 9 9 9    2 0 0 0 0 0     18  18  18  18  18  18\n"), std::string::npos) << t;
	EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 7);
	auto j = nlohmann::json::parse(matrixJson(b));
	EXPECT_EQ(j.size(), 6u);
	EXPECT_EQ(j[1], (nlohmann::json{0, 2, 0, 0, 0, 0}));
}

namespace {

// The demo remote: the product of the two matrices it got, or `tamper` with it.
void multiplier(int socket, bool tamper)
{
	while (auto packet = readPacket(socket)) {
		auto m = messageOf(*packet);
		if (m.size() != 296)
			break;
		auto a = parseMatrix(std::span(m).first(148));
		auto b = parseMatrix(std::span(m).subspan(148));
		if (!a || !b)
			break;
		Matrix p = multiply(*a, *b);
		if (tamper)
			p[2][3] += 1;
		auto out = matmulRequest(p, p);
		out.resize(148);
		std::string reply(1, '\0');
		reply.append(out.begin(), out.end());
		sendWithFds(socket, reply, {});
	}
}

} // namespace

TEST(AmpctlDemoMatmul, ProductsAreCheckedAgainstALocalOne)
{
	auto server = demoServer([](int socket) { multiplier(socket, false); });
	Output o;
	EXPECT_EQ(cmdMatmul(o.context(server.path()), MatmulArgs{"r5-0", 2, 7}), kExitOk) << o.err.str();
	std::string out = o.out.str();
	EXPECT_EQ(out.rfind("MATMUL r5-0 rpmsg-openamp-demo-channel (src 0x401, dst 0x400, relay): seed 7\n", 0), 0u) << out;
	EXPECT_TRUE(std::regex_search(out, std::regex("\nmultiplication 2: ok \\([0-9]+ us\\)\nA  "))) << out;
	EXPECT_NE(out.find("--- r5-0 matmul: 2 multiplications, 0 wrong ---\n"), std::string::npos) << out;

	auto json = demoServer([](int socket) { multiplier(socket, false); });
	Output j;
	EXPECT_EQ(cmdMatmul(j.context(json.path(), true), MatmulArgs{"r5-0", 1, 7}), kExitOk) << j.err.str();
	auto r = nlohmann::json::parse(j.out.str());
	EXPECT_EQ(r["ok"], true);
	EXPECT_EQ(r["seed"], 7);
	EXPECT_EQ(r["results"][0]["product"], r["results"][0]["expected"]);
	std::uint64_t s = 7;
	EXPECT_EQ(r["results"][0]["a"], nlohmann::json::parse(matrixJson(randomMatrix(s)))) << "the seed says which matrices";
}

TEST(AmpctlDemoMatmul, AWrongOrMissingProductFails)
{
	auto server = demoServer([](int socket) { multiplier(socket, true); });
	Output o;
	EXPECT_EQ(cmdMatmul(o.context(server.path()), MatmulArgs{"r5-0", 1, 3}), kExitFailed);
	EXPECT_NE(o.out.str().find("multiplication 1: FAILED: wrong product: [2][3] is "), std::string::npos) << o.out.str();
	EXPECT_EQ(o.err.str(), "ampctl: matmul r5-0: 1 of 1 products wrong or missing\n");

	auto silent = demoServer([](int socket) {
		while (readPacket(socket)) {
		}
	});
	Output t;
	EXPECT_EQ(cmdMatmul(t.context(silent.path(), true), MatmulArgs{"r5-0", 1, 3, 100ms}), kExitFailed);
	auto r = nlohmann::json::parse(t.out.str());
	EXPECT_EQ(r["results"][0]["error"], "no product within 0.1 s");
}
