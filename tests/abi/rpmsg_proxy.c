/* SPDX-License-Identifier: MIT */
/*
 * The proxy (RPC) demo's Linux side, like OpenAMP's proxy_app: serves the
 * remote's OPEN/CLOSE/READ/WRITE on a confined directory and the console
 * until the remote sends TERM.
 */
#define _GNU_SOURCE
#include "rpmsg_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* openat2(2) (5.6+). Spelled out when the libc headers predate it. */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPEN_HOW 1
#endif
#endif
#ifndef HAVE_OPEN_HOW
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif

enum { RPC_OPEN = 1, RPC_CLOSE = 2, RPC_WRITE = 3, RPC_READ = 4, RPC_ACK = 5, RPC_TERM = 6 };
#define RPC_HDR 16u /* struct rpc { u32 id; i32 f1; i32 f2; u32 data_len; u8 data[]; } */
#define RPC_READ_MAX 480u /* what a reply can carry: 496 - 16 */
#define MAX_FILES 16     /* a remote gets this many open files at once */
#define FD_BASE 3        /* fds 0-2 are the console; ours are 3.. */
#define CHANNEL_CHECK_MS 100 /* how often the bus is looked at while idle */
#define EXIT_VANISHED 3  /* the channel went away without a TERM read */

/* The flags a remote may ask for; anything else (O_PATH, O_DIRECTORY,
 * O_TMPFILE...) is dropped, and we add our own safety flags. */
#define ALLOWED_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND)

struct proxy {
	struct rp_opts o;
	struct rp_ep ep;
	int dirfd;
	int console_in;
	bool console_regular;
	int files[MAX_FILES];
	int64_t deadline;
	unsigned long requests, bad;
	bool openat2_missing_said;
};

static int reply(struct proxy *p, uint32_t id, int32_t f1, const void *data, uint32_t len)
{
	uint8_t msg[RP_MAX_MSG];
	rp_put_le32(msg, id);
	rp_put_le32(msg + 4, (uint32_t)f1);
	rp_put_le32(msg + 8, 0); /* f2: not used in replies */
	rp_put_le32(msg + 12, len);
	if (len)
		memcpy(msg + RPC_HDR, data, len);
	int r = rp_send(&p->ep, msg, RPC_HDR + len);
	if (r < 0)
		rp_error(&p->o, "reply %u to /dev/%s: %s", id, p->ep.ept, strerror(-r));
	return r;
}

/* A request we cannot honour: say why once, answer -1, keep serving. */
static int refuse(struct proxy *p, uint32_t id, const char *why, const char *what)
{
	p->bad++;
	fprintf(stderr, "proxy: refusing %s%s%s: %s\n", id == RPC_OPEN ? "OPEN" :
		id == RPC_CLOSE ? "CLOSE" : id == RPC_WRITE ? "WRITE" : "READ",
		what ? " " : "", what ? what : "", why);
	return reply(p, id, -1, NULL, 0);
}

static int *slot_of(struct proxy *p, int32_t fd)
{
	if (fd < FD_BASE || fd >= FD_BASE + MAX_FILES || p->files[fd - FD_BASE] < 0)
		return NULL;
	return &p->files[fd - FD_BASE];
}

/* Relative, no "..": the lexical half of the confinement; openat2 with
 * RESOLVE_BENEATH does the rest (symlinks that lead out). */
static const char *path_problem(const char *path)
{
	if (!*path)
		return "empty path";
	if (*path == '/')
		return "absolute path";
	for (const char *s = path; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "'..' in path";
		s += n;
		while (*s == '/')
			s++;
	}
	return NULL;
}

