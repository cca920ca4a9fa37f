/* SPDX-License-Identifier: MIT */
/*
 * Endpoint setup shared by the rpmsg ABI acceptance programs: find the demo
 * channel, detect the rpmsg_char layout from what exists, get /dev/rpmsgK.
 */
#define _GNU_SOURCE
#include "rpmsg_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The uapi values kernel-abi.md gives; a typo here would break every layout. */
_Static_assert(sizeof(struct rp_endpoint_info) == 40, "rpmsg_endpoint_info is 40 bytes");
_Static_assert(RP_CREATE_EPT_IOCTL == 0x4028b501, "RPMSG_CREATE_EPT_IOCTL");
_Static_assert(RP_DESTROY_EPT_IOCTL == 0xb502, "RPMSG_DESTROY_EPT_IOCTL");

/* Absolute paths on purpose: the programs must work as a vendor tool would. */
#define BUS_DEVICES "/sys/bus/rpmsg/devices"
#define CHRDEV_DRIVER "/sys/bus/rpmsg/drivers/rpmsg_chrdev"
#define CLASS_RPMSG "/sys/class/rpmsg"
#define CLASS_RPROC "/sys/class/remoteproc"

/*
 * Interval of the few bounded waits for a sysfs/dev entry to appear. sysfs
 * gives no event for that (inotify never fires there, kernel-abi.md section
 * 5) and the uevent alternative is not available under the simulator without
 * a private network namespace, so these waits poll with a short interval and
 * always a deadline. Message replies are never waited for this way: those use
 * poll() on the endpoint.
 */
#define APPEAR_POLL_MS 10

volatile sig_atomic_t rp_interrupted;

/* snprintf that refuses to truncate: a cut path names the wrong file. */
__attribute__((format(printf, 3, 4))) static bool fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		buf[0] = '\0';
		return false;
	}
	return true;
}


static void on_signal(int sig)
{
	(void)sig;
	rp_interrupted = 1;
}

