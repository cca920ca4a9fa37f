// SPDX-License-Identifier: MIT
// Test support: child processes (process.h).
#include "support/process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char **environ;

namespace amp::test {

std::string RunResult::describe() const
{
	return "exit " + std::to_string(exit) + (timedOut ? " (killed at the deadline)" : "") + "\nstdout: " + out +
	       "\nstderr: " + err;
}

static int pidfdOpen(pid_t pid)
{
	return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

static void closeFd(int &fd)
{
	if (fd >= 0)
		::close(fd);
	fd = -1;
}

Process Process::spawn(const std::vector<std::string> &args, const SpawnOptions &options)
{
	Process p;
	if (args.empty()) {
		p.error_ = "no program";
		return p;
	}
	// Everything the child needs is built before fork: after it, only
	// async-signal-safe calls.
	std::vector<std::string> env;
	for (char **e = environ; *e; ++e) {
		std::string entry = *e;
		std::string name = entry.substr(0, entry.find('='));
		bool replaced = false;
		for (const auto &mine : options.env)
			replaced |= mine.substr(0, mine.find('=')) == name;
		if (!replaced)
			env.push_back(entry);
	}
	env.insert(env.end(), options.env.begin(), options.env.end());
	std::vector<char *> argv, envp;
	std::vector<std::string> argStore = args;
	for (auto &a : argStore)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	for (auto &e : env)
		envp.push_back(e.data());
	envp.push_back(nullptr);

	int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
	auto target = [](const std::string &path, int pipeFds[2]) {
		if (path.empty())
			return ::pipe2(pipeFds, O_CLOEXEC) == 0;
		pipeFds[1] = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		return pipeFds[1] >= 0;
	};
	if (in < 0 || !target(options.stdoutPath, out) || !target(options.stderrPath, err) ||
	    ::pipe2(report, O_CLOEXEC) != 0) {
		p.error_ = std::string("pipes: ") + strerror(errno);
		for (int fd : {in, out[0], out[1], err[0], err[1], report[0], report[1]})
			if (fd >= 0)
				::close(fd);
		return p;
	}
	std::vector<gid_t> groups;
	if (options.credentials)
		groups = options.credentials->groups;

	pid_t pid = ::fork();
	if (pid == 0) {
		auto fail = [&](int e) {
			(void)!::write(report[1], &e, sizeof e);
			_exit(127);
		};
		if (::dup2(in, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0)
			fail(errno);
		if (options.credentials) {
			const Credentials &c = *options.credentials;
			if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(c.gid, c.gid, c.gid) != 0 ||
			    ::setresuid(c.uid, c.uid, c.uid) != 0)
				fail(errno);
		}
		::execvpe(argv[0], argv.data(), envp.data());
		fail(errno);
	}
	int forkErr = errno;
	for (int fd : {in, out[1], err[1], report[1]})
		::close(fd);
	p.outFd_ = out[0];
	p.errFd_ = err[0];
	if (pid < 0) {
		::close(report[0]);
		p.error_ = std::string("fork: ") + strerror(forkErr);
		p.closeAll();
		return p;
	}
	p.pid_ = pid;
	// The report pipe closes on exec; an errno on it means the exec failed.
	int childErr = 0;
	ssize_t n = ::read(report[0], &childErr, sizeof childErr);
	::close(report[0]);
	if (n == sizeof childErr) {
		p.error_ = "exec " + args[0] + ": " + strerror(childErr);
		p.reap();
		p.closeAll();
		p.pid_ = -1;
		return p;
	}
	p.pidfd_ = pidfdOpen(pid);
	if (p.pidfd_ < 0)
		p.error_ = std::string("pidfd_open: ") + strerror(errno);
	return p;
}

Process::~Process()
{
	if (running()) {
		::kill(pid_, SIGKILL);
		reap();
	}
	closeAll();
}

Process::Process(Process &&o) noexcept
	: pid_(std::exchange(o.pid_, -1)), pidfd_(std::exchange(o.pidfd_, -1)), outFd_(std::exchange(o.outFd_, -1)),
	  errFd_(std::exchange(o.errFd_, -1)), status_(std::exchange(o.status_, std::nullopt)),
	  out_(std::move(o.out_)), err_(std::move(o.err_)), error_(std::move(o.error_))
{
}

Process &Process::operator=(Process &&o) noexcept
{
	if (this != &o) {
		this->~Process();
		new (this) Process(std::move(o));
	}
	return *this;
}

void Process::closeAll()
{
	closeFd(pidfd_);
	closeFd(outFd_);
	closeFd(errFd_);
}

void Process::reap()
{
	if (pid_ <= 0 || status_)
		return;
	int st = 0;
	if (::waitpid(pid_, &st, 0) == pid_)
		status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
	else
		status_ = -1;
	closeFd(pidfd_);
}

bool Process::signal(int sig)
{
	return running() && ::kill(pid_, sig) == 0;
}

bool Process::pump(std::chrono::steady_clock::time_point end)
{
	pollfd fds[3];
	int n = 0;
	if (outFd_ >= 0)
		fds[n++] = {outFd_, POLLIN, 0};
	if (errFd_ >= 0)
		fds[n++] = {errFd_, POLLIN, 0};
	if (running() && pidfd_ >= 0)
		fds[n++] = {pidfd_, POLLIN, 0};
	if (n == 0) {
		// No pidfd (a kernel before 5.3): a blocking wait is all there is.
		reap();
		return true;
	}
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
	if (left.count() < 0)
		return false;
	int rc = ::poll(fds, n, static_cast<int>(left.count()));
	if (rc < 0 && errno == EINTR)
		return true;
	if (rc <= 0)
		return false;
	for (int i = 0; i < n; ++i) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == pidfd_) {
			reap();
			continue;
		}
		int &fd = fds[i].fd == outFd_ ? outFd_ : errFd_;
		std::string &text = fds[i].fd == outFd_ ? out_ : err_;
		char buf[4096];
		ssize_t got = ::read(fd, buf, sizeof buf);
		if (got > 0)
			text.append(buf, static_cast<size_t>(got));
		else if (got == 0 || errno != EINTR)
			closeFd(fd);
	}
	return true;
}

