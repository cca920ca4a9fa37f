// SPDX-License-Identifier: MIT
// Confined opens: flags translated from the wire, paths resolved beneath a directory fd.
#include "proxy/confine.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

// openat2(2) is 5.6+; glibc has no wrapper and old headers lack the struct.
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437 // the same number on every architecture
#endif

namespace amp::proxy {

namespace {

using namespace wire_flags;

// -1 unknown, 0 the kernel has none (ENOSYS), 1 it works.
std::atomic<int> openat2State{-1};

const char *typeName(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFLNK: return "a symlink";
	default: return "not a regular file";
	}
}

// What an errno from resolving means for the refusal log.
std::string resolveReason(int err)
{
	switch (err) {
	case EXDEV: return "resolves outside the directory";
	case ELOOP: return "a symlink in the path (symlinks are not followed)";
	case ENOENT: return "no such file";
	case ENOTDIR: return "a component is not a directory";
	case EISDIR: return "is a directory";
	case EEXIST: return "exists (O_EXCL)";
	case EACCES:
	case EPERM: return "permission denied";
	case ENAMETOOLONG: return "name too long";
	case ENXIO: return "a FIFO without a reader or a device without its driver";
	default: return std::string("cannot open: ") + std::strerror(err);
	}
}

Unexpected<Error> refuse(int err, std::string why)
{
	return unexpected(err, std::move(why));
}

} // namespace

Result<OpenSpec> translateOpen(int32_t flags, int32_t mode)
{
	constexpr int32_t allowed = kAccmode | kCreat | kExcl | kNoctty | kTrunc | kAppend | kCloexec;
	if (int32_t extra = flags & ~allowed) {
		char hex[16];
		snprintf(hex, sizeof hex, "0x%x", unsigned(extra));
		return refuse(EINVAL, std::string("flags ") + hex +
					      " not allowed (only the access mode, O_CREAT, O_EXCL, O_TRUNC, O_APPEND)");
	}
	OpenSpec spec;
	switch (flags & kAccmode) {
	case kRdonly: spec.access = O_RDONLY; break;
	case kWronly: spec.access = O_WRONLY; break;
	case kRdwr: spec.access = O_RDWR; break;
	default: return refuse(EINVAL, "access mode 3 (O_WRONLY | O_RDWR) is not one");
	}
	spec.create = flags & kCreat;
	spec.exclusive = spec.create && (flags & kExcl); // O_EXCL alone means something only for block devices
	spec.truncate = flags & kTrunc;
	spec.append = flags & kAppend;
	if (spec.truncate && spec.access == O_RDONLY)
		return refuse(EINVAL, "O_TRUNC without write access");
	if (spec.create) {
		if (mode < 0 || mode > 07777) {
			char oct[16];
			snprintf(oct, sizeof oct, "0%o", unsigned(mode));
			return refuse(EINVAL, std::string("mode ") + oct + " is not a file mode");
		}
		spec.mode = mode_t(mode) & kCreateModeMask;
	}
	return spec;
}

std::optional<std::string> pathProblem(std::string_view path)
{
	if (path.empty())
		return "empty path";
	if (path.size() > kMaxPath)
		return "path of " + std::to_string(path.size()) + " bytes, more than " + std::to_string(kMaxPath);
	if (path.front() == '/')
		return "absolute path";
	if (path.back() == '/')
		return "path ends with '/'";
	for (char c : path)
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
			return "control character in the path";
	size_t start = 0;
	while (start <= path.size()) {
		size_t end = path.find('/', start);
		if (end == std::string_view::npos)
			end = path.size();
		if (path.substr(start, end - start) == "..")
			return "'..' in the path";
		start = end + 1;
	}
	return std::nullopt;
}

std::string quote(std::string_view text, std::size_t max)
{
	std::string out = "\"";
	for (size_t i = 0; i < text.size(); i++) {
		if (i == max) {
			out += "\"... (" + std::to_string(text.size()) + " bytes)";
			return out;
		}
		unsigned char c = static_cast<unsigned char>(text[i]);
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			char esc[8];
			snprintf(esc, sizeof esc, "\\x%02x", c);
			out += esc;
		} else {
			out += char(c);
		}
	}
	return out + "\"";
}

Result<ConfinedDir> ConfinedDir::open(const std::string &path, bool create, mode_t mode)
{
	if (path.empty() || path.front() != '/')
		return unexpected(EINVAL, "proxy directory \"" + path + "\" is not an absolute path");
	if (create) {
		// mkdir -p: each missing component with `mode`.
		for (size_t pos = 1; pos <= path.size(); pos++) {
			if (pos != path.size() && path[pos] != '/')
				continue;
			std::string prefix = path.substr(0, pos);
			if (::mkdir(prefix.c_str(), mode) < 0 && errno != EEXIST)
				return unexpected(lastError("create the proxy directory \"" + prefix + "\""));
		}
	}
	UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (!fd)
		return unexpected(lastError("open the proxy directory \"" + path + "\""));
	return ConfinedDir(std::move(fd), path);
}

