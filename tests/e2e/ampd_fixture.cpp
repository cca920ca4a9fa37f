// SPDX-License-Identifier: MIT
// End-to-end fixture: ampsim + ampd + ampctl as real processes (ampd_fixture.h).
#include "ampd_fixture.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace amp::e2e {

namespace {

// Why these tests cannot run here; empty when they can.
std::string &isolationProblem()
{
	static std::string problem = "isolate() was not called";
	return problem;
}

} // namespace

void isolate()
{
	if (::geteuid() != 0) {
		isolationProblem() = "not root: ampsim's uevents need a private network namespace "
				     "(unshare(CLONE_NEWNET)) and the unprivileged-client test switches users";
		return;
	}
	if (::unshare(CLONE_NEWNET) != 0) {
		isolationProblem() = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
		return;
	}
	isolationProblem().clear();
	// A private mount namespace is a safety net only (the mounts go with
	// the last process in it), so failing to get one is no reason to stop.
	if (::unshare(CLONE_NEWNS) == 0)
		(void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
}

NotifySocket::NotifySocket()
{
	static std::atomic<unsigned> counter{0};
	fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	readyFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	stopFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	std::string name = "amp-e2e/" + std::to_string(::getpid()) + "/" + std::to_string(counter++);
	sockaddr_un a{};
	a.sun_family = AF_UNIX;
	// Abstract: no file to clean up, and visible only in our network namespace.
	std::memcpy(a.sun_path + 1, name.data(), name.size());
	auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
	if (fd_ < 0 || readyFd_ < 0 || stopFd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr *>(&a), len) != 0) {
		ADD_FAILURE() << "notify socket: " << strerror(errno);
		return;
	}
	address_ = "@" + name;
	reader_ = std::thread([this] { receive(); });
}

NotifySocket::~NotifySocket()
{
	if (reader_.joinable()) {
		uint64_t one = 1;
		(void)!::write(stopFd_, &one, sizeof one);
		reader_.join();
	}
	for (int fd : {fd_, readyFd_, stopFd_})
		if (fd >= 0)
			::close(fd);
}

