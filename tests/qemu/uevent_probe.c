// SPDX-License-Identifier: MIT
/*
 * uevent_probe kernel|udev: proves an event path in the test VM is real.
 * Listens on NETLINK_KOBJECT_UEVENT group 1 (kernel) and group 2 (udev),
 * starts remoteproc1 with ampsim-echo.elf, waits for the channel's rpmsg
 * add event, stops it, waits for the remove event, and prints what each group
 * delivered. "kernel": group 1 must deliver, group 2 must stay silent (no
 * udevd). "udev": both must deliver; group 2 in libudev format (magic
 * 0xfeedcafe) after udevd ran its rules.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RP "/sys/class/remoteproc/remoteproc1"
#define CHANNEL "rpmsg-openamp-demo-channel"

struct udev_hdr {
	char prefix[8];
	uint32_t magic, header_size, properties_off, properties_len;
	uint32_t filter_subsystem_hash, filter_devtype_hash;
	uint32_t filter_tag_bloom_hi, filter_tag_bloom_lo;
};

struct counts {
	int total, rpmsg_add, rpmsg_remove, channel_add, channel_remove, bad;
};

static int open_group(int group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = group };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	int on = 1;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("uevent socket");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	return fd;
}

/* account one message: properties are NUL-separated KEY=VALUE strings */
static void account(struct counts *c, const char *p, size_t len)
{
	const char *action = "", *subsystem = "", *devpath = "";
	for (const char *q = p; q < p + len; q += strlen(q) + 1) {
		if (!strncmp(q, "ACTION=", 7))
			action = q + 7;
		else if (!strncmp(q, "SUBSYSTEM=", 10))
			subsystem = q + 10;
		else if (!strncmp(q, "DEVPATH=", 8))
			devpath = q + 8;
	}
	c->total++;
	if (strcmp(subsystem, "rpmsg"))
		return;
	int chan = strstr(devpath, "remoteproc1/") && strstr(devpath, "." CHANNEL ".") &&
		   !strstr(devpath, "/rpmsg/");
	if (!strcmp(action, "add")) {
		c->rpmsg_add++;
		c->channel_add += chan;
	} else if (!strcmp(action, "remove")) {
		c->rpmsg_remove++;
		c->channel_remove += chan;
	}
}

static void drain(int fd, int udev, struct counts *c)
{
	char buf[8192];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = 0;
		if (udev) {
			struct udev_hdr *h = (void *)buf;
			if (n < (ssize_t)sizeof(*h) || memcmp(h->prefix, "libudev", 8) ||
			    ntohl(h->magic) != 0xfeedcafe || h->properties_off + h->properties_len > (size_t)n) {
				c->bad++;
				continue;
			}
			account(c, buf + h->properties_off, h->properties_len);
		} else {
			size_t head = strlen(buf) + 1; /* ACTION@DEVPATH */
			if (!strchr(buf, '@')) {
				c->bad++;
				continue;
			}
			account(c, buf + head, n > (ssize_t)head ? n - head : 0);
		}
	}
}

static int writef(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int r = fd < 0 ? -1 : (int)write(fd, s, strlen(s));
	if (fd >= 0)
		close(fd);
	return r;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* pump both sockets for up to `ms` (by the clock: poll() returns early
 * whenever an event arrives) or until `done` */
static void pump(int k, int u, struct counts *ck, struct counts *cu, int ms, int (*done)(struct counts *, struct counts *))
{
	for (long long end = now_ms() + ms; now_ms() < end;) {
		struct pollfd p[2] = { { k, POLLIN, 0 }, { u, POLLIN, 0 } };
		poll(p, 2, 20);
		drain(k, 0, ck);
		drain(u, 1, cu);
		if (done && done(ck, cu))
			return;
	}
}

static int want_udev;
static int added(struct counts *k, struct counts *u)
{
	return k->channel_add && (!want_udev || u->channel_add);
}
static int removed(struct counts *k, struct counts *u)
{
	return k->channel_remove && (!want_udev || u->channel_remove);
}

int main(int argc, char **argv)
{
	want_udev = argc > 1 && !strcmp(argv[1], "udev");
	int k = open_group(1), u = open_group(2);
	struct counts ck = { 0 }, cu = { 0 };

	if (writef(RP "/firmware", "ampsim-echo.elf") < 0 || writef(RP "/state", "start") < 0) {
		perror("start remoteproc1");
		return 2;
	}
	pump(k, u, &ck, &cu, 5000, added);
	pump(k, u, &ck, &cu, 300, NULL); /* stragglers */
	printf("start: kernel events %d (rpmsg add %d, channel %d); udev events %d (rpmsg add %d, channel %d)\n",
	       ck.total, ck.rpmsg_add, ck.channel_add, cu.total, cu.rpmsg_add, cu.channel_add);
	struct counts sk = ck, su = cu;
	if (writef(RP "/state", "stop") < 0) {
		perror("stop remoteproc1");
		return 2;
	}
	pump(k, u, &ck, &cu, 5000, removed);
	pump(k, u, &ck, &cu, 300, NULL);
	printf("stop: kernel events %d (rpmsg remove %d, channel %d); udev events %d (rpmsg remove %d, channel %d)\n",
	       ck.total - sk.total, ck.rpmsg_remove, ck.channel_remove, cu.total - su.total, cu.rpmsg_remove,
	       cu.channel_remove);
	printf("malformed: kernel %d udev %d\n", ck.bad, cu.bad);

	int ok = ck.channel_add == 1 && ck.channel_remove == 1 && !ck.bad && !cu.bad;
	if (want_udev)
		ok = ok && cu.channel_add == 1 && cu.channel_remove == 1;
	else
		ok = ok && cu.total == 0;
	printf("%s: %s event path\n", ok ? "ok" : "FAIL", want_udev ? "udev" : "kernel");
	return ok ? 0 : 1;
}
