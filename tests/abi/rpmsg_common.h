/* SPDX-License-Identifier: MIT */
/*
 * Endpoint setup shared by the rpmsg ABI acceptance programs: find the demo
 * channel and obtain a /dev/rpmsgK for it on every rpmsg_char layout.
 *
 * Plain C11 and libc only, absolute paths only: the same binaries run under
 * the ampsim simulator (via run-in-ns.sh) and, statically linked, on a real
 * kernel in QEMU. Everything here follows docs kernel-abi.md, sections 2-5.
 */
#ifndef RPMSG_COMMON_H
#define RPMSG_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/*
 * The uapi, spelled out here rather than taken from <linux/rpmsg.h>: headers
 * older than 5.13 lack RPMSG_ADDR_ANY, and a board SDK's headers may be older
 * than the kernel the binary runs on.
 */
struct rp_endpoint_info {
	char name[32];
	uint32_t src;
	uint32_t dst;
};
#define RP_ADDR_ANY 0xFFFFFFFFu
#define RP_CREATE_EPT_IOCTL _IOW(0xb5, 0x1, struct rp_endpoint_info)
#define RP_DESTROY_EPT_IOCTL _IO(0xb5, 0x2)

#define RP_MAX_MSG 496u /* 512-byte virtio rpmsg buffer minus 16-byte header */
#define RP_SHUTDOWN_WORD 0xEF56A55Au /* echo and matmul demos */
#define RP_DEFAULT_CHANNEL "rpmsg-openamp-demo-channel"

enum rp_layout {
	RP_LAYOUT_CTRL,   /* 5.18+: virtioM.rpmsg_ctrl.0.0 owns rpmsg_ctrlN */
	RP_LAYOUT_CHRDEV, /* 5.13-5.17: virtioM.rpmsg_chrdev.0.0 owns rpmsg_ctrlN */
	RP_LAYOUT_BIND,   /* 5.10-5.12: bind rpmsg_chrdev to the channel itself */
};

struct rp_opts {
	const char *prog;    /* prefix of every message */
	const char *channel; /* service name to look for */
	const char *rproc;   /* only channels of this remoteprocN, or NULL */
	int timeout_ms;      /* per reply / per wait */
	int verbose;
};

struct rp_ep {
	const struct rp_opts *o;
	enum rp_layout layout;
	char chan_dev[256]; /* bus device name, e.g. virtio0.<name>.-1.1024 */
	char rproc[64];     /* remoteprocN the channel belongs to */
	char virtio[64];    /* virtioM parent of the channel */
	uint32_t dst;       /* the remote's address (channel's dst attribute) */
	char ctrl[64];      /* rpmsg_ctrlN used for CREATE_EPT */
	char ept[64];       /* rpmsgK we opened */
	int fd;             /* /dev/rpmsgK, nonblocking */
	bool set_override;  /* we wrote driver_override: clear it at close */
	bool bound;         /* we bound rpmsg_chrdev: unbind it at close */
	bool dead;          /* saw EPIPE/POLLERR: close() only, never DESTROY_EPT */
	bool abi_violation; /* saw something kernel-abi.md rules out: fail at close */
};

/* Set by SIGINT/SIGTERM so that the programs still clean up (unbind). */
extern volatile sig_atomic_t rp_interrupted;

/* Options every program takes; `id`s from 0x1000 up are reserved here. */
#define RP_OPT_CHANNEL 0x1000
#define RP_OPT_RPROC 0x1001
#define RP_OPT_TIMEOUT 0x1002
#define RP_COMMON_LONGOPTS                                                     \
	{"channel", required_argument, NULL, RP_OPT_CHANNEL},                  \
		{"remoteproc", required_argument, NULL, RP_OPT_RPROC},         \
		{"timeout", required_argument, NULL, RP_OPT_TIMEOUT},          \
		{"verbose", no_argument, NULL, 'v'}
#define RP_COMMON_USAGE                                                        \
	"  --channel NAME      rpmsg service to use (default " RP_DEFAULT_CHANNEL ")\n" \
	"  --remoteproc NAME   only a channel of this core, e.g. remoteproc0\n"   \
	"  --timeout MS        reply / wait deadline in milliseconds (default 5000)\n" \
	"  -v, --verbose       say what is done at each step\n"

void rp_opts_init(struct rp_opts *o, const char *prog);
/* Handles a common getopt_long result; 1 if consumed, 0 if not, -1 on a bad value. */
int rp_common_option(struct rp_opts *o, int opt, const char *arg);
/* Parse a non-negative decimal number, whole string; -1 if invalid. */
long long rp_parse_count(const char *s);

void rp_info(const struct rp_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rp_error(const struct rp_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rp_install_signals(void);
int64_t rp_now_ms(void);

/* Find the channel and get an open endpoint; 0 or -1 (already reported). */
int rp_open(struct rp_ep *ep, const struct rp_opts *o);
/* One message; 0 or -errno (not reported: the caller knows the context). */
int rp_send(struct rp_ep *ep, const void *buf, size_t len);
/* One message within timeout_ms; its length or -errno (-ETIMEDOUT, -EPIPE...). */
ssize_t rp_recv(struct rp_ep *ep, void *buf, size_t cap, int timeout_ms);
/* Whether the channel device is still on the bus. */
bool rp_channel_present(const struct rp_ep *ep);
/* Wait up to timeout_ms for the channel to leave the bus; true if it did. */
bool rp_wait_channel_gone(struct rp_ep *ep, int timeout_ms);
/*
 * Send the shutdown word (msg/len, first word RP_SHUTDOWN_WORD) and wait for
 * the remote's acknowledgement: its channel vanishing or an unchanged echo.
 * 0 if acknowledged, -1 otherwise (reported).
 */
int rp_shutdown(struct rp_ep *ep, const void *msg, size_t len);
/* DESTROY_EPT when safe, close, undo a bind; 0 or -1 (reported), -1 also
 * after an ABI violation seen earlier. */
int rp_close(struct rp_ep *ep);

static inline void rp_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t rp_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline void rp_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t rp_get_le64(const uint8_t *p)
{
	return (uint64_t)rp_get_le32(p) | (uint64_t)rp_get_le32(p + 4) << 32;
}

#endif /* RPMSG_COMMON_H */