void NotifySocket::receive()
{
	for (;;) {
		pollfd p[2] = {{fd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
		if (::poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			return;
		char buf[4096];
		ssize_t got;
		while ((got = ::recv(fd_, buf, sizeof buf, 0)) > 0) {
			std::string msg(buf, static_cast<size_t>(got));
			{
				std::lock_guard lock(mutex_);
				received_ += msg + "|";
			}
			std::istringstream lines(msg);
			for (std::string line; std::getline(lines, line);) {
				if (line == "READY=1") {
					uint64_t one = 1;
					(void)!::write(readyFd_, &one, sizeof one);
				}
			}
		}
	}
}

std::string NotifySocket::received() const
{
	std::lock_guard lock(mutex_);
	return received_;
}

void NotifySocket::reset()
{
	uint64_t count;
	(void)!::read(readyFd_, &count, sizeof count);
	std::lock_guard lock(mutex_);
	received_.clear();
}

std::string NotifySocket::waitReady(const Process &process, std::chrono::milliseconds deadline)
{
	auto end = std::chrono::steady_clock::now() + deadline;
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			return "no READY=1 within " + std::to_string(deadline.count()) + " ms (notifications: '" +
			       received() + "')";
		pollfd p[2] = {{readyFd_, POLLIN, 0}, {process.pidfd(), POLLIN, 0}};
		int n = ::poll(p, 2, static_cast<int>(left.count()));
		if (n < 0 && errno != EINTR)
			return std::string("poll: ") + strerror(errno);
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			uint64_t count;
			(void)!::read(readyFd_, &count, sizeof count);
			return "";
		}
		if (p[1].revents)
			return "ampd exited before READY=1 (notifications: '" + received() + "')";
	}
}

void AmpdFixture::SetUp()
{
	auto cannot = [](const std::string &why) {
		// Outside CI a machine without the means skips, saying why; in CI it fails.
		if (test::inCi())
			GTEST_FAIL() << why << " (CI=true: not skipping)";
		GTEST_SKIP() << why;
	};
	if (!isolationProblem().empty())
		return cannot(isolationProblem());
	if (::access("/dev/fuse", R_OK | W_OK) != 0)
		return cannot(std::string("no usable /dev/fuse: ") + strerror(errno));
	ASSERT_FALSE(dir_.path().empty());
	// The unprivileged-client test reaches the socket through this directory.
	ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
	configPath_ = dir_.path() + "/ampd.json";
	socketPath_ = dir_.path() + "/ampd.sock";
	logPath_ = dir_.path() + "/ampd.log";
	ASSERT_EQ(::mkdir((dir_.path() + "/state").c_str(), 0700), 0);

	test::Simulator::Options o;
	o.layout = layout();
	// udev-format events on group 2, where a daemon without udevd listens.
	o.extraArgs = {"--uevents", "udev"};
	o.extraArgs.insert(o.extraArgs.end(), simArgs_.begin(), simArgs_.end());
	if (!sim_.start(o)) {
		if (!IsSkipped())
			GTEST_FAIL() << "ampsim did not start";
		return;
	}
	installFirmware(kEcho, "echo");
	installFirmware(kMatmul, "matmul");
	installFirmware(kRpc, "rpc");
}

void AmpdFixture::TearDown()
{
	if (HasFailure()) {
		std::string log = daemonLog();
		if (log.size() > 12000)
			log = "...\n" + log.substr(log.size() - 12000);
		std::cerr << "---- ampd log (" << logPath_ << ")\n" << log << "---- ampsim ctl status\n"
			  << (sim_.pid() > 0 ? simStatus() : "(not running)") << "---- ampsim stderr\n"
			  << sim_.stderrText() << "----\n";
	}
	if (ampd_.running()) {
		// Still running, unless it died on its own: that is a failure too
		// (reported once; a test that failed already said why).
		if (auto early = ampd_.waitExit(0ms)) {
			if (!HasFailure())
				ADD_FAILURE() << "ampd exited by itself with " << *early << "; log:\n" << daemonLog();
		} else {
			// A clean exit on SIGTERM is part of the contract (and under
			// the sanitizers it also says nothing leaked).
			int status = ampd_.terminate(5s);
			EXPECT_EQ(status, 0) << "ampd on SIGTERM; log:\n" << daemonLog();
		}
	}
	// The log holds every instance the test ran (appended), SIGKILLed
	// ones too: a sanitizer report from any of them fails the test.
	if (std::string report = test::sanitizerReport(daemonLog()); !report.empty())
		ADD_FAILURE() << "ampd reported:\n" << report;
	sim_.stop();
}

json AmpdFixture::config(const json &remote, const json &top)
{
	json r = {{"remoteproc", 0}};
	if (!remote.is_null())
		r.merge_patch(remote);
	json c = {{"remotes", {{kRemote, r}}}};
	if (!top.is_null())
		c.merge_patch(top);
	return c;
}

void AmpdFixture::writeConfig(const json &c)
{
	json full = c;
	// ampd's own files stay in the test's tree, never /var/lib/ampd.
	if (!full.contains("state_directory"))
		full["state_directory"] = dir_.path() + "/state";
	test::writeFile(configPath_, full.dump(2) + "\n");
}

bool AmpdFixture::startDaemon()
{
	if (!test::exists(configPath_))
		writeConfig(config());
	notify_.reset();
	SpawnOptions so;
	so.env = {"NOTIFY_SOCKET=" + notify_.address()};
	so.stdoutPath = logPath_;
	so.stderrPath = logPath_;
	ampd_ = Process::spawn({AMPD_BINARY, "--root", sim_.root(), "--config", configPath_, "--socket", socketPath_,
				"--log-level", "debug"},
			       so);
	if (ampd_.pid() < 0) {
		ADD_FAILURE() << "spawn ampd: " << ampd_.error();
		return false;
	}
	std::string why = notify_.waitReady(ampd_, 10s);
	if (!why.empty()) {
		ADD_FAILURE() << "ampd did not become ready: " << why;
		return false;
	}
	return true;
}

void AmpdFixture::killDaemon()
{
	ampd_.signal(SIGKILL);
	ampd_.waitExit(10s);
}

std::string AmpdFixture::daemonLog() const
{
	return test::readText(logPath_).value_or("(no log)");
}

RunResult AmpdFixture::ampctl(const std::vector<std::string> &args, SpawnOptions options,
			      std::chrono::milliseconds deadline)
{
	return ampctlAsync(args, std::move(options)).wait(deadline);
}

Process AmpdFixture::ampctlAsync(const std::vector<std::string> &args, SpawnOptions options)
{
	std::vector<std::string> argv = {AMPCTL_BINARY, "--socket", socketPath_};
	argv.insert(argv.end(), args.begin(), args.end());
	Process p = Process::spawn(argv, options);
	if (p.pid() < 0)
		ADD_FAILURE() << "spawn ampctl: " << p.error();
	return p;
}

json AmpdFixture::parseReply(const std::string &out)
{
	json whole = json::parse(out, nullptr, false);
	if (!whole.is_discarded())
		return whole;
	// One object a line (a stream): the last one that parses.
	std::istringstream lines(out);
	json last;
	for (std::string line; std::getline(lines, line);) {
		json j = json::parse(line, nullptr, false);
		if (!j.is_discarded())
			last = j;
	}
	return last;
}

std::string AmpdFixture::daemonState()
{
	RunResult r = ampctl({"--json", "status", kRemote});
	json reply = parseReply(r.out);
	if (reply.is_object() && reply.contains("remotes"))
		for (const auto &remote : reply["remotes"])
			if (remote.value("name", "") == kRemote)
				return remote.value("state", "<no state>");
	return "<status failed: " + r.describe() + ">";
}

void AmpdFixture::installFirmware(const std::string &name, const std::string &app, const std::vector<std::string> &extra)
{
	sim_.installFirmware(name, test::makeFirmware(app, extra));
}

bool AmpdFixture::startEcho(const json &remote, const json &top)
{
	writeConfig(config(remote, top));
	if (!startDaemon())
		return false;
	RunResult start = ampctl({"start", kRemote, "--firmware", kMultiEcho});
	EXPECT_EQ(start.exit, kOk) << start.describe();
	return start.exit == kOk;
}

void AmpdFixture::boot(const std::string &firmware)
{
	RunResult start = ampctl({"start", kRemote, "--firmware", firmware});
	ASSERT_EQ(start.exit, kOk) << start.describe();
}

Matrix matrixProduct(const Matrix &a, const Matrix &b)
{
	Matrix p(6, std::vector<std::uint64_t>(6, 0));
	for (int r = 0; r < 6; ++r)
		for (int c = 0; c < 6; ++c)
			for (int k = 0; k < 6; ++k)
				p[r][c] += a[r][k] * b[k][c];
	return p;
}

std::string AmpdFixture::attr(const std::string &name) const
{
	auto text = test::readText(sim_.rproc(0) + "/" + name);
	if (!text)
		return std::string("<error: ") + strerror(errno) + ">";
	if (!text->empty() && text->back() == '\n')
		text->pop_back();
	return *text;
}

std::string AmpdFixture::simStatus()
{
	std::string out;
	sim_.ctl({"status"}, &out);
	return out;
}

Process AmpdFixture::stressAsync(const std::vector<std::string> &args, const std::string &remote, int timeoutSeconds,
				 SpawnOptions options)
{
	std::vector<std::string> argv = {AMP_STREAM_STRESS, "--socket", socketPath_, "--remote", remote, "--channel",
					 kDemoChannel, "--json", "-", "--timeout", std::to_string(timeoutSeconds)};
	argv.insert(argv.end(), args.begin(), args.end());
	Process p = Process::spawn(argv, std::move(options));
	if (p.pid() < 0)
		ADD_FAILURE() << "spawn amp-stream-stress: " << p.error();
	return p;
}

AmpdFixture::Stress AmpdFixture::finish(Process &p, std::chrono::milliseconds deadline)
{
	Stress s{p.wait(deadline), {}};
	s.report = parseReply(s.run.out);
	if (!s.report.is_object() || !s.report.contains("streams"))
		s.report = json();
	std::istringstream lines(s.run.out);
	for (std::string line; std::getline(lines, line);)
		if (line.rfind("amp-stream-stress:", 0) == 0)
			std::cout << "    " << line << "\n";
	return s;
}

size_t AmpdFixture::lines(const std::string &out, const std::string &prefix)
{
	size_t n = 0;
	std::istringstream in(out);
	for (std::string line; std::getline(in, line);)
		n += line.rfind(prefix, 0) == 0;
	return n;
}

bool AmpdFixture::waitLines(Process &p, const std::string &prefix, size_t count, std::chrono::milliseconds deadline)
{
	return p.readUntil([&](const std::string &out) { return lines(out, prefix) >= count; }, deadline);
}

std::set<std::string> AmpdFixture::endpointNodes() const
{
	std::set<std::string> nodes;
	for (const auto &name : test::listDir(sim_.root() + "/dev"))
		if (name.size() > 5 && name.rfind("rpmsg", 0) == 0 &&
		    std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; }))
			nodes.insert(name);
	return nodes;
}