bool ConfinedDir::haveOpenat2()
{
	return openat2State.load() != 0;
}

Result<UniqueFd> ConfinedDir::openFile(std::string_view path, const OpenSpec &spec) const
{
	if (auto why = pathProblem(path))
		return refuse(EPERM, *why);
	// No O_TRUNC until the file is known to be ours to cut; O_NONBLOCK so a
	// FIFO cannot hang us (cleared again below).
	int flags = spec.access | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK;
	if (spec.create)
		flags |= O_CREAT;
	if (spec.exclusive)
		flags |= O_EXCL;
	if (spec.append)
		flags |= O_APPEND;
	auto fd = resolve(std::string(path), flags, spec.create ? spec.mode : 0);
	if (!fd)
		return fd;
	struct stat st {};
	if (::fstat(fd->get(), &st) < 0)
		return unexpected(lastError("fstat"));
	if (!S_ISREG(st.st_mode))
		return refuse(EPERM, std::string(typeName(st.st_mode)) + ", not a regular file");
	if (st.st_nlink > 1)
		return refuse(EPERM, "has " + std::to_string(st.st_nlink) +
					     " hard links (one may be a file outside the directory)");
	int fl = ::fcntl(fd->get(), F_GETFL);
	if (fl < 0 || ::fcntl(fd->get(), F_SETFL, fl & ~O_NONBLOCK) < 0)
		return unexpected(lastError("clear O_NONBLOCK"));
	if (spec.truncate && ::ftruncate(fd->get(), 0) < 0)
		return unexpected(lastError("truncate"));
	return fd;
}

Result<UniqueFd> ConfinedDir::resolve(const std::string &path, int flags, mode_t mode) const
{
	if (resolver_ == Resolver::Walk || (resolver_ == Resolver::Auto && openat2State.load() == 0))
		return walk(path, flags, mode);
	open_how how{};
	how.flags = uint64_t(unsigned(flags));
	how.mode = mode; // openat2 insists on 0 without O_CREAT
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	long fd;
	do
		fd = ::syscall(SYS_openat2, dir_.get(), path.c_str(), &how, sizeof how);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0) {
		openat2State.store(1);
		return UniqueFd(int(fd));
	}
	int err = errno;
	if (err == ENOSYS && resolver_ == Resolver::Auto) {
		if (openat2State.exchange(0) != 0)
			log::proxy()->warn("openat2() is missing (kernel before 5.6): paths are resolved one component "
					   "at a time with O_NOFOLLOW instead");
		return walk(path, flags, mode);
	}
	return refuse(err, resolveReason(err));
}

// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS by hand: the path has no ".." and
// is relative (pathProblem), so staying beneath the directory only needs
// every component to be no symlink, which O_NOFOLLOW on each step checks
// against the object itself, not a name someone may swap afterwards.
Result<UniqueFd> ConfinedDir::walk(const std::string &path, int flags, mode_t mode) const
{
	std::vector<std::string> parts;
	for (size_t start = 0; start < path.size();) {
		size_t end = path.find('/', start);
		if (end == std::string::npos)
			end = path.size();
		std::string part = path.substr(start, end - start);
		if (!part.empty()) // "a//b": the kernel skips empty components too
			parts.push_back(std::move(part));
		start = end + 1;
	}
	if (parts.empty())
		parts.push_back("."); // the directory itself: refused as not a regular file
	UniqueFd owned;
	int cur = dir_.get();
	for (size_t i = 0; i + 1 < parts.size(); i++) {
		UniqueFd next(::openat(cur, parts[i].c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
		if (!next)
			return refuse(errno, resolveReason(errno));
		struct stat st {};
		if (::fstat(next.get(), &st) < 0)
			return unexpected(lastError("fstat"));
		if (S_ISLNK(st.st_mode))
			return refuse(ELOOP, resolveReason(ELOOP));
		if (!S_ISDIR(st.st_mode))
			return refuse(ENOTDIR, resolveReason(ENOTDIR));
		owned = std::move(next);
		cur = owned.get();
	}
	int fd;
	do
		fd = ::openat(cur, parts.back().c_str(), flags | O_NOFOLLOW, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return refuse(errno, resolveReason(errno));
	return UniqueFd(fd);
}

} // namespace amp::proxy
