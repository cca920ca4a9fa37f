// SPDX-License-Identifier: MIT
// In the VM: a dynamically linked C++ program, built like ampd and ampctl (the project's
// flags, so ASan/UBSan under AMP_SANITIZE), proving the initramfs carries such programs.
//
// Checks what ampd needs from its runtime in a tinyconfig kernel: libstdc++ (strings,
// exceptions, threads) and, in a sanitized build, that the ASan runtime really works in
// the small VM: a child makes a heap-buffer-overflow and must be stopped with a report.
// Prints `ok ...` lines; exits non-zero on the first failure.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

namespace {

int fail(const std::string &what)
{
	std::printf("FAIL: %s\n", what.c_str());
	return 1;
}

// memset() one byte past the end: ASan's interceptor reports it (UBSan's object-size
// check, which would stop a plain p[8] first, does not look into library calls). The
// size and the pointer go through volatiles so the compiler can neither see the overflow
// nor drop the allocation.
char *volatile gSink;
void overflow(size_t size)
{
	volatile size_t n = size;
	gSink = new char[8];
	std::memset(gSink, 0, n);
	delete[] gSink;
}

// Runs overflow() in a child with stderr on a pipe; returns what the child wrote.
std::string overflowReport(int &status)
{
	int fds[2];
	if (pipe(fds))
		return {};
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		overflow(9);
		_exit(0);
	}
	close(fds[1]);
	std::string out;
	char buf[4096];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		out.append(buf, static_cast<size_t>(n));
	close(fds[0]);
	waitpid(pid, &status, 0);
	return out;
}

} // namespace

int main()
{
	std::string caught;
	try {
		throw std::runtime_error("thrown across frames");
	} catch (const std::exception &e) {
		caught = e.what();
	}
	if (caught != "thrown across frames")
		return fail("exception");
	std::printf("ok exceptions\n");

	std::string fromThread;
	std::thread t([&] { fromThread = "joined"; });
	t.join();
	if (fromThread != "joined")
		return fail("thread");
	std::printf("ok threads\n");

	std::printf("ok asan %s\n", kAsan ? "on" : "off");
	if (kAsan) {
		int status = 0;
		std::string report = overflowReport(status);
		if (report.find("AddressSanitizer: heap-buffer-overflow") == std::string::npos || status == 0) {
			std::fputs(report.c_str(), stdout);
			return fail("the overflow was not reported (status " + std::to_string(status) + ")");
		}
		std::printf("ok asan reports a heap-buffer-overflow\n");
	}
	return 0;
}
