// SPDX-License-Identifier: MIT
// Test support: temporary trees, whole-file reads and writes, bounded re-reads.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace amp::test {

using namespace std::chrono_literals;

// A temporary directory, removed with everything under it (never through a
// live mount: anything still mounted below it is detached first).
class TempDir {
public:
	explicit TempDir(const std::string &prefix = "amp-test");
	~TempDir();
	TempDir(TempDir &&other) noexcept;
	TempDir &operator=(TempDir &&other) noexcept;
	const std::string &path() const { return path_; }

private:
	void remove();
	std::string path_;
};

// The whole text of a file, or nullopt (errno kept).
std::optional<std::string> readText(const std::string &path);
// One write() of `text`, as user space writes a sysfs attribute: 0 or errno.
int writeText(const std::string &path, const std::string &text);
// Create parents as needed and write `bytes` (a gtest failure when it cannot).
void writeFile(const std::string &path, const std::string &bytes);
std::vector<std::string> listDir(const std::string &path);
bool exists(const std::string &path);

// Re-check `cond` until it holds or the deadline passes. Only for what has no
// event: the kernel sends none for a remoteproc state change (kernel-abi.md
// 1), so user space re-reads `state`; this is that re-read, bounded.
bool waitUntil(const std::function<bool()> &cond, std::chrono::milliseconds deadline = 5s);

// Open file descriptors of this process (for leak checks).
int openFdCount();

// Mount points at or below `dir` in this mount namespace, deepest first.
std::vector<std::string> mountsUnder(const std::string &dir);
// Detach (lazily) whatever is mounted at or below `dir`; true when nothing is left.
bool unmountUnder(const std::string &dir);

// CI=true: what would be skipped elsewhere (no FUSE, not root) fails there.
bool inCi();

} // namespace amp::test
