// SPDX-License-Identifier: MIT
// Test support for the simulator's own tests: the shared amp_test_support
// (ampsim as a process, files, deadlines) plus what only these tests need,
// firmware built from ampsim's own FirmwareSpec and rpmsg_char endpoints made
// the way the stock tools make them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "firmware_image.h"
#include "support/files.h"
#include "support/simulator.h"

namespace ampsim::test {

using namespace std::chrono_literals;
using amp::test::exists;
using amp::test::listDir;
using amp::test::readText;
using amp::test::waitUntil;
using amp::test::writeText;

class Simulator : public amp::test::Simulator {
public:
	using amp::test::Simulator::installFirmware;
	void installFirmware(const std::string &name, const FirmwareSpec &spec) { installFirmware(name, buildFirmware(spec)); }
};

// The control node for `channelDev` on this layout (binding rpmsg_chrdev
// where the layout needs it). Empty on failure.
std::string controlNodeFor(Simulator &sim, const std::string &layout, const std::string &channelDev);
// CREATE_EPT on `ctrl` and find the new node by name/src/dst.
std::string createEndpoint(Simulator &sim, const std::string &ctrl, const std::string &name, uint32_t src,
			   uint32_t dst, int *err = nullptr);

} // namespace ampsim::test
