// SPDX-License-Identifier: MIT
// SysfsRoot: every path under the root prefix ("/" on a board, a temporary
// tree under ampsim) goes through here; kernel errnos come back unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace amp {

class SysfsRoot {
public:
	// `root` is the prefix; "" and "/" both mean the real root.
	explicit SysfsRoot(std::string root = "/");

	const std::string &root() const { return root_; }
	// root + "/" + rel, rel given relative to the root ("sys/class/...").
	std::string path(std::string_view rel) const;

	// The whole attribute, one trailing newline stripped (sysfs show()
	// adds one; a second one is content and stays).
	[[nodiscard]] Result<std::string> readAttr(std::string_view rel) const;
	// The whole file as is (binary safe), at most `limit` bytes (EFBIG beyond).
	[[nodiscard]] Result<std::string> readFile(std::string_view rel, size_t limit = 64 << 20) const;
	// readFile() of a regular file only (EINVAL otherwise), opened
	// non-blocking: a FIFO or a device where a file is expected must not
	// hold the caller.
	[[nodiscard]] Result<std::string> readRegularFile(std::string_view rel, size_t limit) const;
	// Exactly one write() of `value`, as a sysfs store() sees one call:
	// the kernel's errno unchanged; a short count is EIO (see writeAttrCount).
	[[nodiscard]] Result<void> writeAttr(std::string_view rel, std::string_view value) const;
	// One write(); the byte count the kernel returned. A store() that
	// returns a positive number other than the length shows up here.
	[[nodiscard]] Result<size_t> writeAttrCount(std::string_view rel, std::string_view value) const;
	// Directory entries without "." and "..", sorted.
	[[nodiscard]] Result<std::vector<std::string>> list(std::string_view rel) const;
	// The resolved path relative to the root ("sys/devices/platform/..."),
	// or absolute when it resolves outside the root.
	[[nodiscard]] Result<std::string> realpath(std::string_view rel) const;
	// lstat() succeeds (a dangling symlink exists).
	bool exists(std::string_view rel) const;
	bool isDirectory(std::string_view rel) const;
	// open() with O_CLOEXEC always added. No S_ISCHR check: device nodes
	// are regular files under ampsim.
	[[nodiscard]] Result<UniqueFd> open(std::string_view rel, int flags) const;

private:
	Result<std::string> readAll(int fd, std::string_view rel, size_t limit) const;
	std::string root_; // no trailing slash; "" for "/"
};

} // namespace amp
