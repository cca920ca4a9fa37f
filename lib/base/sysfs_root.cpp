// SPDX-License-Identifier: MIT
// Root-prefixed file access for sysfs attributes, device nodes and firmware.
#include "base/sysfs_root.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace amp {

SysfsRoot::SysfsRoot(std::string root) : root_(std::move(root))
{
	while (!root_.empty() && root_.back() == '/')
		root_.pop_back();
}

std::string SysfsRoot::path(std::string_view rel) const
{
	while (!rel.empty() && rel.front() == '/')
		rel.remove_prefix(1);
	std::string p = root_;
	p += '/';
	p.append(rel);
	return p;
}

Result<UniqueFd> SysfsRoot::open(std::string_view rel, int flags) const
{
	std::string p = path(rel);
	UniqueFd fd(::open(p.c_str(), flags | O_CLOEXEC));
	if (!fd)
		return unexpected(lastError("open " + p));
	return fd;
}

Result<std::string> SysfsRoot::readFile(std::string_view rel, size_t limit) const
{
	auto fd = open(rel, O_RDONLY);
	if (!fd)
		return unexpected(std::move(fd).error());
	return readAll(fd->get(), rel, limit);
}

Result<std::string> SysfsRoot::readRegularFile(std::string_view rel, size_t limit) const
{
	auto fd = open(rel, O_RDONLY | O_NONBLOCK);
	if (!fd)
		return unexpected(std::move(fd).error());
	struct stat st {};
	if (::fstat(fd->get(), &st) != 0)
		return unexpected(lastError("stat " + path(rel)));
	if (!S_ISREG(st.st_mode))
		return unexpected(EINVAL, path(rel) + ": not a regular file");
	return readAll(fd->get(), rel, limit);
}

Result<std::string> SysfsRoot::readAll(int fd, std::string_view rel, size_t limit) const
{
	std::string text;
	char buf[4096];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return unexpected(lastError("read " + path(rel)));
		}
		if (n == 0)
			break;
		if (text.size() + static_cast<size_t>(n) > limit)
			return unexpected(EFBIG, "read " + path(rel) + ": larger than " + std::to_string(limit) + " bytes");
		text.append(buf, static_cast<size_t>(n));
	}
	return text;
}

Result<std::string> SysfsRoot::readAttr(std::string_view rel) const
{
	// A sysfs attribute is at most a page; 1 MiB keeps a hostile FUSE
	// file from eating memory.
	auto text = readFile(rel, 1 << 20);
	if (text && !text->empty() && text->back() == '\n')
		text->pop_back();
	return text;
}

Result<size_t> SysfsRoot::writeAttrCount(std::string_view rel, std::string_view value) const
{
	auto fd = open(rel, O_WRONLY);
	if (!fd)
		return unexpected(std::move(fd).error());
	// Exactly one write(): a store() sees one buffer. A retry on EINTR
	// would run the store twice (a second `start`), so none.
	ssize_t n = ::write(fd->get(), value.data(), value.size());
	if (n < 0)
		return unexpected(lastError("write '" + std::string(value) + "' to " + path(rel)));
	return static_cast<size_t>(n);
}

Result<void> SysfsRoot::writeAttr(std::string_view rel, std::string_view value) const
{
	auto n = writeAttrCount(rel, value);
	if (!n)
		return unexpected(std::move(n).error());
	if (*n != value.size())
		return unexpected(EIO, "write '" + std::string(value) + "' to " + path(rel) + ": the kernel took " +
					       std::to_string(*n) + " of " + std::to_string(value.size()) + " bytes");
	return {};
}

Result<std::vector<std::string>> SysfsRoot::list(std::string_view rel) const
{
	std::string p = path(rel);
	int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return unexpected(lastError("open directory " + p));
	DIR *d = ::fdopendir(fd);
	if (!d) {
		Error e = lastError("fdopendir " + p);
		::close(fd);
		return unexpected(std::move(e));
	}
	std::unique_ptr<DIR, int (*)(DIR *)> guard(d, ::closedir);
	std::vector<std::string> names;
	errno = 0;
	while (dirent *e = ::readdir(d)) {
		if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
			names.emplace_back(e->d_name);
		errno = 0;
	}
	if (errno != 0)
		return unexpected(lastError("readdir " + p));
	std::sort(names.begin(), names.end());
	return names;
}

Result<std::string> SysfsRoot::realpath(std::string_view rel) const
{
	std::string p = path(rel);
	std::unique_ptr<char, void (*)(void *)> resolved(::realpath(p.c_str(), nullptr), ::free);
	if (!resolved)
		return unexpected(lastError("realpath " + p));
	std::string full = resolved.get();
	// Compare against the root's own resolved path, so a root given
	// through a symlink (/tmp -> /private/tmp) still strips.
	std::string rootPath = root_.empty() ? "/" : root_;
	std::unique_ptr<char, void (*)(void *)> rootResolved(::realpath(rootPath.c_str(), nullptr), ::free);
	std::string base = rootResolved ? rootResolved.get() : rootPath;
	if (base == "/")
		return full.size() > 1 ? full.substr(1) : std::string();
	if (full.size() > base.size() && full.compare(0, base.size(), base) == 0 && full[base.size()] == '/')
		return full.substr(base.size() + 1);
	if (full == base)
		return std::string();
	return full;
}

bool SysfsRoot::exists(std::string_view rel) const
{
	struct stat st;
	return ::lstat(path(rel).c_str(), &st) == 0;
}

bool SysfsRoot::isDirectory(std::string_view rel) const
{
	struct stat st;
	return ::stat(path(rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace amp
