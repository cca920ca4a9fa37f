// SPDX-License-Identifier: MIT
// ampsim: a remoteproc/rpmsg kernel simulated over FUSE, its firmware
// writer, and its fault-injection client.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include "firmware_image.h"
#include "kernel_model.h"

using namespace ampsim;

namespace {

// The control socket lives beside the trees it controls.
std::string controlPath(const std::string &root)
{
	return root + "/ampsim.ctl";
}

std::vector<std::string> splitWords(const std::string &line)
{
	std::istringstream in(line);
	std::vector<std::string> words;
	for (std::string w; in >> w;)
		words.push_back(w);
	return words;
}

// Serve `ampsim ctl` requests: one line in, "ok"/"error: ..." plus output back.
void serveControl(Kernel &kernel, int listenFd, int stopFd)
{
	pollfd fds[2] = {{listenFd, POLLIN, 0}, {stopFd, POLLIN, 0}};
	while (::poll(fds, 2, -1) >= 0 || errno == EINTR) {
		if (fds[1].revents)
			return;
		if (!(fds[0].revents & POLLIN))
			continue;
		int c = accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		// A client that never finishes its line must not wedge us.
		timeval tv{2, 0};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		std::string line;
		char ch;
		while (line.size() < 4096 && ::read(c, &ch, 1) == 1 && ch != '\n')
			line += ch;
		std::string out;
		std::string err = kernel.control(splitWords(line), out);
		std::string reply = err.empty() ? "ok\n" + out : "error: " + err + "\n";
		(void)!::write(c, reply.data(), reply.size());
		::close(c);
	}
}

int runSimulator(const SimOptions &opt)
{
	// Signals are taken with sigwait() on this thread only.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	signal(SIGPIPE, SIG_IGN);

	Kernel kernel(opt);
	std::string why;
	if (int err = kernel.start(why)) {
		fprintf(stderr, "ampsim: %s: %s\n", why.c_str(), strerror(err));
		return 1;
	}
	std::string ctl = controlPath(opt.root);
	int listenFd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (ctl.size() >= sizeof(addr.sun_path)) {
		fprintf(stderr, "ampsim: control socket path too long: %s\n", ctl.c_str());
		kernel.stop();
		return 1;
	}
	std::strcpy(addr.sun_path, ctl.c_str());
	unlink(ctl.c_str());
	if (bind(listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 || listen(listenFd, 16) != 0) {
		fprintf(stderr, "ampsim: control socket %s: %s\n", ctl.c_str(), strerror(errno));
		kernel.stop();
		return 1;
	}
	int stopPipe[2];
	if (pipe2(stopPipe, O_CLOEXEC) != 0) {
		kernel.stop();
		return 1;
	}
	std::thread control([&] { serveControl(kernel, listenFd, stopPipe[0]); });

	printf("ready\n");
	fflush(stdout);
	sd_notify(0, "READY=1");

	int sig = 0;
	sigwait(&set, &sig);
	sd_notify(0, "STOPPING=1");
	(void)!::write(stopPipe[1], "x", 1);
	control.join();
	::close(listenFd);
	unlink(ctl.c_str());
	kernel.stop();
	::close(stopPipe[0]);
	::close(stopPipe[1]);
	fprintf(stderr, "ampsim: stopped on %s\n", strsignal(sig));
	return 0;
}

int runControl(const std::string &root, const std::vector<std::string> &words)
{
	std::string ctl = controlPath(root);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (ctl.size() >= sizeof(addr.sun_path)) {
		fprintf(stderr, "ampsim ctl: path too long: %s\n", ctl.c_str());
		return 2;
	}
	std::strcpy(addr.sun_path, ctl.c_str());
	if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
		fprintf(stderr, "ampsim ctl: cannot reach the simulator at %s: %s\n", ctl.c_str(), strerror(errno));
		return 2;
	}
	std::string line;
	for (const auto &w : words)
		line += (line.empty() ? "" : " ") + w;
	line += "\n";
	(void)!::write(fd, line.data(), line.size());
	std::string reply;
	char buf[4096];
	for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
		reply.append(buf, static_cast<size_t>(n));
	::close(fd);
	if (reply.rfind("ok\n", 0) == 0) {
		fputs(reply.c_str() + 3, stdout);
		return 0;
	}
	fprintf(stderr, "ampsim ctl: %s", reply.empty() ? "no answer\n" : reply.c_str());
	return 1;
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"ampsim: a Linux remoteproc/rpmsg kernel simulated over FUSE, for testing AMP masters"};
	app.require_subcommand(1);