void rp_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* No SA_RESTART: poll() must return EINTR so that we clean up. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int64_t rp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void rp_info(const struct rp_opts *o, const char *fmt, ...)
{
	if (!o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", o->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void rp_error(const struct rp_opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", o->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void rp_opts_init(struct rp_opts *o, const char *prog)
{
	o->prog = prog;
	o->channel = RP_DEFAULT_CHANNEL;
	o->rproc = NULL;
	o->timeout_ms = 5000;
	o->verbose = 0;
}

long long rp_parse_count(const char *s)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	return v;
}

int rp_common_option(struct rp_opts *o, int opt, const char *arg)
{
	long long v;
	switch (opt) {
	case RP_OPT_CHANNEL:
		if (!*arg || strlen(arg) >= sizeof(((struct rp_endpoint_info *)0)->name)) {
			rp_error(o, "--channel: a name of 1 to 31 bytes, got '%s'", arg);
			return -1;
		}
		o->channel = arg;
		return 1;
	case RP_OPT_RPROC:
		o->rproc = arg;
		return 1;
	case RP_OPT_TIMEOUT:
		v = rp_parse_count(arg);
		if (v <= 0 || v > INT32_MAX) {
			rp_error(o, "--timeout: a positive number of milliseconds, got '%s'", arg);
			return -1;
		}
		o->timeout_ms = (int)v;
		return 1;
	case 'v':
		o->verbose++;
		return 1;
	}
	return 0;
}

/* Read a sysfs attribute, one trailing newline removed; 0 or -errno. */
static int read_attr(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

/* Write a sysfs attribute in one write(), as `echo` would; 0 or -errno. */
static int write_attr(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int e = n < 0 ? errno : 0;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e)
		return -e;
	return (size_t)n == len ? 0 : -EIO;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Wait, bounded, for a path to appear (see APPEAR_POLL_MS); 0 or -errno. */
static int wait_exists(const char *path, int timeout_ms)
{
	int64_t deadline = rp_now_ms() + timeout_ms;
	for (;;) {
		struct stat st;
		if (stat(path, &st) == 0)
			return 0;
		if (errno != ENOENT)
			return -errno;
		if (rp_interrupted)
			return -EINTR;
		if (rp_now_ms() >= deadline)
			return -ENOENT;
		sleep_ms(APPEAR_POLL_MS);
	}
}

static bool is_numbered(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n) != 0 || !name[n])
		return false;
	for (const char *p = name + n; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* The channel's dst attribute: "0x%x" (kernel-abi.md section 2). */
static bool parse_hex_attr(const char *s, uint32_t *out)
{
	if (s[0] != '0' || s[1] != 'x' || !s[2] || strlen(s + 2) > 8)
		return false;
	uint32_t v = 0;
	for (const char *p = s + 2; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

/* An endpoint node's src/dst attribute: signed decimal as passed to CREATE_EPT. */
static bool parse_signed_attr(const char *s, uint32_t *out)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (uint32_t)(int32_t)v;
	return true;
}

/*
 * From the channel's real path, the first component that is remoteprocN as a
 * whole (the 5.10-6.0 "remoteprocN#vdev0buffer" must not match) and the
 * directory the channel sits in (virtioM).
 */
static bool owner_of(const char *real, char *rproc, size_t rcap, char *virtio, size_t vcap)
{
	rproc[0] = '\0';
	const char *p = real;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (n < sizeof(comp)) {
			memcpy(comp, p, n);
			comp[n] = '\0';
			if (is_numbered(comp, "remoteproc")) {
				if (fmt(rproc, rcap, "%s", comp))
					break;
			}
		}
		p += n;
	}
	const char *last = strrchr(real, '/');
	if (!last || last == real)
		return false;
	const char *prev = last - 1;
	while (prev > real && *prev != '/')
		prev--;
	size_t n = (size_t)(last - prev - 1);
	if (n == 0 || n >= vcap)
		return false;
	memcpy(virtio, prev + 1, n);
	virtio[n] = '\0';
	return rproc[0] != '\0';
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* One pass over the bus; 1 found, 0 not (yet), -1 fatal (reported). */
static int scan_channel(struct rp_ep *ep)
{
	const struct rp_opts *o = ep->o;
	struct dirent **list;
	int n = scandir(BUS_DEVICES, &list, skip_dots, alphasort);
	if (n < 0) {
		rp_error(o, "cannot list %s: %s", BUS_DEVICES, strerror(errno));
		return -1;
	}
	int found = 0;
	for (int i = 0; i < n; i++) {
		const char *dev = list[i]->d_name;
		char path[PATH_MAX], name[64];
		snprintf(path, sizeof(path), "%s/%s/name", BUS_DEVICES, dev);
		int r = read_attr(path, name, sizeof(name));
		if (r == -ENOENT)
			continue; /* left the bus while we looked */
		if (r < 0) {
			rp_error(o, "cannot read %s: %s", path, strerror(-r));
			found = -1;
			break;
		}
		/* Not channels: the name service, the per-bus control devices. */
		if (!strcmp(name, "rpmsg_ns") || !strcmp(name, "rpmsg_chrdev") ||
		    !strcmp(name, "rpmsg_ctrl"))
			continue;
		if (strcmp(name, o->channel) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", BUS_DEVICES, dev);
		char real[PATH_MAX];
		if (!realpath(path, real)) {
			if (errno == ENOENT)
				continue;
			rp_error(o, "cannot resolve %s: %s", path, strerror(errno));
			found = -1;
			break;
		}
		char rproc[64], virtio[64];
		if (!owner_of(real, rproc, sizeof(rproc), virtio, sizeof(virtio))) {
			rp_error(o, "%s resolves to %s, which has no remoteprocN component", path, real);
			found = -1;
			break;
		}
		if (o->rproc && strcmp(o->rproc, rproc) != 0) {
			rp_info(o, "skipping %s: it belongs to %s", dev, rproc);
			continue;
		}
		if (found) {
			rp_info(o, "also found %s on %s; using the first (--remoteproc picks)", dev, rproc);
			continue;
		}
		snprintf(ep->chan_dev, sizeof(ep->chan_dev), "%s", dev);
		snprintf(ep->rproc, sizeof(ep->rproc), "%s", rproc);
		snprintf(ep->virtio, sizeof(ep->virtio), "%s", virtio);
		found = 1;
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return found;
}

static int find_channel(struct rp_ep *ep)
{
	const struct rp_opts *o = ep->o;
	/* The caller normally waits for the channel; tolerate a short lag. */
	int64_t deadline = rp_now_ms() + o->timeout_ms;
	for (;;) {
		int r = scan_channel(ep);
		if (r != 0)
			return r > 0 ? 0 : -1;
		if (rp_interrupted || rp_now_ms() >= deadline)
			break;
		sleep_ms(APPEAR_POLL_MS);
	}
	rp_error(o, "no rpmsg channel named '%s'%s%s under %s within %d ms (is the remote running?)",
		 o->channel, o->rproc ? " on " : "", o->rproc ? o->rproc : "", BUS_DEVICES,
		 o->timeout_ms);
	return -1;
}

/* The rpmsg_ctrlN class device under <devdir>/rpmsg/, waiting for its probe. */
static int find_ctrl_child(struct rp_ep *ep, const char *devdir)
{
	const struct rp_opts *o = ep->o;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/rpmsg", devdir);
	int64_t deadline = rp_now_ms() + o->timeout_ms;
	for (;;) {
		DIR *d = opendir(dir);
		if (d) {
			struct dirent *de;
			while ((de = readdir(d))) {
				if (is_numbered(de->d_name, "rpmsg_ctrl")) {
					if (fmt(ep->ctrl, sizeof(ep->ctrl), "%s", de->d_name))
						break;
				}
			}
			closedir(d);
			if (ep->ctrl[0])
				return 0;
		} else if (errno != ENOENT) {
			rp_error(o, "cannot list %s: %s", dir, strerror(errno));
			return -1;
		}
		if (rp_interrupted || rp_now_ms() >= deadline)
			break;
		sleep_ms(APPEAR_POLL_MS);
	}
	rp_error(o, "no rpmsg_ctrlN under %s within %d ms", dir, o->timeout_ms);
	return -1;
}

/* 5.10-5.12: give the channel to rpmsg_chrdev so that it gets a control node. */
static int bind_chrdev(struct rp_ep *ep)
{
	const struct rp_opts *o = ep->o;
	char chan[PATH_MAX], path[PATH_MAX], val[PATH_MAX];
	snprintf(chan, sizeof(chan), "%s/%s", BUS_DEVICES, ep->chan_dev);

	fmt(path, sizeof(path), "%s/driver", chan);
	ssize_t n = readlink(path, val, sizeof(val) - 1);
	if (n >= 0) {
		val[n] = '\0';
		const char *drv = strrchr(val, '/') ? strrchr(val, '/') + 1 : val;
		if (strcmp(drv, "rpmsg_chrdev") == 0) {
			rp_info(o, "%s is already bound to rpmsg_chrdev; leaving the binding as found",
				ep->chan_dev);
			return find_ctrl_child(ep, chan);
		}
		rp_error(o, "%s is bound to driver '%s'; not taking it over", ep->chan_dev, drv);
		return -1;
	}

	fmt(path, sizeof(path), "%s/driver_override", chan);
	int r = read_attr(path, val, sizeof(val));
	if (r < 0) {
		rp_error(o, "cannot read %s: %s", path, strerror(-r));
		return -1;
	}
	if (strcmp(val, "(null)") == 0 || val[0] == '\0') {
		r = write_attr(path, "rpmsg_chrdev");
		if (r < 0) {
			rp_error(o, "writing 'rpmsg_chrdev' to %s: %s", path, strerror(-r));
			return -1;
		}
		ep->set_override = true;
	} else if (strcmp(val, "rpmsg_chrdev") != 0) {
		rp_error(o, "%s reads '%s'; not overriding someone else's choice", path, val);
		return -1;
	}

	snprintf(path, sizeof(path), "%s/bind", CHRDEV_DRIVER);
	r = write_attr(path, ep->chan_dev);
	if (r < 0) {
		rp_error(o, "writing '%s' to %s: %s", ep->chan_dev, path, strerror(-r));
		return -1;
	}
	ep->bound = true;
	rp_info(o, "bound %s to rpmsg_chrdev", ep->chan_dev);
	return find_ctrl_child(ep, chan);
}

struct ept_list {
	char names[64][32];
	int n;
};

static int list_epts(const char *ctrl, struct ept_list *l)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", CLASS_RPMSG, ctrl);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	l->n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (is_numbered(de->d_name, "rpmsg") && l->n < 64)
			if (fmt(l->names[l->n], sizeof(l->names[0]), "%s", de->d_name))
				l->n++;
	closedir(d);
	return 0;
}

static bool in_list(const struct ept_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return true;
	return false;
}

/* Does /sys/class/rpmsg/<ctrl>/<ept> carry name/src/dst as we passed them? */
static bool ept_matches(const struct rp_ep *ep, const char *ept, const struct rp_endpoint_info *info,
			char *seen, size_t seen_cap)
{
	char path[PATH_MAX], name[64], src[32], dst[32];
	uint32_t s, d;
	snprintf(path, sizeof(path), "%s/%s/%s/name", CLASS_RPMSG, ep->ctrl, ept);
	if (read_attr(path, name, sizeof(name)) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s/%s/src", CLASS_RPMSG, ep->ctrl, ept);
	if (read_attr(path, src, sizeof(src)) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s/%s/dst", CLASS_RPMSG, ep->ctrl, ept);
	if (read_attr(path, dst, sizeof(dst)) < 0)
		return false;
	size_t used = strlen(seen);
	snprintf(seen + used, seen_cap - used, " %s{name=%s src=%s dst=%s}", ept, name, src, dst);
	return strcmp(name, info->name) == 0 && parse_signed_attr(src, &s) && s == info->src &&
	       parse_signed_attr(dst, &d) && d == info->dst;
}

/* CREATE_EPT on the control node, then find and open the node it made. */
static int create_endpoint(struct rp_ep *ep)
{
	const struct rp_opts *o = ep->o;
	char ctrl_node[PATH_MAX];
	snprintf(ctrl_node, sizeof(ctrl_node), "/dev/%s", ep->ctrl);
	int r = wait_exists(ctrl_node, o->timeout_ms);
	if (r < 0) {
		rp_error(o, "%s: %s (waited %d ms)", ctrl_node, strerror(-r), o->timeout_ms);
		return -1;
	}

	struct ept_list before, after;
	r = list_epts(ep->ctrl, &before);
	if (r < 0) {
		rp_error(o, "cannot list %s/%s: %s", CLASS_RPMSG, ep->ctrl, strerror(-r));
		return -1;
	}

	int cfd = open(ctrl_node, O_RDWR | O_CLOEXEC);
	if (cfd < 0) {
		rp_error(o, "open %s: %s", ctrl_node, strerror(errno));
		return -1;
	}
	struct rp_endpoint_info info;
	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "%s", o->channel);
	info.src = RP_ADDR_ANY;
	info.dst = ep->dst;
	r = ioctl(cfd, RP_CREATE_EPT_IOCTL, &info);
	int e = errno;
	/* Never keep a control fd: one held across a remote stop goes bad
	 * (kernel-abi.md section 5). */
	close(cfd);
	if (r < 0) {
		rp_error(o, "RPMSG_CREATE_EPT_IOCTL on %s {name=%s src=ANY dst=0x%x}: %s", ctrl_node,
			 info.name, info.dst, strerror(e));
		return -1;
	}

	/* CREATE_EPT returns 0, not the node: the new rpmsgK is the one that was
	 * not there before and carries our name/src/dst. */
	r = list_epts(ep->ctrl, &after);
	if (r < 0) {
		rp_error(o, "cannot list %s/%s: %s", CLASS_RPMSG, ep->ctrl, strerror(-r));
		return -1;
	}
	char seen[2048] = "";
	for (int i = 0; i < after.n; i++) {
		const char *ept = after.names[i];
		if (in_list(&before, ept) || !ept_matches(ep, ept, &info, seen, sizeof(seen)))
			continue;
		char node[PATH_MAX];
		snprintf(node, sizeof(node), "/dev/%s", ept);
		r = wait_exists(node, o->timeout_ms);
		if (r < 0) {
			rp_error(o, "%s: %s (waited %d ms)", node, strerror(-r), o->timeout_ms);
			return -1;
		}
		/* Nonblocking: replies are waited for with poll() and a deadline. */
		ep->fd = open(node, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (ep->fd < 0) {
			if (errno == EBUSY)
				continue; /* someone else's twin, created at the same time */
			rp_error(o, "open %s: %s", node, strerror(errno));
			return -1;
		}
		snprintf(ep->ept, sizeof(ep->ept), "%s", ept);
		rp_info(o, "endpoint %s (CREATE_EPT on %s, dst 0x%x)", node, ctrl_node, info.dst);
		return 0;
	}
	rp_error(o, "after RPMSG_CREATE_EPT_IOCTL on %s, no new rpmsgK under %s/%s has name=%s src=-1 "
		 "dst=%d; seen:%s", ctrl_node, CLASS_RPMSG, ep->ctrl, info.name, (int32_t)info.dst,
		 seen[0] ? seen : " (none new)");
	return -1;
}

static const char *layout_name(enum rp_layout l)
{
	switch (l) {
	case RP_LAYOUT_CTRL:
		return "5.18+ (rpmsg_ctrl on the virtio bus)";
	case RP_LAYOUT_CHRDEV:
		return "5.13-5.17 (rpmsg_chrdev on the virtio bus)";
	case RP_LAYOUT_BIND:
		return "5.10-5.12 (rpmsg_chrdev bound to the channel)";
	}
	return "?";
}

int rp_open(struct rp_ep *ep, const struct rp_opts *o)
{
	memset(ep, 0, sizeof(*ep));
	ep->o = o;
	ep->fd = -1;
	if (find_channel(ep) < 0)
		return -1;

	char path[PATH_MAX], val[64];
	snprintf(path, sizeof(path), "%s/%s/dst", BUS_DEVICES, ep->chan_dev);
	int r = read_attr(path, val, sizeof(val));
	if (r < 0) {
		rp_error(o, "cannot read %s: %s", path, strerror(-r));
		return -1;
	}
	if (!parse_hex_attr(val, &ep->dst)) {
		rp_error(o, "%s reads '%s', not the 0x%%x address the kernel prints", path, val);
		return -1;
	}
	if (ep->dst == RP_ADDR_ANY) {
		rp_error(o, "%s is 0x%x (any): the remote has no address to talk to", path, ep->dst);
		return -1;
	}
	if (o->verbose) {
		char state[64] = "?";
		snprintf(path, sizeof(path), "%s/%s/state", CLASS_RPROC, ep->rproc);
		read_attr(path, state, sizeof(state));
		rp_info(o, "channel %s on %s (state %s, remote address 0x%x)", ep->chan_dev, ep->rproc,
			state, ep->dst);
	}

	/* The layout, from what exists: the per-bus control devices are
	 * registered at virtio probe, before any channel is announced. */
	char devdir[PATH_MAX];
	snprintf(devdir, sizeof(devdir), "%s/%s.rpmsg_ctrl.0.0", BUS_DEVICES, ep->virtio);
	if (exists(devdir)) {
		ep->layout = RP_LAYOUT_CTRL;
	} else {
		snprintf(devdir, sizeof(devdir), "%s/%s.rpmsg_chrdev.0.0", BUS_DEVICES, ep->virtio);
		ep->layout = exists(devdir) ? RP_LAYOUT_CHRDEV : RP_LAYOUT_BIND;
	}
	rp_info(o, "layout %s", layout_name(ep->layout));

	if (ep->layout == RP_LAYOUT_BIND)
		r = bind_chrdev(ep);
	else
		r = find_ctrl_child(ep, devdir);
	if (r == 0) {
		rp_info(o, "control node /dev/%s", ep->ctrl);
		r = create_endpoint(ep);
	}
	if (r < 0) {
		rp_close(ep); /* undo a bind */
		return -1;
	}
	return 0;
}

int rp_send(struct rp_ep *ep, const void *buf, size_t len)
{
	/* No free TX buffer: EAGAIN (5.18+) or ENOMEM (5.10-5.17), and poll()
	 * never reports POLLOUT, so retry on a timer until the deadline. */
	int64_t deadline = rp_now_ms() + ep->o->timeout_ms;
	for (;;) {
		ssize_t n = write(ep->fd, buf, len);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EIO; /* a message goes whole or not */
		int e = errno;
		if (e == EPIPE)
			ep->dead = true;
		if (e == EINTR && !rp_interrupted)
			continue;
		if ((e != EAGAIN && e != ENOMEM) || rp_interrupted)
			return -e;
		if (rp_now_ms() >= deadline)
			return -e;
		sleep_ms(1);
	}
}

ssize_t rp_recv(struct rp_ep *ep, void *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = rp_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - rp_now_ms();
		if (left < 0)
			left = 0;
		struct pollfd p = {.fd = ep->fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0) {
			if (errno == EINTR && !rp_interrupted)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		if (p.revents & POLLNVAL)
			return -EBADF;
		if (p.revents & POLLIN) {
			ssize_t n = read(ep->fd, buf, cap);
			if (n >= 0)
				return n;
			if (errno == EAGAIN || (errno == EINTR && !rp_interrupted))
				continue;
			if (errno == EPIPE)
				ep->dead = true;
			return -errno;
		}
		if (p.revents & POLLHUP) {
			rp_error(ep->o, "poll on /dev/%s reported POLLHUP (revents 0x%x); rpmsg_char "
				 "reports POLLERR only, never POLLHUP", ep->ept, (unsigned)p.revents);
			ep->dead = true;
			ep->abi_violation = true;
			return -EPIPE;
		}
		if (p.revents & POLLERR) {
			ep->dead = true; /* the channel or the remote went away */
			return -EPIPE;
		}
	}
}

bool rp_channel_present(const struct rp_ep *ep)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", BUS_DEVICES, ep->chan_dev);
	struct stat st;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

bool rp_wait_channel_gone(struct rp_ep *ep, int timeout_ms)
{
	/* The channel leaving the bus has no event an endpoint fd sees (except
	 * when the endpoint hangs off the channel, 5.10), so look at the bus
	 * between short poll()s on the endpoint. */
	int64_t deadline = rp_now_ms() + timeout_ms;
	uint8_t buf[RP_MAX_MSG + 16];
	while (rp_channel_present(ep)) {
		int64_t left = deadline - rp_now_ms();
		if (left <= 0 || rp_interrupted)
			return false;
		if (ep->fd < 0 || ep->dead) {
			sleep_ms(APPEAR_POLL_MS);
			continue;
		}
		ssize_t n = rp_recv(ep, buf, sizeof(buf), left < APPEAR_POLL_MS ? (int)left : APPEAR_POLL_MS);
		if (n >= 0)
			rp_info(ep->o, "ignoring a %zd-byte message while waiting for the channel to go", n);
		else if (n != -ETIMEDOUT && n != -EPIPE)
			sleep_ms(APPEAR_POLL_MS);
	}
	return true;
}

int rp_shutdown(struct rp_ep *ep, const void *msg, size_t len)
{
	const struct rp_opts *o = ep->o;
	int r = rp_send(ep, msg, len);
	if (r < 0) {
		rp_error(o, "sending the shutdown word to /dev/%s: %s", ep->ept, strerror(-r));
		return -1;
	}
	/* Acknowledged when the channel leaves the bus; an echo of the word is
	 * accepted on the way (some builds echo it, some do not). */
	int64_t start = rp_now_ms(), deadline = start + o->timeout_ms;
	bool echoed = false, bad = false;
	uint8_t buf[RP_MAX_MSG + 16];
	while (rp_channel_present(ep) && !rp_interrupted) {
		int64_t left = deadline - rp_now_ms();
		if (left <= 0)
			break;
		if (ep->dead) {
			sleep_ms(APPEAR_POLL_MS);
			continue;
		}
		ssize_t n = rp_recv(ep, buf, sizeof(buf), left < APPEAR_POLL_MS ? (int)left : APPEAR_POLL_MS);
		if (n == -ETIMEDOUT || n == -EPIPE)
			continue;
		if (n < 0) {
			rp_error(o, "read /dev/%s after the shutdown word: %s", ep->ept, strerror((int)-n));
			return -1;
		}
		if (!echoed && (size_t)n == len && memcmp(buf, msg, len) == 0) {
			echoed = true;
			rp_info(o, "the remote echoed the shutdown word");
		} else {
			rp_error(o, "unexpected %zd-byte message after the shutdown word", n);
			bad = true;
		}
	}
	bool gone = !rp_channel_present(ep);
	if (gone)
		rp_info(o, "channel %s left the bus %lld ms after the shutdown word", ep->chan_dev,
			(long long)(rp_now_ms() - start));
	else if (echoed)
		rp_info(o, "shutdown echoed; channel still present after %d ms", o->timeout_ms);
	else if (rp_interrupted)
		return -1;
	else {
		rp_error(o, "the remote neither echoed the shutdown word nor removed channel %s "
			 "within %d ms", ep->chan_dev, o->timeout_ms);
		return -1;
	}
	return bad ? -1 : 0;
}

int rp_close(struct rp_ep *ep)
{
	const struct rp_opts *o = ep->o;
	int ret = 0;
	char path[PATH_MAX];
	if (ep->fd >= 0) {
		/* DESTROY_EPT only on a live endpoint: after EPIPE/POLLERR it oopses
		 * 6.1 (kernel-abi.md section 5). On 5.10 the endpoint hangs off the
		 * channel and went away with it. */
		bool live = !ep->dead;
		struct pollfd p = {.fd = ep->fd, .events = POLLIN};
		if (live && poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
			live = false;
		if (live && ep->layout == RP_LAYOUT_BIND && !rp_channel_present(ep))
			live = false;
		snprintf(path, sizeof(path), "%s/%s/%s", CLASS_RPMSG, ep->ctrl, ep->ept);
		if (live && !exists(path))
			live = false;
		if (live) {
			if (ioctl(ep->fd, RP_DESTROY_EPT_IOCTL) < 0) {
				rp_error(o, "RPMSG_DESTROY_EPT_IOCTL on /dev/%s: %s", ep->ept, strerror(errno));
				ret = -1;
			} else if (exists(path)) {
				rp_error(o, "%s still exists after RPMSG_DESTROY_EPT_IOCTL", path);
				ret = -1;
			} else {
				rp_info(o, "destroyed /dev/%s", ep->ept);
			}
		} else {
			rp_info(o, "/dev/%s is gone or dead: closing it without DESTROY_EPT", ep->ept);
		}
		close(ep->fd);
		ep->fd = -1;
	}
	if (ep->bound && rp_channel_present(ep)) {
		snprintf(path, sizeof(path), "%s/unbind", CHRDEV_DRIVER);
		int r = write_attr(path, ep->chan_dev);
		if (r < 0 && rp_channel_present(ep)) {
			rp_error(o, "writing '%s' to %s: %s", ep->chan_dev, path, strerror(-r));
			ret = -1;
		} else if (r == 0) {
			rp_info(o, "unbound %s from rpmsg_chrdev", ep->chan_dev);
		}
	}
	ep->bound = false;
	if (ep->set_override && rp_channel_present(ep)) {
		snprintf(path, sizeof(path), "%s/%s/driver_override", BUS_DEVICES, ep->chan_dev);
		/* "\n" is the empty string to the kernel (it cuts the newline), and
		 * unlike a 0-byte write it reaches the driver through every VFS. */
		int r = write_attr(path, "\n");
		char val[64] = "";
		if (r == 0)
			r = read_attr(path, val, sizeof(val));
		if (r < 0 && rp_channel_present(ep)) {
			rp_error(o, "clearing %s: %s", path, strerror(-r));
			ret = -1;
		} else if (r == 0 && strcmp(val, "(null)") != 0) {
			rp_error(o, "%s reads '%s' after clearing it, expected '(null)'", path, val);
			ret = -1;
		}
	}
	ep->set_override = false;
	if (ep->abi_violation)
		ret = -1; /* reported where it was seen */
	return ret;
}
