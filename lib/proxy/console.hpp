// SPDX-License-Identifier: MIT
// The remote's console (its fds 0, 1 and 2): the journal, a file, or a terminal.
//
// A console never blocks its caller waiting for input: read() answers
// EAGAIN when nothing is there yet, and the transport watches inputFd() and
// resumes the server then (ProxyServer::resumeInput). The journal and a file
// have no input: fd 0 reads as end-of-file at once, which the OpenAMP demo
// (scanf) takes as EOF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "amp/result.hpp"
#include "base/unique_fd.h"
#include "proxy/rate_limit.hpp"

namespace amp::proxy {

class Console {
public:
	virtual ~Console() = default;
	// fd 1 or 2: what the remote printed. The bytes taken.
	[[nodiscard]] virtual Result<size_t> write(int fd, std::span<const uint8_t> bytes) = 0;
	// fd 0: up to buffer.size() bytes of input, 0 at its end; EAGAIN when
	// none is there yet (then inputFd() becomes readable when some is).
	[[nodiscard]] virtual Result<size_t> read(std::span<uint8_t> buffer) = 0;
	// The fd to watch for input after an EAGAIN; -1 when read() never says EAGAIN.
	virtual int inputFd() const { return -1; }
	// The session ended: write out what is held back (a partial line).
	virtual void flush() {}
	// "the journal", "file \"/var/log/r5.log\"", "the terminal".
	virtual std::string describe() const = 0;
};

// Each line the remote prints becomes a log line of the proxy area
// (REMOTE=<name>, CONSOLE_FD=1|2): '\r' dropped, blank lines skipped,
// non-printable bytes as \xNN, lines cut at kMaxLine, rate-limited.
class JournalConsole final : public Console {
public:
	static constexpr size_t kMaxLine = 512;
	explicit JournalConsole(std::string name, RateLimit limit = {200, std::chrono::milliseconds(10000)})
		: name_(std::move(name)), limiter_(limit)
	{
	}
	~JournalConsole() override { flush(); }
	Result<size_t> write(int fd, std::span<const uint8_t> bytes) override;
	Result<size_t> read(std::span<uint8_t>) override { return size_t(0); }
	void flush() override;
	std::string describe() const override { return "the journal"; }

private:
	void emit(int fd, std::string &line);
	std::string name_;
	std::string out_, err_; // the partial line of fd 1 and fd 2
	RateLimiter limiter_;
};

// Output appended to a file (O_APPEND, created 0640); no input.
//
// The file never grows past `maxBytes` (ampd's `console_max_bytes`): the
// OpenAMP demo at end-of-input prompts forever, and a remote can print as
// fast as the link goes, so without a cap a file console fills the disk.
// The cap is the file's size, not a count per session: it holds across
// sessions and ampd restarts, which all append to the same file. At the cap
// the output is dropped, the first drop logged (once until the file is
// found shorter again: truncated or rotated with copytruncate), the total
// dropped logged at flush(), and the WRITE still answered with every byte
// taken, as /dev/null would: a remote that got -1 or a short count may
// retry the same bytes forever (a write-all loop), and newlib marks stdout
// failed and drops its buffer anyway, so an error buys nothing but a
// remote that spins or stops printing for good once the file is rotated.
class FileConsole final : public Console {
public:
	static constexpr uint64_t kDefaultMaxBytes = 1024 * 1024;
	[[nodiscard]] static Result<std::unique_ptr<FileConsole>> open(const std::string &path,
									uint64_t maxBytes = kDefaultMaxBytes);
	Result<size_t> write(int fd, std::span<const uint8_t> bytes) override;
	Result<size_t> read(std::span<uint8_t>) override { return size_t(0); }
	void flush() override;
	std::string describe() const override;
	// Bytes dropped at the cap, in all.
	uint64_t dropped() const { return droppedTotal_; }

private:
	FileConsole(UniqueFd fd, std::string path, uint64_t maxBytes, uint64_t size)
		: fd_(std::move(fd)), path_(std::move(path)), maxBytes_(maxBytes), size_(size)
	{
	}
	UniqueFd fd_;
	std::string path_;
	uint64_t maxBytes_;
	uint64_t size_;                // the file's size as last seen or grown by us
	bool full_ = false;            // the drop was logged
	uint64_t droppedUnlogged_ = 0; // dropped since the last flush()
	uint64_t droppedTotal_ = 0;
};

// A pair of fds it does not own: input (-1: none, end-of-file) and output
// for both fd 1 and fd 2. `ampctl proxy` in the foreground: stdin, stdout.
class FdConsole final : public Console {
public:
	FdConsole(int in, int out, std::string what = "the terminal") : in_(in), out_(out), what_(std::move(what)) {}
	Result<size_t> write(int fd, std::span<const uint8_t> bytes) override;
	// poll() first, so it never blocks: EAGAIN while nothing is typed.
	Result<size_t> read(std::span<uint8_t> buffer) override;
	int inputFd() const override { return in_; }
	std::string describe() const override { return what_; }

private:
	int in_;
	int out_;
	std::string what_;
};

// Write all of `bytes` (EINTR and short writes retried); what was written
// before an error counts.
[[nodiscard]] Result<size_t> writeAll(int fd, std::span<const uint8_t> bytes);

} // namespace amp::proxy
