/* SPDX-License-Identifier: MIT */
/*
 * vmtool: what the VM's busybox lacks for the ampd scenarios (ampd-e2e.sh).
 *
 *   vmtool runas UID GID CMD [ARG...]
 *       drop to UID/GID (no supplementary groups), then exec CMD: the
 *       unprivileged client. Debian's busybox has no chpst or setuidgid.
 *   vmtool notify-start SOCKET TIMEOUT_MS CMD [ARG...]
 *       bind a datagram socket at SOCKET, start CMD in the background with
 *       NOTIFY_SOCKET=SOCKET, and wait until it sends READY=1 (sd_notify),
 *       exits, or TIMEOUT_MS passes. Prints "MAINPID CHILDPID" and exits 0
 *       when ready (MAINPID as the daemon announced it, else CMD's pid: CMD
 *       may be a shell that runs the daemon and records its exit status);
 *       1 if CMD exited first (it is reaped), 5 on timeout (CMD left
 *       running, the pids printed). The daemon's readiness is an event this
 *       way, not a retry loop on its control socket. CMD's stdout is our
 *       stderr, so that $(vmtool notify-start ...) returns when we do.
 *   vmtool wait-exit PID TIMEOUT_MS
 *       wait until process PID (not necessarily our child) has exited: 0, or
 *       5 when TIMEOUT_MS passed first. A pidfd, so no polling of /proc.
 *
 * Static C, absolute paths, no dependencies: like abi_probe, it runs in the
 * initramfs without a sanitizer runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>

static int usage(void)
{
	fprintf(stderr, "usage: vmtool runas UID GID CMD [ARG...]\n"
			"       vmtool notify-start SOCKET TIMEOUT_MS CMD [ARG...]\n"
			"       vmtool wait-exit PID TIMEOUT_MS\n");
	return 2;
}

static int runas(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid_t gid = (gid_t)strtoul(argv[2], NULL, 10);
	/* groups first: after setresuid() we may no longer change them */
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		fprintf(stderr, "vmtool runas: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "vmtool runas: %s: %s\n", argv[3], strerror(errno));
	return 127;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int notify_start(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	const char *path = argv[1];
	long long deadline = now_ms() + strtoll(argv[2], NULL, 10);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return usage();
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vmtool notify-start: %s: %s\n", path, strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("vmtool notify-start: fork");
		return 1;
	}
	if (pid == 0) {
		/* stdout is for the pids: $(vmtool notify-start ...) must see
		 * EOF when we exit, not when the daemon does */
		dup2(2, 1);
		setenv("NOTIFY_SOCKET", path, 1);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "vmtool notify-start: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	/* a pidfd makes the child's exit a poll() event like the datagram */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long mainpid = pid;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			printf("%ld %d\n", mainpid, (int)pid);
			fprintf(stderr, "vmtool notify-start: no READY=1 within %s ms\n", argv[2]);
			return 5;
		}
		struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
		int n = poll(p, pidfd >= 0 ? 2 : 1, (int)left);
		if (n < 0 && errno != EINTR) {
			perror("vmtool notify-start: poll");
			return 1;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			char buf[4096];
			ssize_t len = recv(s, buf, sizeof(buf) - 1, 0);
			if (len > 0) {
				buf[len] = 0;
				/* newline-separated assignments; READY=1 may be anywhere */
				int ready = 0;
				for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
					if (!strcmp(line, "READY=1"))
						ready = 1;
					else if (!strncmp(line, "MAINPID=", 8))
						mainpid = strtol(line + 8, NULL, 10);
				}
				if (ready) {
					printf("%ld %d\n", mainpid, (int)pid);
					return 0;
				}
			}
		}
		if (n > 0 && pidfd >= 0 && (p[1].revents & POLLIN)) {
			int st = 0;
			waitpid(pid, &st, 0);
			fprintf(stderr, "vmtool notify-start: %s %s %d before READY=1\n", argv[3],
				WIFSIGNALED(st) ? "killed by signal" : "exited",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			return 1;
		}
	}
}

static int wait_exit(int argc, char **argv)
{
	if (argc != 3)
		return usage();
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)strtol(argv[1], NULL, 10), 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : 1; /* ESRCH: gone (and reaped) already */
	long long deadline = now_ms() + strtoll(argv[2], NULL, 10);
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 5;
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0; /* readable: the process has exited */
		if (n < 0 && errno != EINTR) {
			perror("vmtool wait-exit: poll");
			return 1;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "runas"))
		return runas(argc - 1, argv + 1);
	if (!strcmp(argv[1], "notify-start"))
		return notify_start(argc - 1, argv + 1);
	if (!strcmp(argv[1], "wait-exit"))
		return wait_exit(argc - 1, argv + 1);
	return usage();
}
