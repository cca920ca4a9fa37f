// SPDX-License-Identifier: MIT
// Test support: ampsim as a real process (see test_support.h).
#include "test_support.h"

#include <algorithm>
#include <set>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace ampsim::test {

std::optional<std::string> readText(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return std::nullopt;
	std::string text;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(fd, buf, sizeof buf)) > 0)
		text.append(buf, static_cast<size_t>(n));
	int saved = errno;
	::close(fd);
	if (n < 0) {
		errno = saved;
		return std::nullopt;
	}
	return text;
}

int writeText(const std::string &path, const std::string &text)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = ::write(fd, text.data(), text.size());
	int err = n < 0 ? errno : 0;
	::close(fd);
	return err;
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

std::vector<std::string> listDir(const std::string &path)
{
	std::vector<std::string> names;
	DIR *d = opendir(path.c_str());
	if (!d)
		return names;
	while (dirent *e = readdir(d))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names.push_back(e->d_name);
	closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

bool exists(const std::string &path)
{
	struct stat st;
	return lstat(path.c_str(), &st) == 0;
}

Simulator::~Simulator()
{
	if (pid_ > 0)
		stop();
	if (stdoutFd_ >= 0)
		::close(stdoutFd_);
	if (!root_.empty()) {
		std::string cmd = "rm -rf '" + root_ + "'";
		(void)!system(cmd.c_str());
		unlink(errPath_.c_str());
	}
}

bool Simulator::start(const Options &options)
{
	char tmpl[] = "/tmp/ampsim-test-XXXXXX";
	if (!mkdtemp(tmpl)) {
		ADD_FAILURE() << "mkdtemp: " << strerror(errno);
		return false;
	}
	root_ = tmpl;
	errPath_ = root_ + ".stderr";
	std::vector<std::string> args = options.wrapper;
	args.insert(args.end(), {AMPSIM_BINARY, "run", "--root", root_, "--layout", options.layout});
	args.insert(args.end(), options.extraArgs.begin(), options.extraArgs.end());
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);

	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, errPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	::close(out[1]);
	stdoutFd_ = out[0];
	if (rc != 0) {
		ADD_FAILURE() << "spawn ampsim: " << strerror(rc);
		pid_ = -1;
		return false;
	}
	// Readiness is the "ready" line; EOF first means it failed to mount.
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
	bool ci = getenv("CI") && std::string(getenv("CI")) == "true";
	if (!ci && access("/dev/fuse", R_OK | W_OK) != 0) {
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
	waitpid(pid_, &status, 0);
	pid_ = -1;
	return status;
}

void Simulator::kill()
{
	if (pid_ <= 0)
		return;
	::kill(pid_, SIGKILL);
	int status;
	waitpid(pid_, &status, 0);
	pid_ = -1;
}

std::string Simulator::stderrText() const
{
	return readText(errPath_).value_or("");
}

void Simulator::installFile(const std::string &name, const std::vector<uint8_t> &bytes)
{
	std::string path = root_ + "/lib/firmware/" + name;
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
	ASSERT_TRUE(out.good()) << path;
}

void Simulator::installFirmware(const std::string &name, const FirmwareSpec &spec)
{
	installFile(name, buildFirmware(spec));
}

int Simulator::boot(const std::string &firmware, int n)
{
	if (int err = writeText(rproc(n) + "/firmware", firmware))
		return err;
	return writeText(rproc(n) + "/state", "start\n");
}

std::string Simulator::waitChannel(const std::string &service)
{
	std::string found;
	waitUntil([&] {
		for (auto &d : busDevices()) {
			auto first = d.find('.');
			auto rest = d.substr(first + 1);
			if (rest.rfind(service + ".", 0) == 0) {
				found = d;
				return true;
			}
		}
		return false;
	});
	return found;
}

int Simulator::ctl(const std::vector<std::string> &words, std::string *out)
{
	std::string cmd = std::string(AMPSIM_BINARY) + " ctl --root '" + root_ + "'";
	for (auto &w : words)
		cmd += " '" + w + "'";
	cmd += " 2>&1";
	FILE *p = popen(cmd.c_str(), "r");
	std::string text;
	char buf[512];
	while (size_t n = fread(buf, 1, sizeof buf, p))
		text.append(buf, n);
	int status = pclose(p);
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

Endpoint::~Endpoint()
{
	if (fd >= 0)
		::close(fd);
}

std::string controlNodeFor(Simulator &sim, const std::string &layout, const std::string &channelDev)
{
	std::string virtio = channelDev.substr(0, channelDev.find('.'));
	if (layout == "5.10") {
		std::string dir = sim.sys("bus/rpmsg/devices/" + channelDev);
		if (writeText(dir + "/driver_override", "rpmsg_chrdev\n") ||
		    writeText(sim.sys("bus/rpmsg/drivers/rpmsg_chrdev/bind"), channelDev))
			return "";
		auto ctrls = listDir(dir + "/rpmsg");
		return ctrls.empty() ? "" : ctrls[0];
	}
	std::string ctrlDev = virtio + (layout == "6.1" ? ".rpmsg_ctrl.0.0" : ".rpmsg_chrdev.0.0");
	auto ctrls = listDir(sim.sys("bus/rpmsg/devices/" + ctrlDev + "/rpmsg"));
	return ctrls.empty() ? "" : ctrls[0];
}

std::string createEndpoint(Simulator &sim, const std::string &ctrl, const std::string &name, uint32_t src,
			   uint32_t dst, int *err)
{
	int fd = ::open(sim.dev(ctrl).c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			*err = errno;
		return "";
	}
	struct {
		char name[32];
		uint32_t src, dst;
	} info{};
	strncpy(info.name, name.c_str(), sizeof info.name - 1);
	info.src = src;
	info.dst = dst;
	std::set<std::string> before;
	for (auto &n : listDir(sim.sys("class/rpmsg/" + ctrl)))
		before.insert(n);
	int rc = ioctl(fd, 0x4028b501, &info);
	int saved = errno;
	::close(fd);
	if (rc != 0) {
		if (err)
			*err = saved;
		return "";
	}
	// CREATE_EPT returns 0, not the node: find it by name, src and dst.
	for (auto &n : listDir(sim.sys("class/rpmsg/" + ctrl))) {
		if (n.rfind("rpmsg", 0) != 0 || n.rfind("rpmsg_ctrl", 0) == 0 || before.count(n))
			continue;
		std::string d = sim.sys("class/rpmsg/" + ctrl + "/" + n);
		if (readText(d + "/name") == name + "\n" &&
		    readText(d + "/src") == std::to_string(static_cast<int32_t>(src)) + "\n" &&
		    readText(d + "/dst") == std::to_string(static_cast<int32_t>(dst)) + "\n")
			return n;
	}
	if (err)
		*err = ENOENT;
	return "";
}

} // namespace ampsim::test
