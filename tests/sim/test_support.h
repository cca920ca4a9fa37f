// SPDX-License-Identifier: MIT
// Test support: run ampsim as a real process on a temporary root and poke
// its files the way user space pokes a kernel's.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "firmware_image.h"

namespace ampsim::test {

using namespace std::chrono_literals;

// The whole text of a file, or nullopt (errno kept).
std::optional<std::string> readText(const std::string &path);
// One write() of `text`: 0 or errno.
int writeText(const std::string &path, const std::string &text);
// Wait for `cond` with a deadline. The kernel gives no event for a
// remoteproc state change (kernel-abi.md 1), so a reader re-reads; this is
// that re-read, bounded, never an unconditional sleep.
bool waitUntil(const std::function<bool()> &cond, std::chrono::milliseconds deadline = 5s);
std::vector<std::string> listDir(const std::string &path);
bool exists(const std::string &path);

class Simulator {
public:
	struct Options {
		std::string layout = "6.1";
		std::vector<std::string> extraArgs;
		std::vector<std::string> wrapper; // e.g. {"unshare", "-n"}
	};
	Simulator() = default;
	~Simulator();
	Simulator(const Simulator &) = delete;
	Simulator &operator=(const Simulator &) = delete;

	// Start on a fresh temporary root; false (with a gtest failure or skip
	// already recorded) when the simulator could not mount.
	bool start(const Options &options);
	// SIGTERM and wait; returns the exit status.
	int stop();
	// SIGKILL and wait.
	void kill();
	pid_t pid() const { return pid_; }

	const std::string &root() const { return root_; }
	std::string sys(const std::string &rel) const { return root_ + "/sys/" + rel; }
	std::string dev(const std::string &rel) const { return root_ + "/dev/" + rel; }
	std::string rproc(int n = 0) const { return sys("class/remoteproc/remoteproc" + std::to_string(n)); }

	void installFirmware(const std::string &name, const FirmwareSpec &spec);
	void installFile(const std::string &name, const std::vector<uint8_t> &bytes);
	// firmware + start; returns the errno of the start write.
	int boot(const std::string &firmware, int n = 0);
	// The channel's bus device name once it appears (empty on timeout).
	std::string waitChannel(const std::string &service = AMPSIM_DEFAULT_SERVICE);
	std::vector<std::string> busDevices() const { return listDir(sys("bus/rpmsg/devices")); }
	// `ampsim ctl`; returns its exit status and output.
	int ctl(const std::vector<std::string> &words, std::string *out = nullptr);
	std::string stderrText() const;

private:
	std::string root_;
	pid_t pid_ = -1;
	int stdoutFd_ = -1;
	std::string errPath_;
};

// An rpmsg_char endpoint made through whatever the layout offers, the way
// the stock tools do it.
struct Endpoint {
	int fd = -1;
	std::string node; // rpmsgK
	~Endpoint();
};

// The control node for `channelDev` on this layout (binding rpmsg_chrdev
// where the layout needs it). Empty on failure.
std::string controlNodeFor(Simulator &sim, const std::string &layout, const std::string &channelDev);
// CREATE_EPT on `ctrl` and find the new node by name/src/dst.
std::string createEndpoint(Simulator &sim, const std::string &ctrl, const std::string &name, uint32_t src,
			   uint32_t dst, int *err = nullptr);

// Test-name suffix for a layout parameter ("6.1" -> "v6_1").
std::string layoutTestName(const ::testing::TestParamInfo<std::string> &info);
#define AMPSIM_ALL_LAYOUTS ::testing::Values("6.1", "5.15", "5.10"), ::ampsim::test::layoutTestName

} // namespace ampsim::test