RunResult Process::wait(std::chrono::milliseconds deadline)
{
	RunResult r;
	auto end = std::chrono::steady_clock::now() + deadline;
	while (outFd_ >= 0 || errFd_ >= 0 || running()) {
		if (!pump(end)) {
			r.timedOut = true;
			if (running())
				::kill(pid_, SIGKILL);
			reap();
			break;
		}
	}
	closeFd(outFd_);
	closeFd(errFd_);
	r.exit = status_.value_or(-1);
	r.out = std::move(out_);
	r.err = std::move(err_);
	if (!error_.empty() && r.exit == -1)
		r.err += error_;
	return r;
}

std::optional<int> Process::waitExit(std::chrono::milliseconds deadline)
{
	auto end = std::chrono::steady_clock::now() + deadline;
	while (running())
		if (!pump(end))
			break;
	return status_;
}

int Process::terminate(std::chrono::milliseconds grace)
{
	if (running()) {
		::kill(pid_, SIGTERM);
		if (!waitExit(grace)) {
			::kill(pid_, SIGKILL);
			reap();
		}
	}
	return status_.value_or(-1);
}

bool Process::readUntil(const std::function<bool(const std::string &)> &pred, std::chrono::milliseconds deadline)
{
	auto end = std::chrono::steady_clock::now() + deadline;
	while (!pred(out_)) {
		if (outFd_ < 0 || !pump(end))
			return pred(out_);
	}
	return true;
}

std::string sanitizerReport(const std::string &output)
{
	size_t at = std::string::npos;
	for (const char *marker : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
				   ": runtime error: "})
		at = std::min(at, output.find(marker));
	if (at == std::string::npos)
		return "";
	size_t line = output.rfind('\n', at);
	line = line == std::string::npos ? 0 : line + 1;
	return output.substr(line, 16000);
}

RunResult run(const std::vector<std::string> &argv, const SpawnOptions &options, std::chrono::milliseconds deadline)
{
	Process p = Process::spawn(argv, options);
	if (p.pid() < 0) {
		RunResult r;
		r.err = p.error();
		return r;
	}
	return p.wait(deadline);
}

} // namespace amp::test
