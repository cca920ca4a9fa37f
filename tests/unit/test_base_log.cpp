// SPDX-License-Identifier: MIT
// Logging: one logger per area, all on the sinks setup() was given; scoped structured fields.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"

namespace amp {
namespace {

TEST(BaseLog, AreasShareTheSinks)
{
	std::ostringstream out;
	auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
	sink->set_pattern("%n %l %v");
	log::setup(spdlog::level::debug, {sink});
	log::remote()->info("remote {} ok", "r5-0");
	log::rpmsg()->debug("chan");
	log::control()->warn("client");
	log::proxy()->trace("hidden");
	EXPECT_EQ(out.str(), "remote info remote r5-0 ok\nrpmsg debug chan\ncontrol warning client\n");
	EXPECT_STREQ(log::areaName(log::Area::Proxy), "proxy");
	log::setup(); // back to stderr for the other tests
	EXPECT_EQ(log::get(log::Area::Remote)->name(), "remote");
}

using Fields = std::vector<log::Field>;

TEST(BaseLogFields, NoneOutsideAnyScope)
{
	EXPECT_EQ(log::currentFields(), Fields{});
}

TEST(BaseLogFields, InnerScopeHidesThenRestoresOuterValue)
{
	{
		log::ScopedFields remote{{"REMOTE", "r5-0"}, {"STATE", "offline"}};
		EXPECT_EQ(log::currentFields(), (Fields{{"REMOTE", "r5-0"}, {"STATE", "offline"}}));
		{
			log::ScopedFields inner{{"STATE", "running"}, {"CHANNEL", "rpmsg-tty"}};
			EXPECT_EQ(log::currentFields(), (Fields{{"REMOTE", "r5-0"}, {"STATE", "running"}, {"CHANNEL", "rpmsg-tty"}}));
		}
		EXPECT_EQ(log::currentFields(), (Fields{{"REMOTE", "r5-0"}, {"STATE", "offline"}}));
	}
	EXPECT_EQ(log::currentFields(), Fields{});
}

TEST(BaseLogFields, LaterDuplicateInOneScopeWins)
{
	log::ScopedFields f{{"STATE", "a"}, {"STATE", "b"}};
	EXPECT_EQ(log::currentFields(), (Fields{{"STATE", "b"}}));
}

TEST(BaseLogFields, ScopeEndingOutOfOrderRemovesOnlyItsOwn)
{
	// Held by pointer, as an object that outlives a block might hold it.
	std::unique_ptr<log::ScopedFields> outer(new log::ScopedFields{{"REMOTE", "r5-0"}});
	log::ScopedFields inner{{"CLIENT_PID", "42"}};
	outer.reset();
	EXPECT_EQ(log::currentFields(), (Fields{{"CLIENT_PID", "42"}}));
}

TEST(BaseLogFields, InvalidKeysAreDropped)
{
	const std::string tooLong(65, 'A');
	log::ScopedFields f{{"remote", "x"},  {"_PID", "1"},      {"9LIVES", "x"}, {"", "x"},   {"A-B", "x"},
	                    {tooLong, "x"},   {"REMOTE", "r5-0"}, {"A B", "x"},    {"É", "x"}, {"CLIENT_PID", "7"}};
	EXPECT_EQ(log::currentFields(), (Fields{{"REMOTE", "r5-0"}, {"CLIENT_PID", "7"}}));
}

TEST(BaseLogFields, FieldNameRule)
{
	EXPECT_TRUE(log::isFieldName("REMOTE"));
	EXPECT_TRUE(log::isFieldName("A"));
	EXPECT_TRUE(log::isFieldName("CODE_LINE2"));
	EXPECT_TRUE(log::isFieldName(std::string(64, 'Z')));
	EXPECT_FALSE(log::isFieldName(std::string(65, 'Z')));
	EXPECT_FALSE(log::isFieldName(""));
	EXPECT_FALSE(log::isFieldName("_REMOTE"));
	EXPECT_FALSE(log::isFieldName("0REMOTE"));
	EXPECT_FALSE(log::isFieldName("Remote"));
	EXPECT_FALSE(log::isFieldName("REMOTE="));
}

TEST(BaseLogFields, EmptyValueIsKept)
{
	log::ScopedFields f{{"CHANNEL", ""}};
	EXPECT_EQ(log::currentFields(), (Fields{{"CHANNEL", ""}}));
}

TEST(BaseLogFields, EachThreadSeesOnlyItsOwn)
{
	log::ScopedFields mine{{"REMOTE", "r5-0"}};
	Fields seenBefore, seenInside;
	std::thread t([&] {
		seenBefore = log::currentFields();
		log::ScopedFields theirs{{"REMOTE", "m4"}, {"STATE", "loading"}};
		seenInside = log::currentFields();
	});
	t.join();
	EXPECT_EQ(seenBefore, Fields{});
	EXPECT_EQ(seenInside, (Fields{{"REMOTE", "m4"}, {"STATE", "loading"}}));
	EXPECT_EQ(log::currentFields(), (Fields{{"REMOTE", "r5-0"}}));
}

} // namespace
} // namespace amp