size_t AmpdFixture::ampdFds() const
{
	const std::string dir = "/proc/" + std::to_string(ampd_.pid()) + "/fd/";
	const std::string sys = sim_.root() + "/sys/", firmware = sim_.root() + "/lib/firmware/";
	size_t n = 0;
	for (const auto &fd : test::listDir(dir)) {
		char target[512] = {};
		ssize_t len = ::readlink((dir + fd).c_str(), target, sizeof target - 1);
		if (len <= 0)
			continue; // closed since the listing: one of the one-read files
		std::string_view t(target, size_t(len));
		n += !t.starts_with(sys) && !t.starts_with(firmware);
	}
	return n;
}

AmpdFixture::ClientSockets AmpdFixture::ampdClientSockets() const
{
	// /proc/net/unix: "Num RefCount Protocol Flags Type St Inode [Path]".
	// A connection accepted on ampd's socket carries the socket's path; a
	// stream socket, one end of a socketpair, has none. Both are connected
	// (St 03) SOCK_SEQPACKET (Type 0005); the listener is St 01.
	std::map<std::string, bool> connected; // inode -> has a path
	std::istringstream table(test::readText("/proc/net/unix").value_or(""));
	std::string line;
	std::getline(table, line);
	while (std::getline(table, line)) {
		std::istringstream fields(line);
		std::string num, refs, protocol, flags, type, st, inode, path;
		fields >> num >> refs >> protocol >> flags >> type >> st >> inode >> path;
		if (type == "0005" && st == "03")
			connected[inode] = !path.empty();
	}
	ClientSockets sockets;
	const std::string dir = "/proc/" + std::to_string(ampd_.pid()) + "/fd/";
	for (const auto &fd : test::listDir(dir)) {
		char target[512] = {};
		ssize_t len = ::readlink((dir + fd).c_str(), target, sizeof target - 1);
		std::string_view t(target, len > 0 ? size_t(len) : 0);
		if (!t.starts_with("socket:[") || !t.ends_with("]"))
			continue;
		auto it = connected.find(std::string(t.substr(8, t.size() - 9)));
		if (it != connected.end())
			(it->second ? sockets.connections : sockets.streams)++;
	}
	return sockets;
}

