// SPDX-License-Identifier: MIT
// ampctl firmware inspect on a real image from ampsim's firmware maker: it boots, and says why.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ampctl.hpp"
#include "support/files.h"
#include "support/simulator.h"

using namespace amp;
using namespace amp::cli;

TEST(AmpctlFirmware, ABootableImageExitsZero)
{
	test::TempDir dir;
	std::string path = dir.path() + "/image_echo_test";
	auto image = test::makeFirmware("echo");
	ASSERT_FALSE(image.empty());
	std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(image.data()), static_cast<std::streamsize>(image.size()));

	std::ostringstream out, err;
	Context ctx{"/nonexistent", false, &out, &err};
	EXPECT_EQ(cmdFirmwareInspect(ctx, path), kExitOk) << out.str() << err.str();
	EXPECT_NE(out.str().find("Program headers:\n  LOAD offset"), std::string::npos) << out.str();
	EXPECT_NE(out.str().find("VDEV id 7 (rpmsg"), std::string::npos) << out.str();
	EXPECT_NE(out.str().find("Verdict: boot-with-rpmsg: "), std::string::npos) << out.str();
	EXPECT_EQ(err.str(), "");

	out.str("");
	ctx.json = true;
	EXPECT_EQ(cmdFirmwareInspect(ctx, path), kExitOk);
	auto j = nlohmann::json::parse(out.str());
	EXPECT_EQ(j["verdict"], "boot-with-rpmsg");
	EXPECT_EQ(j["boots"], true);
	EXPECT_EQ(j["resource_table"], true);
	EXPECT_EQ(j["vdevs"], 1);
	EXPECT_EQ(j["path"], path);
	EXPECT_FALSE(j["report"].empty());
}
