// SPDX-License-Identifier: MIT
// The proxy's confinement: a remote's OPEN resolves beneath one directory and nowhere else.
//
// The policy (docs/design.md "Proxy service"):
// - paths are relative, without "..", control characters or a trailing '/':
//   refused before the kernel sees them (lexical half);
// - resolution is openat2(dirfd, path, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//   RESOLVE_NO_MAGICLINKS): no symlink is followed, not even one that stays
//   inside, so the rule is the same on every kernel and needs no reasoning
//   about where a link leads. Kernels before 5.6 (ENOSYS) get an equivalent
//   walk: one openat(O_PATH | O_NOFOLLOW) per component from the directory
//   fd, the last with O_NOFOLLOW, so no component is ever a symlink either;
// - flags are Linux's generic values (asm-generic/fcntl.h, what the remote's
//   newlib is built with), translated explicitly, never passed through: the
//   access mode, O_CREAT, O_EXCL, O_TRUNC and O_APPEND are allowed, O_NOCTTY
//   and O_CLOEXEC accepted and ignored, anything else (O_PATH, O_DIRECTORY,
//   O_TMPFILE, O_NOFOLLOW, O_DIRECT, O_NONBLOCK, O_SYNC...) refused;
// - we always add O_CLOEXEC, O_NOCTTY, O_NOFOLLOW, and open with O_NONBLOCK
//   (a FIFO planted in the directory cannot hang the daemon) and without
//   O_TRUNC; only a regular file with one link is kept (a hard link planted
//   in the directory may be a file from anywhere), and then truncated;
// - the mode (with O_CREAT only: without it the remote's vararg is stack
//   garbage) must be within 07777; setuid, setgid, sticky and the group and
//   others' write bits are cleared (& 0755), the process umask applies too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "amp/result.hpp"
#include "base/unique_fd.h"

namespace amp::proxy {

// OPEN's flags as they travel (Linux's generic values, whatever the host is).
namespace wire_flags {
inline constexpr int32_t kRdonly = 0, kWronly = 01, kRdwr = 02, kAccmode = 03;
inline constexpr int32_t kCreat = 0100, kExcl = 0200, kNoctty = 0400, kTrunc = 01000, kAppend = 02000;
inline constexpr int32_t kCloexec = 02000000;
} // namespace wire_flags

// The mode bits a created file may have at most.
inline constexpr mode_t kCreateModeMask = 0755;
// Longest path accepted (one message holds 479 bytes anyway).
inline constexpr std::size_t kMaxPath = 4095;

// What an OPEN may do, checked and in host terms.
struct OpenSpec {
	int access = 0;       // O_RDONLY, O_WRONLY or O_RDWR
	bool create = false;
	bool exclusive = false;
	bool truncate = false;
	bool append = false;
	mode_t mode = 0;      // for create only, masked
	bool operator==(const OpenSpec &) const = default;
};

// Validate and translate OPEN's flags and mode; EINVAL with the reason.
[[nodiscard]] Result<OpenSpec> translateOpen(int32_t flags, int32_t mode);

// Why `path` is refused before any lookup (absolute, "..", empty...), or nullopt.
std::optional<std::string> pathProblem(std::string_view path);

// A path or string as a log line shows it: quoted, non-printable bytes as \xNN, cut at `max`.
std::string quote(std::string_view text, std::size_t max = 200);

// How a path is resolved beneath the directory.
enum class Resolver {
	Auto,    // openat2, the walk when the kernel has none (ENOSYS)
	Openat2, // openat2 only
	Walk,    // component by component (what kernels before 5.6 get)
};

// The directory a remote's files live in, held as an O_PATH fd.
class ConfinedDir {
public:
	// Open `path` (O_PATH | O_DIRECTORY); with `create`, missing components
	// are made first with `mode` (0750: the remote's files are not for every user).
	[[nodiscard]] static Result<ConfinedDir> open(const std::string &path, bool create, mode_t mode = 0750);
	explicit ConfinedDir(UniqueFd dir, std::string path = {}, Resolver resolver = Resolver::Auto)
		: dir_(std::move(dir)), path_(std::move(path)), resolver_(resolver)
	{
	}

	int fd() const { return dir_.get(); }
	const std::string &path() const { return path_; }
	void setResolver(Resolver resolver) { resolver_ = resolver; }

	// Open the regular file `path` beneath the directory. The error's
	// context is the reason, for the refusal log: "resolves outside the
	// directory", "a symlink in the path"... with the kernel's errno.
	[[nodiscard]] Result<UniqueFd> openFile(std::string_view path, const OpenSpec &spec) const;

	// Whether openat2 is used: false once a kernel said ENOSYS.
	static bool haveOpenat2();

private:
	Result<UniqueFd> resolve(const std::string &path, int flags, mode_t mode) const;
	Result<UniqueFd> walk(const std::string &path, int flags, mode_t mode) const;

	UniqueFd dir_;
	std::string path_;
	Resolver resolver_ = Resolver::Auto;
};

} // namespace amp::proxy
