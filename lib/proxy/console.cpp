// SPDX-License-Identifier: MIT
// Consoles for the proxy: lines to the journal, bytes to a file, a terminal's fds.
#include "proxy/console.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

namespace amp::proxy {

Result<size_t> writeAll(int fd, std::span<const uint8_t> bytes)
{
	size_t done = 0;
	while (done < bytes.size()) {
		ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				return done;
			return unexpected(lastError("write"));
		}
		done += size_t(n);
	}
	return done;
}

// ---- journal ---------------------------------------------------------------------

Result<size_t> JournalConsole::write(int fd, std::span<const uint8_t> bytes)
{
	std::string &line = fd == 2 ? err_ : out_;
	for (uint8_t c : bytes) {
		if (c == '\n') {
			emit(fd, line);
			continue;
		}
		if (c == '\r')
			continue;
		if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
			line += char(c);
		} else {
			char esc[8];
			snprintf(esc, sizeof esc, "\\x%02x", c);
			line += esc;
		}
		if (line.size() >= kMaxLine)
			emit(fd, line);
	}
	return bytes.size();
}

void JournalConsole::flush()
{
	emit(1, out_);
	emit(2, err_);
}

void JournalConsole::emit(int fd, std::string &line)
{
	bool blank = line.find_first_not_of(" \t") == std::string::npos;
	if (!blank && limiter_.allow()) {
		log::ScopedFields fields{{"REMOTE", name_}, {"CONSOLE_FD", fd == 2 ? "2" : "1"}};
		if (uint64_t n = limiter_.takeSuppressed())
			log::proxy()->warn("{}: {} console lines not logged (more than the rate limit)", name_, n);
		log::proxy()->info("{} console: {}", name_, line);
	}
	line.clear();
}

// ---- file ------------------------------------------------------------------------

Result<std::unique_ptr<FileConsole>> FileConsole::open(const std::string &path, uint64_t maxBytes)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640));
	if (!fd)
		return unexpected(lastError("open the console file \"" + path + "\""));
	struct stat st {};
	if (::fstat(fd.get(), &st) < 0)
		return unexpected(lastError("fstat the console file \"" + path + "\""));
	return std::unique_ptr<FileConsole>(new FileConsole(std::move(fd), path, maxBytes, uint64_t(st.st_size)));
}

Result<size_t> FileConsole::write(int, std::span<const uint8_t> bytes)
{
	if (size_ + bytes.size() > maxBytes_) {
		// Someone may have truncated or rotated it: look before dropping.
		struct stat st {};
		if (::fstat(fd_.get(), &st) == 0) {
			if (uint64_t(st.st_size) < size_)
				full_ = false;
			size_ = uint64_t(st.st_size);
		}
	}
	size_t room = size_ >= maxBytes_ ? 0 : size_t(std::min<uint64_t>(maxBytes_ - size_, bytes.size()));
	size_t done = 0;
	if (room) {
		auto n = writeAll(fd_.get(), bytes.first(room));
		if (!n)
			return n;
		done = *n;
		size_ += done;
		if (done < room)
			return done; // a real write error part-way: say so
	}
	if (uint64_t drop = bytes.size() - done) {
		droppedUnlogged_ += drop;
		droppedTotal_ += drop;
		if (!full_) {
			full_ = true;
			log::proxy()->warn("console file \"{}\" reached console_max_bytes ({} bytes): the remote's "
					   "output is dropped until the file is truncated or rotated",
					   path_, maxBytes_);
		}
	}
	// Taken, written or dropped: see the class comment.
	return bytes.size();
}

void FileConsole::flush()
{
	if (droppedUnlogged_)
		log::proxy()->warn("console file \"{}\": {} bytes of the remote's output dropped at console_max_bytes ({})",
				   path_, std::exchange(droppedUnlogged_, 0), maxBytes_);
}

std::string FileConsole::describe() const
{
	return "file \"" + path_ + "\"";
}

// ---- fds -------------------------------------------------------------------------

Result<size_t> FdConsole::write(int, std::span<const uint8_t> bytes)
{
	return writeAll(out_, bytes);
}

Result<size_t> FdConsole::read(std::span<uint8_t> buffer)
{
	if (in_ < 0)
		return size_t(0);
	pollfd p{in_, POLLIN, 0};
	int r;
	do
		r = ::poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return unexpected(lastError("poll the console input"));
	if (r == 0)
		return unexpected(EAGAIN, "no console input yet");
	if (p.revents & POLLNVAL)
		return unexpected(EBADF, "console input");
	ssize_t n;
	do
		n = ::read(in_, buffer.data(), buffer.size());
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return unexpected(lastError("read the console input"));
	return size_t(n);
}

} // namespace amp::proxy
