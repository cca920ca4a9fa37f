// SPDX-License-Identifier: MIT
// Link timing's arithmetic and waits (link_timing.h), without a simulator.
#include <gtest/gtest.h>

#include <thread>

#include "link_timing.h"

namespace ampsim {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(LinkTiming, BoardMatchesThePublishedRoundTrips)
{
	LinkTiming board = boardLink();
	ASSERT_TRUE(board.enabled);
	// One way is half the published echo round trip.
	EXPECT_EQ(board.transfer(1), 16500ns);
	EXPECT_EQ(board.transfer(490), 77500ns);
	EXPECT_NEAR(board.baseUs, 16.37526, 1e-5);
	EXPECT_NEAR(board.perByteUs, 0.1247444, 1e-7);
	EXPECT_EQ(board.transfer(0), 16376ns) << "rounded up";
	EXPECT_EQ(board.transfer(496), 78249ns);
	EXPECT_EQ(linkByName("board")->transfer(1), 16500ns);
}

TEST(LinkTiming, NoneCostsNothing)
{
	auto none = linkByName("none");
	ASSERT_TRUE(none);
	EXPECT_FALSE(none->enabled);
	EXPECT_EQ(none->transfer(496), 0ns);
	EXPECT_EQ(describe(*none), "none");
	EXPECT_FALSE(linkByName("fast"));
}

TEST(LinkTiming, ExplicitCosts)
{
	std::string why;
	auto l = parseLinkUs("10,0.5", why);
	ASSERT_TRUE(l) << why;
	EXPECT_TRUE(l->enabled);
	EXPECT_EQ(l->transfer(4), 12us);
	l = parseLinkUs("0,0", why);
	ASSERT_TRUE(l);
	EXPECT_EQ(l->transfer(100), 0ns);
	l = parseLinkUs("2000,0", why);
	ASSERT_TRUE(l);
	EXPECT_EQ(l->transfer(496), 2ms);
	for (const char *bad : {"", "10", "10,", ",1", "a,b", "-1,0", "1,-1", "1,2,3", "1e3,0", "1000001,0", "0,10001",
				"nan,0", " 1,2"}) {
		why.clear();
		EXPECT_FALSE(parseLinkUs(bad, why)) << bad;
		EXPECT_FALSE(why.empty()) << bad;
	}
}

TEST(LinkTiming, SleepUntilNeverReturnsEarly)
{
	setPreciseTimerSlack();
	std::atomic<bool> stop{false};
	for (auto wait : {0us, 2us, 10us, 16us, 78us, 300us, 2500us}) {
		for (int i = 0; i < 20; ++i) {
			auto deadline = Clock::now() + wait;
			EXPECT_TRUE(sleepUntil(deadline, stop));
			EXPECT_GE(Clock::now(), deadline) << wait.count() << " us";
		}
	}
}

TEST(LinkTiming, SleepUntilStops)
{
	std::atomic<bool> stop{false};
	std::thread t([&] {
		std::this_thread::sleep_for(20ms);
		stop = true;
	});
	// A whole minute, cut short by the flag (1 ms slices).
	EXPECT_FALSE(sleepUntil(Clock::now() + 60s, stop));
	t.join();
	EXPECT_FALSE(sleepUntil(Clock::now() + 1s, stop)) << "already stopped";
}

} // namespace
} // namespace ampsim
