// SPDX-License-Identifier: MIT
// Test support: ampsim run as a real process on a temporary root, and its
// firmware maker; only through its command line and the files it serves, so
// nothing here depends on ampd's code or on the simulator's.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/process.h"

namespace amp::test {

// The ampsim this library was built with.
const char *ampsimBinary();

// `ampsim mkfw --app APP [extra...]`: the firmware image bytes.
std::vector<uint8_t> makeFirmware(const std::string &app = "echo", const std::vector<std::string> &extra = {});

class Simulator {
public:
	struct Options {
		std::string layout = "6.1";
		std::vector<std::string> extraArgs;
	};
	Simulator() = default;
	~Simulator();
	Simulator(const Simulator &) = delete;
	Simulator &operator=(const Simulator &) = delete;

	// Start on a fresh temporary root. False with a failure or a skip
	// recorded (no usable /dev/fuse outside CI).
	bool start(const Options &options);
	// SIGTERM and wait: the exit status (RunResult::exit; -1 when not running).
	// A sanitizer report on its stderr is a test failure.
	int stop();
	// SIGKILL and wait.
	void kill();
	pid_t pid() const { return process_.pid(); }

	const std::string &root() const;
	std::string sys(const std::string &rel) const { return root() + "/sys/" + rel; }
	std::string dev(const std::string &rel) const { return root() + "/dev/" + rel; }
	std::string rproc(int n = 0) const { return sys("class/remoteproc/remoteproc" + std::to_string(n)); }
	std::string firmwarePath(const std::string &name) const { return root() + "/lib/firmware/" + name; }

	void installFirmware(const std::string &name, const std::vector<uint8_t> &bytes);
	// firmware + start; the errno of the first write that failed, or 0.
	int boot(const std::string &firmware, int n = 0);
	std::vector<std::string> busDevices() const { return listDir(sys("bus/rpmsg/devices")); }
	// The bus device of `service`'s channel, once it appears (empty on timeout).
	std::string waitChannel(const std::string &service = "rpmsg-openamp-demo-channel");
	// Whether `service` has a channel on the bus now.
	bool hasChannel(const std::string &service = "rpmsg-openamp-demo-channel") const;
	// `ampsim ctl`: its exit status, stdout and stderr in *out.
	int ctl(const std::vector<std::string> &words, std::string *out = nullptr);
	std::string stderrText() const;

private:
	std::string channelDevice(const std::string &service) const;

	std::optional<TempDir> root_;
	std::string errPath_;
	Process process_;
	bool sanitizerChecked_ = false;
};

// Test-name suffix for a layout parameter ("6.1" -> "v6_1").
std::string layoutTestName(const ::testing::TestParamInfo<std::string> &info);
#define AMP_ALL_LAYOUTS ::testing::Values("6.1", "5.15", "5.10"), ::amp::test::layoutTestName

} // namespace amp::test
