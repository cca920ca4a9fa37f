// SPDX-License-Identifier: MIT
// Test support for libamp's kernel wrappers: temporary trees, and ampsim run
// as a real process on a temporary root (as tests/sim/test_support does; its
// headers stay out of here so the wrappers meet the simulator only through
// the files it serves).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace amp::test {

using namespace std::chrono_literals;

// A temporary directory, removed with everything under it.
class TempDir {
public:
	TempDir();
	~TempDir();
	TempDir(TempDir &&other) noexcept;
	TempDir &operator=(TempDir &&other) noexcept;
	const std::string &path() const { return path_; }

private:
	std::string path_;
};

// Create parents as needed and write `bytes`.
void writeFile(const std::string &path, const std::string &bytes);
std::string readFileText(const std::string &path);
// Re-check `cond` until it holds or the deadline passes. The kernel sends
// no event for remoteproc state changes, so a re-read is what user space does.
bool waitUntil(const std::function<bool()> &cond, std::chrono::milliseconds deadline = 5s);
// Open file descriptors of this process (for leak checks).
int openFdCount();

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
	// recorded (no usable /dev/fuse outside CI, or no ampsim built).
	bool start(const Options &options);
	int stop();
	const std::string &root() const { return root_; }
	void installFirmware(const std::string &name, const std::vector<uint8_t> &bytes);
	// `ampsim ctl ...`: exit status, output in *out.
	int ctl(const std::vector<std::string> &words, std::string *out = nullptr);
	std::string stderrText() const;

private:
	std::string root_;
	pid_t pid_ = -1;
	int stdoutFd_ = -1;
	std::string errPath_;
};

std::string layoutTestName(const ::testing::TestParamInfo<std::string> &info);
#define AMP_ALL_LAYOUTS ::testing::Values("6.1", "5.15", "5.10"), ::amp::test::layoutTestName

} // namespace amp::test