	SimOptions opt;
	std::string layout = "6.1";
	std::vector<std::string> preloaded;
	int announceDelayMs = 20;
	auto *run = app.add_subcommand("run", "Mount DIR/sys and DIR/dev and simulate the kernel until SIGTERM/SIGINT");
	run->add_option("--root", opt.root, "Root prefix; DIR/lib/firmware holds the firmware files")->required();
	run->add_option("--layout", layout, "rpmsg_char layout of the kernel simulated: 6.1 (5.18+), 5.15 (5.13-5.17), 5.10")
		->check(CLI::IsMember({"6.1", "5.15", "5.10"}));
	run->add_option("--remote", opt.remotes, "A remote core, by remoteproc name (default one: ffe00000.r5f)");
	run->add_option("--preloaded", preloaded,
			"NAME[=APP]: a core the bootloader started, running APP (default echo); "
			"reads 'detached' until start, then 'attached'");
	run->add_option("--announce-delay-ms", announceDelayMs, "Time from start to the remote's announcement")
		->check(CLI::Range(0, 60000));
	run->add_option("--uevents", opt.uevents,
			"udev: broadcast udev-format events (netlink group 2); none; auto: only in a private network namespace")
		->check(CLI::IsMember({"auto", "udev", "none"}));
	run->add_option("--threads", opt.fuseThreads, "FUSE worker threads per mount")->check(CLI::Range(1, 64));
	std::string linkName = "none", linkUs;
	auto *linkOpt = run->add_option("--link", linkName,
					"Link timing: board (a Zynq UltraScale+ A53 <-> R5 rpmsg link: 1-byte echo "
					"~33 us, 490-byte ~155 us round trip), none (messages arrive at once)")
				->check(CLI::IsMember({"board", "none"}));
	run->add_option("--link-us", linkUs,
			"A,B: each message occupies its direction of the link for A + B*bytes us, "
			"one at a time per direction")
		->excludes(linkOpt);

	FirmwareSpec spec;
	std::string output;
	bool replyToSender = false;
	auto *mkfw = app.add_subcommand("mkfw", "Write a simulated OpenAMP firmware (ELF32 ARM with a resource table)");
	mkfw->add_option("--app", spec.app, "echo, matmul, rpc, rpcprobe, crash, hang, silent, slow, norsc")
		->required()
		->check([](const std::string &a) { return isKnownApp(a) ? std::string() : "unknown app " + a; });
	mkfw->add_option("-o,--output", output, "Firmware file to write")->required();
	mkfw->add_option("--announce-addr", spec.announceAddr, "The remote endpoint's address (default 0x400)");
	mkfw->add_option("--service", spec.service, "Channel name announced")
		->check([](const std::string &s) { return s.size() < 32 ? "" : "at most 31 characters"; });
	mkfw->add_option("--crash-after-msgs", spec.crashAfterMsgs, "crash: after this many messages");
	mkfw->add_option("--crash-after-ms", spec.crashAfterMs, "crash: this long after announcing");
	mkfw->add_option("--reply-delay-ms", spec.replyDelayMs, "slow: delay of each reply");
	mkfw->add_flag("--reply-to-sender", replyToSender,
		       "Reply to each message's sender, not to the first address heard from (as OpenAMP does)");

	std::string ctlRoot;
	std::vector<std::string> words;
	auto *ctl = app.add_subcommand("ctl", "Inject a fault into a running simulator");
	ctl->add_option("--root", ctlRoot, "The simulator's root prefix")->required();
	ctl->add_option("command", words,
			"status | crash R | hang R | resume R | unannounce R [NAME] | announce NAME R [ADDR] | "
			"corrupt R [N] | flood R COUNT [SIZE] | fail-start R ERRNO | fail-write R ATTR ERRNO | "
			"hold-start R | wait-held R [MS] | release R | boots R  (R: name, remoteprocN or N)")
		->required();
	ctl->footer("crash: the firmware reports a fatal error (recovery per the 'recovery' attribute).\n"
		    "hang/resume: the firmware stops/starts servicing its rings (TX buffers run out).\n"
		    "unannounce/announce: name-service destroy/create (extra channels echo to the sender).\n"
		    "corrupt: flip a byte in the next N messages the remote sends.\n"
		    "flood: the remote sends COUNT unsolicited messages to the last Linux address it heard from.\n"
		    "fail-start: the next start write fails with ERRNO (as a core's power-up can).\n"
		    "fail-write: the next write of state, firmware or recovery fails with ERRNO.\n"
		    "hold-start/wait-held/release: the next start waits before loading the firmware until released.\n"
		    "boots: how many times the core was powered up.");

	CLI11_PARSE(app, argc, argv);

	if (*run) {
		opt.layout = *parseLayout(layout);
		opt.announceDelay = std::chrono::milliseconds(announceDelayMs);
		if (!linkUs.empty()) {
			std::string why;
			auto link = parseLinkUs(linkUs, why);
			if (!link) {
				fprintf(stderr, "ampsim: --link-us %s: %s\n", linkUs.c_str(), why.c_str());
				return 2;
			}
			opt.link = *link;
		} else {
			opt.link = *linkByName(linkName);
		}
		for (const auto &p : preloaded) {
			auto eq = p.find('=');
			std::string name = p.substr(0, eq);
			std::string appName = eq == std::string::npos ? "echo" : p.substr(eq + 1);
			if (!isKnownApp(appName)) {
				fprintf(stderr, "ampsim: unknown app %s for --preloaded %s\n", appName.c_str(), name.c_str());
				return 2;
			}
			opt.preloaded[name] = appName;
		}
		return runSimulator(opt);
	}
	if (*mkfw) {
		if (replyToSender)
			spec.flags |= AMPSIM_FW_REPLY_TO_SENDER;
		auto image = buildFirmware(spec);
		std::ofstream out(output, std::ios::binary | std::ios::trunc);
		out.write(reinterpret_cast<const char *>(image.data()), static_cast<std::streamsize>(image.size()));
		if (!out.good()) {
			fprintf(stderr, "ampsim mkfw: cannot write %s: %s\n", output.c_str(), strerror(errno));
			return 1;
		}
		return 0;
	}
	return runControl(ctlRoot, words);
}
