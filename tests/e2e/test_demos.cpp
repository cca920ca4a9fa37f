// SPDX-License-Identifier: MIT
// The OpenAMP demos end to end: ampctl echo-test and matmul against ampsim's
// echo and matrix-multiply firmware (docs/openamp-demos.md), through ampd.
//
// The stock echo answers the first Linux address it heard from, so each test
// runs one echo-test per boot of the firmware (a second client would have
// another address and hear nothing). Echo messages are 17..488 bytes: never
// the zero-byte writes that do not reach ampsim (tests/sim/README.md).
#include "ampd_fixture.h"

namespace amp::e2e {
namespace {

class Demos : public AmpdTest {
protected:
	void SetUp() override
	{
		AmpdTest::SetUp();
		if (IsSkipped() || HasFailure())
			return;
		// The demos' shutdown word on their channel, as a board's config has it.
		writeConfig(config({{"shutdown", {{"message", "0xEF56A55A"}, {"channel", kDemoChannel}}}}));
		ASSERT_TRUE(startDaemon());
	}
	static Matrix matrix(const json &j)
	{
		return j.get<Matrix>();
	}
};

TEST_P(Demos, EchoTestEverySizePasses)
{
	boot(kEcho);
	RunResult r = ampctl({"echo-test", kRemote}, {}, 60s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_NE(r.out.find("): sizes 1..472 (+16 header), 1 round\n"), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("\nround 1: sizes 1..472: 0 errors\n"), std::string::npos) << r.describe();
	// 472 messages of 17..488 bytes: 472 * (17 + 488) / 2.
	EXPECT_NE(r.out.find("1 round, sizes 1..472, 472 messages, 119180 bytes, 0 errors (0 corrupt, 0 lost)\n"), std::string::npos)
		<< r.describe();
	EXPECT_NE(r.out.find("rtt min/p50/p99/max = "), std::string::npos) << r.describe();
	EXPECT_EQ(daemonState(), "running") << "without --firmware the remote is left running";
}

TEST_P(Demos, EchoTestJsonRounds)
{
	boot(kEcho);
	RunResult r = ampctl({"--json", "echo-test", kRemote, "--rounds", "3", "--sizes", "100..131"}, {}, 60s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	json j = parseReply(r.out);
	EXPECT_EQ(j.value("ok", false), true) << r.describe();
	EXPECT_EQ(j.value("messages", 0), 96) << r.describe();
	EXPECT_EQ(j.value("errors", -1), 0) << r.describe();
	EXPECT_TRUE(j["rtt_us"].is_object()) << r.describe();
	EXPECT_FALSE(j.contains("stop")) << r.describe();
}

TEST_P(Demos, EchoTestAgainstACorruptingRemoteNamesTheRound)
{
	boot(kEcho);
	std::string out;
	ASSERT_EQ(sim_.ctl({"corrupt", "0", "1"}, &out), 0) << out;
	RunResult r = ampctl({"echo-test", kRemote, "--rounds", "2", "--sizes", "20..29"}, {}, 60s);
	EXPECT_EQ(r.exit, kFailed) << r.describe();
	EXPECT_NE(r.out.find("\nround 1, size 20: corrupt: "), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("\nround 1: sizes 20..29: 1 errors\nround 2: sizes 20..29: 0 errors\n"), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("2 rounds, sizes 20..29, 20 messages, "), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find(" 1 errors (1 corrupt, 0 lost)\n"), std::string::npos) << r.describe();
	EXPECT_NE(r.err.find("ampctl: echo-test r5-0: 1 of 20 echoes failed (1 corrupt, 0 lost)"), std::string::npos) << r.describe();
}

TEST_P(Demos, EchoTestWithFirmwareAndStopShutsTheRemoteDownThroughAmpd)
{
	RunResult r = ampctl({"echo-test", kRemote, "--firmware", kEcho, "--stop", "--sizes", "1..50"}, {}, 60s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_NE(r.out.find("r5-0: running"), std::string::npos) << "the start's outcome\n" << r.describe();
	EXPECT_NE(r.out.find("50 messages"), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("\nstop: r5-0: offline ("), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("acknowledged the shutdown message"), std::string::npos) << r.describe();
	EXPECT_EQ(sysState(), "offline");
	EXPECT_EQ(daemonState(), "offline") << "stopped on purpose: no restart";

	// --json, and --firmware alone stops too.
	RunResult j = ampctl({"--json", "echo-test", kRemote, "--firmware", kEcho, "--sizes", "30"}, {}, 60s);
	EXPECT_EQ(j.exit, kOk) << j.describe();
	json report = parseReply(j.out);
	EXPECT_EQ(report.value("messages", 0), 1) << j.describe();
	ASSERT_TRUE(report.contains("stop")) << j.describe();
	EXPECT_EQ(report["stop"].value("ok", false), true) << j.describe();
	EXPECT_EQ(report["stop"].value("shutdown_message", false), true) << j.describe();
	EXPECT_NE(report["stop"].value("detail", "").find("acknowledged"), std::string::npos) << j.describe();
	EXPECT_EQ(sysState(), "offline");
}

TEST_P(Demos, MatmulTable)
{
	boot(kMatmul);
	RunResult r = ampctl({"matmul", kRemote, "--count", "3", "--seed", "11"}, {}, 60s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	EXPECT_NE(r.out.find("): seed 11\n"), std::string::npos) << r.describe();
	for (int i = 1; i <= 3; ++i)
		EXPECT_NE(r.out.find("\nmultiplication " + std::to_string(i) + ": ok ("), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("A              B              A x B\n"), std::string::npos) << r.describe();
	EXPECT_NE(r.out.find("--- r5-0 matmul: 3 multiplications, 0 wrong ---\n"), std::string::npos) << r.describe();
}

TEST_P(Demos, MatmulJsonProductIsRight)
{
	boot(kMatmul);
	RunResult r = ampctl({"--json", "matmul", kRemote, "--count", "2"}, {}, 60s);
	EXPECT_EQ(r.exit, kOk) << r.describe();
	json j = parseReply(r.out);
	ASSERT_TRUE(j.is_object()) << r.describe();
	EXPECT_EQ(j.value("ok", false), true) << r.describe();
	ASSERT_EQ(j["results"].size(), 2u) << r.describe();
	for (const auto &x : j["results"]) {
		// Checked here too, not only by ampctl.
		EXPECT_EQ(matrix(x["product"]), matrixProduct(matrix(x["a"]), matrix(x["b"]))) << r.describe();
		for (const auto &row : matrix(x["a"]))
			for (auto v : row)
				EXPECT_LE(v, 9u);
	}
}

INSTANTIATE_TEST_SUITE_P(Layouts, Demos, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
