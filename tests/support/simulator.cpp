// SPDX-License-Identifier: MIT
// Test support: ampsim as a child process (simulator.h).
#include "support/simulator.h"

#include <algorithm>
#include <csignal>
#include <unistd.h>

namespace amp::test {

const char *ampsimBinary()
{
	return AMPSIM_BINARY;
}

std::vector<uint8_t> makeFirmware(const std::string &app, const std::vector<std::string> &extra)
{
	TempDir dir("amp-fw");
	std::string out = dir.path() + "/fw.elf";
	std::vector<std::string> argv = {ampsimBinary(), "mkfw", "--app", app, "-o", out};
	argv.insert(argv.end(), extra.begin(), extra.end());
	RunResult r = run(argv);
	if (r.exit != 0) {
		ADD_FAILURE() << "ampsim mkfw --app " << app << ": " << r.describe();
		return {};
	}
	std::string bytes = readText(out).value_or("");
	return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Simulator::~Simulator()
{
	stop();
	// root_ goes next, detaching anything still mounted below it first.
}

const std::string &Simulator::root() const
{
	static const std::string none;
	return root_ ? root_->path() : none;
}

bool Simulator::start(const Options &options)
{
	root_.emplace("ampsim-test");
	sanitizerChecked_ = false;
	if (root().empty())
		return false;
	errPath_ = root() + "/ampsim.stderr";
	std::vector<std::string> argv = {ampsimBinary(), "run", "--root", root(), "--layout", options.layout};
	argv.insert(argv.end(), options.extraArgs.begin(), options.extraArgs.end());
	SpawnOptions so;
	so.stderrPath = errPath_;
	process_ = Process::spawn(argv, so);
	if (process_.pid() < 0) {
		ADD_FAILURE() << "spawn ampsim: " << process_.error();
		return false;
	}
	// Ready is the "ready" line on stdout; EOF first means it could not mount.
	if (process_.readUntil([](const std::string &out) { return out.find("ready\n") != std::string::npos; }, 10s))
		return true;
	std::string err = stderrText();
	stop();
	if (!inCi() && ::access("/dev/fuse", R_OK | W_OK) != 0) {
		std::string why = "no usable /dev/fuse here (outside CI a missing FUSE skips): " + err;
		GTEST_MESSAGE_AT_(__FILE__, __LINE__, why.c_str(), ::testing::TestPartResult::kSkip);
		return false;
	}
	ADD_FAILURE() << "ampsim did not become ready: " << err;
	return false;
}

int Simulator::stop()
{
	// SIGTERM answers what it holds and unmounts; a simulator that does
	// not exit within the grace is killed and auto_unmount cleans up.
	int status = process_.running() ? process_.terminate(10s) : -1;
	// Under a sanitizer the simulator halts at its first report (a test
	// then sees only a dead mount, or nothing): the report fails the test.
	if (!sanitizerChecked_ && !errPath_.empty() && process_.pid() > 0 && !process_.running()) {
		sanitizerChecked_ = true;
		std::string report = sanitizerReport(stderrText());
		if (!report.empty())
			ADD_FAILURE() << "ampsim (pid " << process_.pid() << ") reported:\n" << report;
	}
	return status;
}

void Simulator::kill()
{
	if (process_.running()) {
		process_.signal(SIGKILL);
		process_.waitExit(10s);
	}
}

std::string Simulator::stderrText() const
{
	return errPath_.empty() ? "" : readText(errPath_).value_or("");
}

void Simulator::installFirmware(const std::string &name, const std::vector<uint8_t> &bytes)
{
	writeFile(firmwarePath(name), std::string(bytes.begin(), bytes.end()));
}

int Simulator::boot(const std::string &firmware, int n)
{
	if (int err = writeText(rproc(n) + "/firmware", firmware))
		return err;
	return writeText(rproc(n) + "/state", "start\n");
}

// Bus devices are virtioN.SERVICE.SRC.DST: match the service part.
std::string Simulator::channelDevice(const std::string &service) const
{
	for (auto &d : busDevices()) {
		auto rest = d.substr(d.find('.') + 1);
		if (rest.rfind(service + ".", 0) == 0)
			return d;
	}
	return "";
}

bool Simulator::hasChannel(const std::string &service) const
{
	return !channelDevice(service).empty();
}

std::string Simulator::waitChannel(const std::string &service)
{
	std::string found;
	// A channel's arrival is a uevent, but only in a private network
	// namespace; re-reading the bus works everywhere.
	waitUntil([&] { return !(found = channelDevice(service)).empty(); });
	return found;
}

int Simulator::ctl(const std::vector<std::string> &words, std::string *out)
{
	std::vector<std::string> argv = {ampsimBinary(), "ctl", "--root", root()};
	argv.insert(argv.end(), words.begin(), words.end());
	RunResult r = run(argv, {}, 30s);
	if (out)
		*out = r.out + r.err;
	return r.exit;
}

std::string layoutTestName(const ::testing::TestParamInfo<std::string> &info)
{
	std::string name = "v" + info.param;
	std::replace(name.begin(), name.end(), '.', '_');
	return name;
}

} // namespace amp::test
