// SPDX-License-Identifier: MIT
// Logging: one logger per area, all on the sinks setup() was given.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <sstream>

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

} // namespace
} // namespace amp