static int do_open(struct proxy *p, int32_t flags, int32_t mode, const uint8_t *data, uint32_t len)
{
	const char *path = (const char *)data;
	if (!memchr(data, '\0', len))
		return refuse(p, RPC_OPEN, "path is not NUL-terminated within data_len", NULL);
	char quoted[PATH_MAX + 2];
	snprintf(quoted, sizeof(quoted), "'%s'", path);
	const char *why = path_problem(path);
	if (why)
		return refuse(p, RPC_OPEN, why, quoted);
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return refuse(p, RPC_OPEN, "invalid access mode", quoted);
	int slot = -1;
	for (int i = 0; i < MAX_FILES && slot < 0; i++)
		if (p->files[i] < 0)
			slot = i;
	if (slot < 0)
		return refuse(p, RPC_OPEN, "too many open files", quoted);

	struct open_how how;
	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK so that a FIFO planted in the directory cannot hang us;
	 * only regular files are served anyway. */
	how.flags = (uint64_t)((flags & ALLOWED_FLAGS) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	how.mode = (flags & O_CREAT) ? (uint64_t)(mode & 0777) : 0; /* openat2 wants 0 otherwise */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	int fd = (int)syscall(SYS_openat2, p->dirfd, path, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOSYS) {
			if (!p->openat2_missing_said)
				rp_error(&p->o, "openat2() is not supported by this kernel (5.6+ needed): "
					 "every OPEN is refused, as the directory cannot be enforced");
			p->openat2_missing_said = true;
		}
		/* EXDEV is how RESOLVE_BENEATH says "that leads out of --dir". */
		return refuse(p, RPC_OPEN, errno == EXDEV ? "resolves outside --dir" : strerror(errno),
			      quoted);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(p, RPC_OPEN, "not a regular file", quoted);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	p->files[slot] = fd;
	rp_info(&p->o, "OPEN %s flags 0x%x mode 0%o -> %d", quoted, (unsigned)flags, (unsigned)mode,
		FD_BASE + slot);
	return reply(p, RPC_OPEN, FD_BASE + slot, NULL, 0);
}

static int do_close(struct proxy *p, int32_t fd)
{
	if (fd >= 0 && fd < FD_BASE)
		return reply(p, RPC_CLOSE, 0, NULL, 0); /* the console stays ours */
	int *f = slot_of(p, fd);
	if (!f)
		return refuse(p, RPC_CLOSE, "not an open file", NULL);
	int r = close(*f);
	*f = -1;
	rp_info(&p->o, "CLOSE %d -> %d", fd, r);
	return reply(p, RPC_CLOSE, r < 0 ? -1 : 0, NULL, 0);
}

static ssize_t write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int do_write(struct proxy *p, int32_t fd, int32_t length, const uint8_t *data, uint32_t len)
{
	/* f2 is the length, as in proxy_app; data_len may be one more: OpenAMP's
	 * _write() appends a NUL for fd 1 that must not reach the console. */
	if (length < 0 || (uint32_t)length > len)
		return refuse(p, RPC_WRITE, "length outside the data sent", NULL);
	int out;
	if (fd == 1 || fd == 2) {
		fflush(stdout);
		out = STDOUT_FILENO; /* the remote's stdout and stderr both go to ours */
	} else {
		int *f = slot_of(p, fd);
		if (!f)
			return refuse(p, RPC_WRITE, "not an open file", NULL);
		out = *f;
	}
	ssize_t n = write_all(out, data, (size_t)length);
	rp_info(&p->o, "WRITE %d (%d bytes) -> %zd", fd, length, n);
	return reply(p, RPC_WRITE, n < 0 ? -1 : (int32_t)n, NULL, 0);
}

/* Console input: wait for it within the deadline (it may be a pipe). */
static ssize_t read_console(struct proxy *p, uint8_t *buf, size_t len)
{
	if (!p->console_regular) {
		for (;;) {
			int64_t left = p->deadline - rp_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			struct pollfd pf = {.fd = p->console_in, .events = POLLIN};
			int r = poll(&pf, 1, (int)left);
			if (r < 0 && errno == EINTR && !rp_interrupted)
				continue;
			if (r < 0)
				return -1;
			if (r > 0)
				break;
		}
	}
	ssize_t n;
	do
		n = read(p->console_in, buf, len);
	while (n < 0 && errno == EINTR && !rp_interrupted);
	return n;
}

static int do_read(struct proxy *p, int32_t fd, int32_t length)
{
	if (length < 0)
		return refuse(p, RPC_READ, "negative length", NULL);
	uint8_t buf[RPC_READ_MAX];
	size_t want = (uint32_t)length < RPC_READ_MAX ? (size_t)length : RPC_READ_MAX;
	ssize_t n;
	if (fd == 0) {
		n = read_console(p, buf, want);
	} else {
		int *f = slot_of(p, fd);
		if (!f)
			return refuse(p, RPC_READ, "not an open file", NULL);
		do
			n = read(*f, buf, want);
		while (n < 0 && errno == EINTR && !rp_interrupted);
	}
	if (n < 0)
		rp_info(&p->o, "READ %d: %s", fd, strerror(errno));
	else
		rp_info(&p->o, "READ %d (%d asked) -> %zd", fd, length, n);
	/* f1 = bytes read (-1 on error); data_len = the bytes that follow (0,
	 * not -1, after an error: the remote copies data_len bytes only when
	 * f1 > 0, and a huge data_len would be a trap for a less careful one). */
	return reply(p, RPC_READ, n < 0 ? -1 : (int32_t)n, buf, n > 0 ? (uint32_t)n : 0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rpmsg_proxy --dir DIR [--console-in FILE] [--deadline MS] [options]\n"
		   "  --dir DIR           the only directory the remote's files may live in\n"
		   "  --console-in FILE   the remote's console input (default: stdin)\n"
		   "  --deadline MS       give up when no TERM came by then (default 60000)\n"
		   RP_COMMON_USAGE
		   "exit status: 0 TERM received, 3 the channel went away without a TERM read\n"
		   "(on 5.10 a TERM queued as the remote releases its endpoint is dropped with\n"
		   "the channel), 1 any error or the deadline, 2 bad usage\n");
}

int main(int argc, char **argv)
{
	static struct proxy p;
	rp_opts_init(&p.o, "proxy");
	const char *dir = NULL, *console = NULL;
	long long deadline_ms = 60000;
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"console-in", required_argument, NULL, 'i'},
		{"deadline", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		RP_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int r = rp_common_option(&p.o, opt, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'i':
			console = optarg;
			break;
		case 'D':
			deadline_ms = rp_parse_count(optarg);
			if (deadline_ms <= 0 || deadline_ms > INT32_MAX) {
				rp_error(&p.o, "--deadline: a positive number of milliseconds, got '%s'", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !dir) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < MAX_FILES; i++)
		p.files[i] = -1;
	p.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p.dirfd < 0) {
		rp_error(&p.o, "--dir %s: %s", dir, strerror(errno));
		return 2;
	}
	p.console_in = STDIN_FILENO;
	if (console) {
		p.console_in = open(console, O_RDONLY | O_CLOEXEC);
		if (p.console_in < 0) {
			rp_error(&p.o, "--console-in %s: %s", console, strerror(errno));
			return 2;
		}
	}
	struct stat st;
	p.console_regular = fstat(p.console_in, &st) == 0 && S_ISREG(st.st_mode);
	rp_install_signals();

	if (rp_open(&p.ep, &p.o) < 0)
		return 1;
	p.deadline = rp_now_ms() + deadline_ms;

	int ok = 0, done = 0, vanished = 0, channel_gone = 0;
	/* The remote learns our address from our first message. */
	static const char init_msg[] = "init_msg"; /* 9 bytes with its NUL */
	int r = rp_send(&p.ep, init_msg, sizeof(init_msg));
	if (r < 0) {
		rp_error(&p.o, "sending init_msg to /dev/%s: %s", p.ep.ept, strerror(-r));
		done = 1;
	}
	uint8_t msg[RP_MAX_MSG + 16];
	while (!done) {
		int64_t left = p.deadline - rp_now_ms();
		if (left <= 0 || rp_interrupted) {
			rp_error(&p.o, rp_interrupted ? "interrupted before TERM"
						     : "no TERM from the remote within %lld ms", deadline_ms);
			break;
		}
		/* Once the channel has left the bus only what is already queued
		 * can still come: drain it without waiting. */
		int wait = channel_gone ? 0 : left < CHANNEL_CHECK_MS ? (int)left : CHANNEL_CHECK_MS;
		ssize_t n = rp_recv(&p.ep, msg, sizeof(msg), wait);
		if (n == -ETIMEDOUT && channel_gone) {
			fprintf(stderr, "proxy: channel %s left the bus without a TERM reaching us\n",
				p.ep.chan_dev);
			vanished = done = 1;
			break;
		}
		if (n == -ETIMEDOUT) {
			/* A CREATE_EPT endpoint (5.13+) outlives the channel and its fd
			 * says nothing when the remote goes, so look at the bus. */
			channel_gone = !rp_channel_present(&p.ep);
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n == -EPIPE) {
			/* The endpoint went with the channel (5.10: it hangs off the
			 * channel) or the core stopped; anything queued, a TERM
			 * included, was dropped with it (kernel-abi.md section 3). */
			fprintf(stderr, "proxy: /dev/%s: %s: the channel went away before a TERM was read\n",
				p.ep.ept, strerror(EPIPE));
			vanished = done = 1;
			break;
		}
		if (n < 0) {
			rp_error(&p.o, "read /dev/%s: %s", p.ep.ept, strerror((int)-n));
			break;
		}
		p.requests++;
		if ((size_t)n < RPC_HDR) {
			p.bad++;
			fprintf(stderr, "proxy: ignoring a %zd-byte message, shorter than a request\n", n);
			continue;
		}
		uint32_t id = rp_get_le32(msg), len = rp_get_le32(msg + 12);
		int32_t f1 = (int32_t)rp_get_le32(msg + 4), f2 = (int32_t)rp_get_le32(msg + 8);
		const uint8_t *data = msg + RPC_HDR;
		if (len > (size_t)n - RPC_HDR && id >= RPC_OPEN && id <= RPC_READ) {
			r = refuse(&p, id, "data_len runs past the message", NULL);
		} else {
			switch (id) {
			case RPC_OPEN:
				r = do_open(&p, f1, f2, data, len);
				break;
			case RPC_CLOSE:
				r = do_close(&p, f1);
				break;
			case RPC_WRITE:
				r = do_write(&p, f1, f2, data, len);
				break;
			case RPC_READ:
				r = do_read(&p, f1, f2);
				break;
			case RPC_ACK:
				r = 0;
				break;
			case RPC_TERM:
				rp_info(&p.o, "TERM");
				ok = done = 1;
				r = 0;
				break;
			default:
				/* No reply is defined for it; a remote waiting on one is broken. */
				p.bad++;
				fprintf(stderr, "proxy: ignoring unknown request id %u\n", id);
				r = 0;
			}
		}
		if (r < 0)
			break;
	}
	fflush(stdout);
	for (int i = 0; i < MAX_FILES; i++)
		if (p.files[i] >= 0)
			close(p.files[i]);
	/* After TERM the remote releases its endpoint and the channel leaves the
	 * bus; let that finish before DESTROY_EPT so that, on 5.10 where our
	 * endpoint hangs off the channel, the two removals cannot race. */
	if (ok && !rp_wait_channel_gone(&p.ep, 1000))
		rp_info(&p.o, "channel %s still present 1000 ms after TERM", p.ep.chan_dev);
	if (rp_close(&p.ep) < 0)
		ok = vanished = 0;
	fprintf(stderr, "proxy: %s after %lu requests (%lu refused or malformed)\n",
		ok ? "TERM" : vanished ? "channel gone" : "FAILED", p.requests, p.bad);
	if (ok)
		return 0;
	return vanished ? EXIT_VANISHED : 1;
}
