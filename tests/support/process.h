// SPDX-License-Identifier: MIT
// Test support: child processes with captured output, exit waits bounded by
// deadlines (pidfd + poll, no sleeping), and an optional identity switch.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace amp::test {

using namespace std::chrono_literals;

// Who the child becomes before exec (the parent must be root).
struct Credentials {
	uid_t uid;
	gid_t gid;
	std::vector<gid_t> groups; // supplementary; empty: none
};

struct SpawnOptions {
	std::vector<std::string> env;           // NAME=VALUE, added to (or replacing in) ours
	std::optional<Credentials> credentials;
	std::string stdoutPath;                 // empty: a pipe this side reads
	std::string stderrPath;                 // empty: a pipe this side reads
};

struct RunResult {
	int exit = -1;   // exit status; 128+N when killed by signal N; -1 when it never ran
	std::string out;
	std::string err;
	bool timedOut = false;
	// For failure messages: "exit N\nstdout: ...\nstderr: ...".
	std::string describe() const;
};

class Process {
public:
	Process() = default;
	// Start argv[0] (searched in PATH when it has no slash). On failure
	// pid() is -1 and error() says why.
	static Process spawn(const std::vector<std::string> &argv, const SpawnOptions &options = {});
	~Process();
	Process(Process &&other) noexcept;
	Process &operator=(Process &&other) noexcept;
	Process(const Process &) = delete;
	Process &operator=(const Process &) = delete;

	pid_t pid() const { return pid_; }
	const std::string &error() const { return error_; }
	bool running() const { return pid_ > 0 && !status_; }
	// Readable once the child exits (for a poll() over more than this child).
	int pidfd() const { return pidfd_; }
	// The exit status once reaped (as RunResult::exit).
	std::optional<int> exitCode() const { return status_; }

	bool signal(int sig);
	// Read the pipes until the child exits and both pipes reach EOF, or
	// the deadline passes (then SIGKILL). Consumes the captured output.
	RunResult wait(std::chrono::milliseconds deadline = 30s);
	// Wait for the exit only (output kept), up to the deadline; the status
	// or nullopt when it still runs.
	std::optional<int> waitExit(std::chrono::milliseconds deadline);
	// SIGTERM, then SIGKILL when it has not exited within `grace`.
	int terminate(std::chrono::milliseconds grace = 5s);
	// Read stdout (a pipe) until `pred` holds on all of it so far, the
	// child exits, or the deadline passes.
	bool readUntil(const std::function<bool(const std::string &)> &pred, std::chrono::milliseconds deadline);
	const std::string &out() const { return out_; }
	const std::string &err() const { return err_; }

private:
	// One round of poll over pipes + pidfd; false when the deadline passed.
	bool pump(std::chrono::steady_clock::time_point end);
	void reap();
	void closeAll();

	pid_t pid_ = -1;
	int pidfd_ = -1;
	int outFd_ = -1;
	int errFd_ = -1;
	std::optional<int> status_;
	std::string out_, err_, error_;
};

// The first sanitizer report (ASan, LSan, UBSan, TSan) in a child's output,
// from its first line on; empty when there is none. A child the tests judge
// only by what it serves (ampsim, a daemon stopped with SIGKILL) would
// otherwise hide one in a log nobody reads.
std::string sanitizerReport(const std::string &output);

// Spawn, wait and collect.
RunResult run(const std::vector<std::string> &argv, const SpawnOptions &options = {},
	      std::chrono::milliseconds deadline = 30s);

} // namespace amp::test