size_t AmpdFixture::settledFds(size_t streams, size_t connections)
{
	bool settled = eventually([&] {
		ClientSockets now = ampdClientSockets();
		return now.connections == connections && now.streams == streams;
	});
	EXPECT_TRUE(settled) << "ampd's client sockets did not settle at " << streams << " streams and " << connections
			     << " connections:\n"
			     << ampdFdList();
	return ampdFds();
}

size_t AmpdFixture::idleFds(size_t connections)
{
	RunResult warm = ampctl({"send", kRemote, kDemoChannel, "warm-up", "--reply"});
	EXPECT_EQ(warm.exit, kOk) << warm.describe();
	EXPECT_TRUE(eventually([&] { return endpointNodes().empty(); }));
	return settledFds(0, connections);
}

std::string AmpdFixture::ampdFdList() const
{
	std::string list;
	const std::string dir = "/proc/" + std::to_string(ampd_.pid()) + "/fd/";
	for (const auto &fd : test::listDir(dir)) {
		char target[512] = {};
		ssize_t n = ::readlink((dir + fd).c_str(), target, sizeof target - 1);
		list += fd + " -> " + (n > 0 ? std::string(target, size_t(n)) : "?") + "\n";
	}
	return list;
}

std::vector<std::pair<std::string, std::string>> stateEvents(const std::string &stream)
{
	std::vector<std::pair<std::string, std::string>> events;
	std::istringstream lines(stream);
	for (std::string line; std::getline(lines, line);) {
		json j = json::parse(line, nullptr, false);
		if (j.is_object() && j.value("type", "") == "event" && j.value("event", "") == "state")
			events.emplace_back(j.value("from", ""), j.value("to", ""));
	}
	return events;
}

bool inOrder(const std::vector<std::pair<std::string, std::string>> &seen, const std::vector<std::string> &wantTo)
{
	size_t next = 0;
	for (const auto &e : seen)
		if (next < wantTo.size() && e.second == wantTo[next])
			++next;
	return next == wantTo.size();
}

} // namespace amp::e2e
