// SPDX-License-Identifier: MIT
// Test support: temporary trees and file helpers (files.h).
#include "support/files.h"

#include "support/process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace amp::test {

TempDir::TempDir(const std::string &prefix)
{
	std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
	if (::mkdtemp(tmpl.data()))
		path_ = tmpl;
	else
		ADD_FAILURE() << "mkdtemp " << tmpl << ": " << strerror(errno);
}

TempDir::~TempDir()
{
	remove();
}

TempDir::TempDir(TempDir &&other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir &TempDir::operator=(TempDir &&other) noexcept
{
	if (this != &other) {
		remove();
		path_ = std::exchange(other.path_, {});
	}
	return *this;
}

void TempDir::remove()
{
	if (path_.empty())
		return;
	// remove_all through a live FUSE mount would delete inside the
	// simulator (or hang on a dead one): detach first, and keep the tree
	// when that fails.
	if (!unmountUnder(path_)) {
		ADD_FAILURE() << "still mounted below " << path_ << "; not removing it";
		return;
	}
	std::error_code ec;
	std::filesystem::remove_all(path_, ec);
	path_.clear();
}

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

void writeFile(const std::string &path, const std::string &bytes)
{
	std::error_code ec;
	std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
	out.close();
	ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> listDir(const std::string &path)
{
	std::vector<std::string> names;
	DIR *d = ::opendir(path.c_str());
	if (!d)
		return names;
	while (dirent *e = ::readdir(d))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names.push_back(e->d_name);
	::closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

bool exists(const std::string &path)
{
	struct stat st;
	return ::lstat(path.c_str(), &st) == 0;
}

bool waitUntil(const std::function<bool()> &cond, std::chrono::milliseconds deadline)
{
	auto end = std::chrono::steady_clock::now() + deadline;
	while (!cond()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		// What this waits for raises no event (files.h): re-read.
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

// mountinfo escapes space, tab, newline and backslash as \ooo.
static std::string unescapeMountPath(const std::string &s)
{
	std::string out;
	for (size_t i = 0; i < s.size(); ++i) {
		if (s[i] == '\\' && i + 3 < s.size()) {
			out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
			i += 3;
		} else {
			out += s[i];
		}
	}
	return out;
}

std::vector<std::string> mountsUnder(const std::string &dir)
{
	std::vector<std::string> found;
	std::ifstream in("/proc/self/mountinfo");
	for (std::string line; std::getline(in, line);) {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ...
		std::istringstream fields(line);
		std::string id, parent, dev, root, point;
		fields >> id >> parent >> dev >> root >> point;
		point = unescapeMountPath(point);
		if (point == dir || point.rfind(dir + "/", 0) == 0)
			found.push_back(point);
	}
	std::sort(found.begin(), found.end(), [](auto &a, auto &b) { return a.size() > b.size(); });
	return found;
}

bool unmountUnder(const std::string &dir)
{
	for (const auto &point : mountsUnder(dir)) {
		if (::umount2(point.c_str(), MNT_DETACH) == 0)
			continue;
		// Not root: the FUSE helper may still detach a mount of ours.
		run({"fusermount3", "-u", "-z", point}, {}, 10s);
	}
	return mountsUnder(dir).empty();
}

bool inCi()
{
	const char *ci = ::getenv("CI");
	return ci && std::string(ci) == "true";
}

} // namespace amp::test
