// SPDX-License-Identifier: MIT
// Test support: temporary trees and ampsim as a child process (sim_support.h).
#include "sim_support.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace amp::test {

TempDir::TempDir()
{
	char tmpl[] = "/tmp/amp-unit-XXXXXX";
	if (::mkdtemp(tmpl))
		path_ = tmpl;
	else
		ADD_FAILURE() << "mkdtemp: " << strerror(errno);
}

TempDir::~TempDir()
{
	if (!path_.empty()) {
		std::error_code ec;
		std::filesystem::remove_all(path_, ec);
	}
}

TempDir::TempDir(TempDir &&other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir &TempDir::operator=(TempDir &&other) noexcept
{
	if (this != &other) {
		if (!path_.empty()) {
			std::error_code ec;
			std::filesystem::remove_all(path_, ec);
		}
		path_ = std::exchange(other.path_, {});
	}
	return *this;
}

void writeFile(const std::string &path, const std::string &bytes)
{
	std::error_code ec;
	std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
	ASSERT_TRUE(out.good()) << path;
}

std::string readFileText(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return std::string(std::istreambuf_iterator<char>(in), {});
}

bool waitUntil(const std::function<bool()> &cond, std::chrono::milliseconds deadline)
{
	auto end = std::chrono::steady_clock::now() + deadline;
	while (!cond()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		// sysfs state changes raise no event (kernel-abi.md 1): re-read.
		std::this_thread::sleep_for(2ms);
	}
	return true;
}

int openFdCount()
{
	int n = 0;
	if (DIR *d = ::opendir("/proc/self/fd")) {
		while (dirent *e = ::readdir(d))
			if (e->d_name[0] != '.')
				++n;
		::closedir(d);
	}
	return n - 1; // the opendir's own fd
}

#ifdef AMPSIM_BINARY
static const char *ampsimBinary()
{
	return AMPSIM_BINARY;
}
#else
static const char *ampsimBinary()
{
	return nullptr;
}
#endif

std::vector<uint8_t> makeFirmware(const std::string &app, const std::vector<std::string> &extra)
{
	if (!ampsimBinary()) {
		ADD_FAILURE() << "ampsim not built";
		return {};
	}
	TempDir dir;
	std::string out = dir.path() + "/fw.elf";
	std::string cmd = std::string(ampsimBinary()) + " mkfw --app '" + app + "' -o '" + out + "'";
	for (auto &w : extra)
		cmd += " '" + w + "'";
	int rc = ::system(cmd.c_str());
	if (rc != 0) {
		ADD_FAILURE() << cmd << " failed: " << rc;
		return {};
	}
	std::string bytes = readFileText(out);
	return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Simulator::~Simulator()
{
	if (pid_ > 0)
		stop();
	if (stdoutFd_ >= 0)
		::close(stdoutFd_);
	if (!root_.empty()) {
		std::error_code ec;
		std::filesystem::remove_all(root_, ec);
		::unlink(errPath_.c_str());
	}
}

bool Simulator::start(const Options &options)
{
	if (!ampsimBinary()) {
		GTEST_MESSAGE_AT_(__FILE__, __LINE__, "ampsim was not built", ::testing::TestPartResult::kSkip);
		return false;
	}
	char tmpl[] = "/tmp/amp-unit-sim-XXXXXX";
	if (!::mkdtemp(tmpl)) {
		ADD_FAILURE() << "mkdtemp: " << strerror(errno);
		return false;
	}
	root_ = tmpl;
	errPath_ = root_ + ".stderr";
	std::vector<std::string> args = {ampsimBinary(), "run", "--root", root_, "--layout", options.layout};
	args.insert(args.end(), options.extraArgs.begin(), options.extraArgs.end());
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);

	int out[2];
	if (::pipe2(out, O_CLOEXEC) != 0)
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, errPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	::close(out[1]);
	stdoutFd_ = out[0];
	if (rc != 0) {
		ADD_FAILURE() << "spawn ampsim: " << strerror(rc);
		pid_ = -1;
		return false;
	}
	// Ready is the "ready" line on stdout; EOF first means it failed to mount.
	std::string got;
	auto end = std::chrono::steady_clock::now() + 10s;
	while (got.find("ready\n") == std::string::npos) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
		pollfd p{stdoutFd_, POLLIN, 0};
		if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
			break;
		char buf[256];
		ssize_t n = ::read(stdoutFd_, buf, sizeof buf);
		if (n <= 0)
			break;
		got.append(buf, static_cast<size_t>(n));
	}
	if (got.find("ready\n") != std::string::npos)
		return true;
	std::string err = stderrText();
	stop();
	const char *ci = ::getenv("CI");
	if (!(ci && std::string(ci) == "true") && ::access("/dev/fuse", R_OK | W_OK) != 0) {
		std::string why = "no usable /dev/fuse here (outside CI a missing FUSE skips): " + err;
		GTEST_MESSAGE_AT_(__FILE__, __LINE__, why.c_str(), ::testing::TestPartResult::kSkip);
		return false;
	}
	ADD_FAILURE() << "ampsim did not become ready: " << err;
	return false;
}

int Simulator::stop()
{
	if (pid_ <= 0)
		return -1;
	::kill(pid_, SIGTERM);
	int status = 0;
	::waitpid(pid_, &status, 0);
	pid_ = -1;
	return status;
}

std::string Simulator::stderrText() const
{
	return readFileText(errPath_);
}

void Simulator::installFirmware(const std::string &name, const std::vector<uint8_t> &bytes)
{
	writeFile(root_ + "/lib/firmware/" + name, std::string(bytes.begin(), bytes.end()));
}

int Simulator::ctl(const std::vector<std::string> &words, std::string *out)
{
	std::string cmd = std::string(ampsimBinary()) + " ctl --root '" + root_ + "'";
	for (auto &w : words)
		cmd += " '" + w + "'";
	cmd += " 2>&1";
	FILE *p = ::popen(cmd.c_str(), "r");
	if (!p)
		return -1;
	std::string text;
	char buf[512];
	while (size_t n = fread(buf, 1, sizeof buf, p))
		text.append(buf, n);
	int status = ::pclose(p);
	if (out)
		*out = text;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string layoutTestName(const ::testing::TestParamInfo<std::string> &info)
{
	std::string name = "v" + info.param;
	std::replace(name.begin(), name.end(), '.', '_');
	return name;
}

} // namespace amp::test
