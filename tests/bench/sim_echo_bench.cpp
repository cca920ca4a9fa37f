// SPDX-License-Identifier: MIT
// Echo round trips through ampsim, as a ratio against a baseline run in the
// same process: a Unix socketpair echoed by a thread. Both sides are pinned
// to one CPU so the figure is about the path, not the scheduler's spread.
//
//   sim_echo_bench AMPSIM [ROUNDS] [SIZE] [--link board|none | --link-us A,B]
//
// --link and --link-us go to `ampsim run` (link timing, tests/sim/README.md):
// with them the figure includes the modelled link, printed beside it.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "firmware_image.h"
#include "link_timing.h"

extern char **environ;

namespace {

using Clock = std::chrono::steady_clock;

void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

[[noreturn]] void die(const std::string &what)
{
	fprintf(stderr, "sim_echo_bench: %s: %s\n", what.c_str(), strerror(errno));
	exit(1);
}

bool writeFile(const std::string &path, const std::string &text)
{
	int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	close(fd);
	return ok;
}

// Round trips of `size` bytes on a message fd; returns ns per round trip.
double roundTrips(int fd, int rounds, size_t size)
{
	std::vector<char> out(size, 'a'), in(512);
	auto start = Clock::now();
	for (int i = 0; i < rounds; ++i) {
		if (write(fd, out.data(), size) != static_cast<ssize_t>(size))
			die("write");
		pollfd p{fd, POLLIN, 0};
		if (poll(&p, 1, 5000) != 1)
			die("no echo within 5 s");
		if (read(fd, in.data(), in.size()) != static_cast<ssize_t>(size))
			die("short echo");
	}
	return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / rounds;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> positional, linkArgs;
	ampsim::LinkTiming link;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		if ((a == "--link" || a == "--link-us") && i + 1 < argc) {
			std::string v = argv[++i], why;
			auto l = a == "--link" ? ampsim::linkByName(v) : ampsim::parseLinkUs(v, why);
			if (!l) {
				fprintf(stderr, "sim_echo_bench: %s %s: %s\n", a.c_str(), v.c_str(),
					why.empty() ? "board or none" : why.c_str());
				return 2;
			}
			link = *l;
			linkArgs = {a, v};
		} else if (a.rfind("--", 0) == 0) {
			positional.clear();
			break;
		} else {
			positional.push_back(a);
		}
	}
	if (positional.empty() || positional.size() > 3) {
		fprintf(stderr, "usage: %s AMPSIM [ROUNDS] [SIZE] [--link board|none | --link-us A,B]\n", argv[0]);
		return 2;
	}
	int rounds = positional.size() > 1 ? atoi(positional[1].c_str()) : 20000;
	size_t size = positional.size() > 2 ? static_cast<size_t>(atoi(positional[2].c_str())) : 64;
	pin(0); // inherited by ampsim

	char root[] = "/tmp/ampsim-bench-XXXXXX";
	if (!mkdtemp(root))
		die("mkdtemp");
	std::string r = root;
	std::string fwdir = r + "/lib/firmware";
	std::string cmd = "mkdir -p " + fwdir;
	if (system(cmd.c_str()) != 0)
		die("mkdir");
	auto image = ampsim::buildFirmware(ampsim::FirmwareSpec{});
	FILE *f = fopen((fwdir + "/image_echo_test").c_str(), "wb");
	fwrite(image.data(), 1, image.size(), f);
	fclose(f);

	int out[2];
	if (pipe(out) != 0)
		die("pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	std::vector<std::string> ampsimArgs = {positional[0], "run", "--root", root, "--layout", "6.1"};
	ampsimArgs.insert(ampsimArgs.end(), linkArgs.begin(), linkArgs.end());
	std::vector<char *> args;
	for (auto &a : ampsimArgs)
		args.push_back(a.data());
	args.push_back(nullptr);
	pid_t pid;
	if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0)
		die("spawn ampsim");
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	char ready[16] = {};
	if (read(out[0], ready, sizeof ready - 1) <= 0 || strncmp(ready, "ready", 5) != 0)
		die("ampsim not ready");

	std::string rp = r + "/sys/class/remoteproc/remoteproc0";
	if (!writeFile(rp + "/firmware", "image_echo_test") || !writeFile(rp + "/state", "start"))
		die("start");
	// Channel announced after the simulated boot delay: wait for it.
	std::string chan = r + "/sys/bus/rpmsg/devices/virtio0.rpmsg-openamp-demo-channel.-1.1024";
	for (auto end = Clock::now() + std::chrono::seconds(5); access(chan.c_str(), F_OK) != 0;)
		if (Clock::now() > end)
			die("no channel");
	int ctrl = open((r + "/dev/rpmsg_ctrl0").c_str(), O_RDWR | O_CLOEXEC);
	struct {
		char name[32];
		uint32_t src, dst;
	} info{"bench", 0xFFFFFFFF, 0x400};
	if (ctrl < 0 || ioctl(ctrl, 0x4028b501, &info) != 0)
		die("CREATE_EPT");
	close(ctrl);
	int ept = open((r + "/dev/rpmsg0").c_str(), O_RDWR | O_CLOEXEC);
	if (ept < 0)
		die("open rpmsg0");

	roundTrips(ept, rounds / 10 + 1, size); // warm up
	double sim = roundTrips(ept, rounds, size);
	close(ept);

	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
		die("socketpair");
	std::thread echo([fd = sp[1]] {
		pin(0);
		char buf[512];
		for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
			if (write(fd, buf, static_cast<size_t>(n)) != n)
				break;
	});
	roundTrips(sp[0], rounds / 10 + 1, size);
	double base = roundTrips(sp[0], rounds, size);
	shutdown(sp[0], SHUT_RDWR);
	echo.join();
	close(sp[0]);
	close(sp[1]);

	kill(pid, SIGTERM);
	waitpid(pid, nullptr, 0);
	cmd = "rm -rf " + r;
	(void)!system(cmd.c_str());

	printf("ampsim echo, %d round trips of %zu bytes, pinned to CPU 0, link timing %s:\n", rounds, size,
	       ampsim::describe(link).c_str());
	printf("  through ampsim (FUSE):      %8.1f us/round trip  %9.0f round trips/s\n", sim / 1000, 1e9 / sim);
	if (link.enabled) {
		double model = 2 * static_cast<double>(link.transfer(size).count());
		printf("  of which the link (model):  %8.1f us/round trip  (the rest: simulator and scheduling)\n",
		       model / 1000);
	}
	printf("  baseline socketpair thread: %8.1f us/round trip  %9.0f round trips/s\n", base / 1000, 1e9 / base);
	printf("  ratio ampsim/baseline:      %8.1f\n", sim / base);
	return 0;
}
