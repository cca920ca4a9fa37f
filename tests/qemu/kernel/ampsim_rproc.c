// SPDX-License-Identifier: GPL-2.0
/*
 * ampsim_rproc: a built-in test remoteproc driver whose remote core is
 * emulated by a kthread. Part of the ampd test harness (tests/qemu), linked
 * into a test kernel only; never for production.
 *
 * The remote reads the `.ampsim` marker (tests/sim/fw_format.h) from the
 * image loaded into its memory windows and runs the same behaviours as the
 * simulator's firmware: echo, matmul, rpc, rpcprobe, crash, hang, silent, slow,
 * norsc.
 * It plays the virtio *device* side of the rpmsg vrings: it consumes `avail`
 * and produces `used` on both rings, announces its channel to address 53 and
 * raises "interrupts" with rproc_vq_interrupt(). Vring and buffer addresses
 * Linux writes are guest-physical (phys_to_virt on x86).
 *
 * Boot parameter ampsim_rproc.remotes=N (1..8) registers N cores named
 * ffe00000.r5f, ffe90000.r5f, ...
 *
 * Writing to the platform device's `crash` attribute
 * (/sys/class/remoteproc/remoteprocN/device/crash) crashes the running
 * firmware at the remote's next turn, as `ampsim ctl crash R` does: it stops
 * executing (its rings stay as they are) and reports a fatal error, so a
 * test can crash a remote in the middle of its traffic.
 */
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/elf.h>
#include <linux/firmware.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/remoteproc.h>
#include <linux/rpmsg.h>
#include <linux/rsc_table.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/wait.h>

#if __has_include(<linux/unaligned.h>)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "remoteproc_internal.h"
#include "remoteproc_elf_helpers.h"
#include "fw_format.h"

#define AMP_MAX_REMOTES 8
#define AMP_NS_ADDR 53
#define AMP_HDR_LEN 16
#define AMP_MAX_PAYLOAD 496

static int remotes = 1;
module_param(remotes, int, 0444);
MODULE_PARM_DESC(remotes, "number of emulated remote cores (1..8)");

struct amp_rpmsg_hdr {
	__le32 src, dst, reserved;
	__le16 len, flags;
} __packed;

struct amp_ns_msg {
	char name[32];
	__le32 addr, flags;
} __packed;

/* one outgoing message, sent when due and an rx buffer is free */
struct amp_out {
	struct list_head node;
	unsigned long due;
	u32 src, dst;
	u16 len;
	u8 data[AMP_MAX_PAYLOAD];
};

enum amp_app { APP_SILENT, APP_ECHO, APP_MATMUL, APP_RPC, APP_CRASH, APP_HANG, APP_SLOW, APP_NORSC,
	       APP_RPCPROBE };

#define AMP_PROBE_OPENS 1000

struct amp_core {
	struct rproc *rproc;
	void *ddr, *tcm;
	u64 marker_da; /* sh_addr of .ampsim, 0 if none */
	struct resource_table *table;
	size_t table_sz;
	struct task_struct *task;
	wait_queue_head_t wq;
	bool kicked;
	bool crash_req; /* the `crash` attribute was written */
	/* remote state, touched only by the kthread */
	struct fw_rsc_vdev *vdev;
	struct vring vr[2];
	u16 last_avail[2];
	int notifyid[2];
	bool ready, dead, quiet;
	struct ampsim_fw_marker m;
	enum amp_app app;
	u32 dest; /* learned address, RPMSG_ADDR_ANY until the first message */
	u32 nmsgs;
	unsigned long crash_at;
	struct list_head out;
	/* rpc app (amp_rpc_demo) */
	bool rpc_go, rpc_done, rpc_held, waiting, abort, in_eof;
	u8 resp[AMP_MAX_PAYLOAD];
	size_t resp_cap, resp_got;
	char stdout_buf[1024];
	size_t out_len;
	char in[64 + 1024 + 64];
	u8 rbuff[1024], readbuf[1024];
	char line[1024];
	size_t in_pos, in_end, console_bytes;
	/* rpcprobe app (amp_rpcprobe) */
	int probe_fds[AMP_PROBE_OPENS];
};

/* ---- memory windows ---------------------------------------------------- */

static void *amp_da_to_va(struct rproc *rproc, u64 da, size_t len, bool *is_iomem)
{
	struct amp_core *c = rproc->priv;

	if (len > AMPSIM_DDR_SIZE)
		return NULL;
	if (da >= AMPSIM_DDR_BASE && da + len <= (u64)AMPSIM_DDR_BASE + AMPSIM_DDR_SIZE)
		return c->ddr + (da - AMPSIM_DDR_BASE);
	if (da + len <= (u64)AMPSIM_TCM_BASE + AMPSIM_TCM_SIZE)
		return c->tcm + (da - AMPSIM_TCM_BASE);
	return NULL;
}

static int amp_prepare(struct rproc *rproc)
{
	struct amp_core *c = rproc->priv;

	memset(c->ddr, 0, AMPSIM_DDR_SIZE);
	memset(c->tcm, 0, AMPSIM_TCM_SIZE);
	return 0;
}

/* Like the Zynq R5 driver: no (or an unreadable) table is not an error. */
static int amp_parse_fw(struct rproc *rproc, const struct firmware *fw)
{
	struct amp_core *c = rproc->priv;
	const u8 *elf = fw->data;
	u8 class = fw_elf_get_class(fw);
	const void *shdr = elf + elf_hdr_get_e_shoff(class, elf);
	u16 shnum = elf_hdr_get_e_shnum(class, elf);
	u16 strndx = elf_hdr_get_e_shstrndx(class, elf);
	size_t shsz = elf_size_of_shdr(class);
	u64 stroff, strsz;
	int i, ret;

	ret = rproc_elf_load_rsc_table(rproc, fw);
	if (ret == -EINVAL) {
		dev_info(&rproc->dev, "no resource table found.\n");
		ret = 0;
	}
	if (ret)
		return ret;

	/* remember where the marker will be loaded (sanity_check bounded shdrs) */
	c->marker_da = 0;
	if (strndx >= shnum)
		return 0;
	stroff = elf_shdr_get_sh_offset(class, shdr + strndx * shsz);
	strsz = elf_shdr_get_sh_size(class, shdr + strndx * shsz);
	if (stroff > fw->size || strsz > fw->size - stroff)
		return 0;
	for (i = 0; i < shnum; i++) {
		const void *sh = shdr + i * shsz;
		u32 name = elf_shdr_get_sh_name(class, sh);

		if (name + sizeof(AMPSIM_FW_SECTION) > strsz ||
		    strcmp(elf + stroff + name, AMPSIM_FW_SECTION))
			continue;
		if (elf_shdr_get_sh_size(class, sh) >= sizeof(struct ampsim_fw_marker))
			c->marker_da = elf_shdr_get_sh_addr(class, sh);
	}
	return 0;
}

static struct resource_table *amp_find_loaded_rsc_table(struct rproc *rproc,
							 const struct firmware *fw)
{
	struct amp_core *c = rproc->priv;

	c->table = rproc_elf_find_loaded_rsc_table(rproc, fw);
	c->table_sz = c->table ? rproc->table_sz : 0;
	return c->table;
}

/* ---- the remote's side of the vrings ----------------------------------- */

static bool amp_driver_ok(struct amp_core *c)
{
	return c->vdev && (READ_ONCE(c->vdev->status) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static struct fw_rsc_vdev *amp_find_vdev(struct amp_core *c)
{
	struct resource_table *t = c->table;
	int i;

	if (!t || c->table_sz < sizeof(*t) + t->num * sizeof(u32))
		return NULL;
	for (i = 0; i < t->num; i++) {
		struct fw_rsc_hdr *h = (void *)t + t->offset[i];

		if (t->offset[i] + sizeof(*h) + sizeof(struct fw_rsc_vdev) > c->table_sz)
			continue;
		if (h->type == RSC_VDEV) {
			struct fw_rsc_vdev *v = (void *)h->data;

			if (v->id == VIRTIO_ID_RPMSG && v->num_of_vrings == 2)
				return v;
		}
	}
	return NULL;
}

/* DRIVER_OK is set: map the rings Linux allocated */
static void amp_setup_rings(struct amp_core *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct fw_rsc_vdev_vring *r = &c->vdev->vring[i];

		vring_init(&c->vr[i], r->num, phys_to_virt(r->da), r->align);
		c->notifyid[i] = r->notifyid;
		c->last_avail[i] = 0;
	}
	c->ready = true;
}

static void amp_queue(struct amp_core *c, u32 src, u32 dst, const void *data,
		      size_t len, unsigned long delay)
{
	struct amp_out *o = kmalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return;
	o->due = jiffies + delay;
	o->src = src;
	o->dst = dst;
	o->len = min_t(size_t, len, AMP_MAX_PAYLOAD);
	memcpy(o->data, data, o->len);
	list_add_tail(&o->node, &c->out);
}

static void amp_reply(struct amp_core *c, const void *data, size_t len)
{
	unsigned long delay = c->app != APP_SLOW ? 0 :
			      msecs_to_jiffies(c->m.reply_delay_ms ? c->m.reply_delay_ms : 50);

	amp_queue(c, c->m.announce_addr, c->dest, data, len, delay);
}

static void amp_ns(struct amp_core *c, u32 flags)
{
	struct amp_ns_msg ns = {};

	strscpy(ns.name, c->m.service, sizeof(ns.name));
	ns.addr = cpu_to_le32(c->m.announce_addr);
	ns.flags = cpu_to_le32(flags);
	amp_queue(c, c->m.announce_addr, AMP_NS_ADDR, &ns, sizeof(ns), 0);
}

/* put due messages into Linux's rx buffers (vring 0) */
static void amp_flush(struct amp_core *c)
{
	struct vring *vr = &c->vr[0];
	struct amp_out *o, *n;
	bool sent = false;

	list_for_each_entry_safe(o, n, &c->out, node) {
		struct amp_rpmsg_hdr *h;
		struct vring_desc *d;
		u16 head, used;

		if (time_before(jiffies, o->due) || c->dead || !amp_driver_ok(c))
			break;
		if (c->last_avail[0] == READ_ONCE(vr->avail->idx))
			break; /* no rx buffer: retry after the next kick */
		virt_rmb();
		head = vr->avail->ring[c->last_avail[0] % vr->num];
		d = &vr->desc[head % vr->num];
		if (d->len >= AMP_HDR_LEN + o->len) {
			h = phys_to_virt(d->addr);
			h->src = cpu_to_le32(o->src);
			h->dst = cpu_to_le32(o->dst);
			h->reserved = 0;
			h->len = cpu_to_le16(o->len);
			h->flags = 0;
			memcpy(h + 1, o->data, o->len);
		}
		used = vr->used->idx;
		vr->used->ring[used % vr->num].id = head;
		vr->used->ring[used % vr->num].len = AMP_HDR_LEN + o->len;
		virt_wmb();
		WRITE_ONCE(vr->used->idx, used + 1);
		c->last_avail[0]++;
		list_del(&o->node);
		kfree(o);
		sent = true;
	}
	if (sent && amp_driver_ok(c))
		rproc_vq_interrupt(c->rproc, c->notifyid[0]);
}

static void amp_crash(struct amp_core *c)
{
	dev_info(&c->rproc->dev, "ampsim: %s crashes\n", c->rproc->name);
	c->dead = true;
	rproc_report_crash(c->rproc, RPROC_FATAL_ERROR);
}

/* ---- the apps (behaviour spec: docs/openamp-demos.md) ----------------- */

/*
 * rpc: rpc_demo.c on rpmsg_retarget.c and newlib, as tests/sim/firmware_apps.cpp
 * (RpcApp) models it, written as straight-line C like the demo itself. The
 * demo runs in this kthread: every system call sends one request and then
 * polls the vrings (amp_rpc_pump) until the next message arrives, which is
 * the reply, as rpmsg_rpc_send() does. stdout is newlib's line-buffered FILE
 * (one WRITE per completed line, BUFSIZ 1024), stdin is refilled by one
 * READ(0, 1024) and keeps what scanf() left, a READ returning 0 is a sticky
 * EOF. A stop (kthread_stop) or a vdev reset aborts the demo (c->abort).
 */
enum { RPC_OPEN = 1, RPC_CLOSE = 2, RPC_WRITE = 3, RPC_READ = 4, RPC_TERM = 6 };
#define RPC_BUFSIZ 1024
#define RPC_EINVAL 22
#define RPC_IDLE_PASSES 3
#define RPC_UNGET_ROOM 64

static void amp_poll_tx(struct amp_core *c);
static void amp_flush(struct amp_core *c);

/* one turn of the remote's main loop while the demo blocks in a call */
static void amp_rpc_pump(struct amp_core *c)
{
	wait_event_interruptible_timeout(c->wq, READ_ONCE(c->kicked) || kthread_should_stop(),
					 msecs_to_jiffies(10));
	WRITE_ONCE(c->kicked, false);
	if (kthread_should_stop() || c->dead || !amp_driver_ok(c)) {
		if (!amp_driver_ok(c))
			c->dead = true; /* vdev reset: never touch the rings again */
		c->abort = true;
		return;
	}
	amp_poll_tx(c);
	if (!c->dead)
		amp_flush(c);
}

static void amp_rpc_req(u8 *buf, u32 id, s32 f1, s32 f2, u32 dlen)
{
	put_unaligned_le32(id, buf);
	put_unaligned_le32((u32)f1, buf + 4);
	put_unaligned_le32((u32)f2, buf + 8);
	put_unaligned_le32(dlen, buf + 12);
}

/* rpmsg_rpc_send() with a response buffer of `cap` bytes: send, then poll
 * until the next message (whatever it is) is in c->resp, zero-filled */
static bool amp_rpc_call(struct amp_core *c, const u8 *req, size_t len, size_t cap)
{
	if (c->abort)
		return false;
	memset(c->resp, 0, sizeof(c->resp));
	c->resp_cap = min_t(size_t, cap, sizeof(c->resp));
	c->resp_got = 0;
	c->waiting = true;
	c->rpc_held = false;
	amp_reply(c, req, len);
	while (c->waiting && !c->abort)
		amp_rpc_pump(c);
	return !c->abort;
}

/* `resp.id == X ? resp.args.int_field1 : -EINVAL` */
static int amp_rpc_result(struct amp_core *c, u32 id)
{
	if (c->abort)
		return -RPC_EINVAL;
	if (get_unaligned_le32(c->resp) != id)
		return -RPC_EINVAL;
	return (s32)get_unaligned_le32(c->resp + 4);
}

static int amp_sys_open(struct amp_core *c, const char *path, s32 flags, s32 mode)
{
	u8 req[AMP_MAX_PAYLOAD];
	size_t len = strlen(path) + 1;

	if (AMP_HDR_LEN + len > AMP_MAX_PAYLOAD)
		return -RPC_EINVAL;
	amp_rpc_req(req, RPC_OPEN, flags, mode, len);
	memcpy(req + AMP_HDR_LEN, path, len);
	amp_rpc_call(c, req, AMP_HDR_LEN + len, AMP_HDR_LEN);
	return amp_rpc_result(c, RPC_OPEN);
}

static int amp_sys_close(struct amp_core *c, s32 fd)
{
	u8 req[AMP_HDR_LEN];

	amp_rpc_req(req, RPC_CLOSE, fd, 0, 0);
	amp_rpc_call(c, req, sizeof(req), AMP_HDR_LEN);
	return amp_rpc_result(c, RPC_CLOSE);
}

/* _write(): fd 1 gets a trailing NUL (data_len = len + 1); what does not
 * fit one message is refused with -EINVAL, unsent */
static int amp_sys_write(struct amp_core *c, s32 fd, const void *data, size_t len)
{
	u8 req[AMP_MAX_PAYLOAD];
	size_t nul = fd == 1 ? 1 : 0;

	if (len > AMP_MAX_PAYLOAD - AMP_HDR_LEN - nul)
		return -RPC_EINVAL;
	amp_rpc_req(req, RPC_WRITE, fd, len, len + nul);
	memcpy(req + AMP_HDR_LEN, data, len);
	if (nul)
		req[AMP_HDR_LEN + len] = 0;
	amp_rpc_call(c, req, AMP_HDR_LEN + len + nul, AMP_HDR_LEN);
	return amp_rpc_result(c, RPC_WRITE);
}

/* _read(): data copied only when int_field1 > 0, clamped to the message
 * (480) and to buflen; returns int_field1 whatever was copied */
static int amp_sys_read(struct amp_core *c, s32 fd, s32 buflen, u8 *out, size_t *outlen)
{
	u8 req[AMP_HDR_LEN];
	int ret;

	*outlen = 0;
	amp_rpc_req(req, RPC_READ, fd, buflen, 0);
	amp_rpc_call(c, req, sizeof(req), AMP_MAX_PAYLOAD);
	ret = amp_rpc_result(c, RPC_READ);
	if (!c->abort && get_unaligned_le32(c->resp) == RPC_READ && ret > 0) {
		size_t len = get_unaligned_le32(c->resp + 12);

		len = min_t(size_t, len, AMP_MAX_PAYLOAD - AMP_HDR_LEN);
		len = min_t(size_t, len, buflen);
		memcpy(out, c->resp + AMP_HDR_LEN, len);
		*outlen = len;
	}
	return ret;
}

/* newlib __sflush_r() on stdout */
static void amp_rpc_flush(struct amp_core *c)
{
	size_t off = 0;

	while (off < c->out_len && !c->abort) {
		int t = amp_sys_write(c, 1, c->stdout_buf + off, c->out_len - off);

		if (t <= 0)
			break; /* error flag: what was buffered is dropped */
		off += t;
	}
	c->out_len = 0;
}

/* printf() to a line-buffered stdout */
static void amp_rpc_print(struct amp_core *c, const char *s)
{
	for (; *s && !c->abort; s++) {
		c->stdout_buf[c->out_len++] = *s;
		if (*s == '\n' || c->out_len >= RPC_BUFSIZ)
			amp_rpc_flush(c);
	}
}

static __printf(2, 3) void amp_rpc_printf(struct amp_core *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->line, sizeof(c->line), fmt, ap);
	va_end(ap);
	amp_rpc_print(c, c->line);
}

/* the next stdin byte without consuming it, -1 at EOF or error (__srefill_r) */
static int amp_rpc_peekc(struct amp_core *c)
{
	while (c->in_pos == c->in_end) {
		u8 *data = c->readbuf;
		size_t got;
		int r;

		if (c->in_eof || c->abort)
			return -1;
		if (c->out_len)
			amp_rpc_flush(c);
		memset(data, 0, sizeof(c->readbuf));
		r = amp_sys_read(c, 0, RPC_BUFSIZ, data, &got);
		if (c->abort)
			return -1;
		if (r <= 0) {
			if (r == 0)
				c->in_eof = true;
			return -1;
		}
		/* newlib trusts the count: missing bytes read as zero here */
		r = min(r, RPC_BUFSIZ);
		c->in_pos = RPC_UNGET_ROOM;
		memcpy(c->in + c->in_pos, data, r);
		c->in_end = c->in_pos + r;
		c->console_bytes += r;
	}
	return (u8)c->in[c->in_pos];
}

static void amp_rpc_pop(struct amp_core *c)
{
	c->in_pos++;
}

/* ungetc() of what a failed conversion looked at */
static void amp_rpc_unget(struct amp_core *c, const char *s, size_t n)
{
	if (c->in_pos < n) {
		size_t room = min_t(size_t, n - c->in_pos, sizeof(c->in) - c->in_end);

		memmove(c->in + c->in_pos + room, c->in + c->in_pos, c->in_end - c->in_pos);
		c->in_pos += room;
		c->in_end += room;
		n = min_t(size_t, n, c->in_pos);
	}
	c->in_pos -= n;
	memcpy(c->in + c->in_pos, s, n);
}

static bool amp_rpc_isspace(int ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static bool amp_rpc_isdigit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int amp_rpc_skipspace(struct amp_core *c)
{
	for (;;) {
		int ch = amp_rpc_peekc(c);

		if (ch < 0)
			return 0;
		if (!amp_rpc_isspace(ch))
			return 1;
		amp_rpc_pop(c);
	}
}

/* scanf("%s", ubuff): -1 if input ends before a word, else 1 (char[50]) */
static int amp_rpc_scan_word(struct amp_core *c, char *out)
{
	size_t n = 0, total = 0;
	int ch;

	if (!amp_rpc_skipspace(c))
		return -1;
	for (;;) {
		ch = amp_rpc_peekc(c);
		if (ch < 0 || amp_rpc_isspace(ch) || total >= RPC_BUFSIZ)
			break;
		if (n < 49)
			out[n++] = ch;
		total++;
		amp_rpc_pop(c);
	}
	out[n] = 0; /* strcmp() and %s see up to the first NUL */
	return 1;
}

/* scanf("%d"): 1, 0 (no number, the input stays) or -1; saturating */
static int amp_rpc_scan_int(struct amp_core *c, int *out)
{
	char num[40];
	size_t n = 0;
	bool digits = false, neg = false;
	s64 v = 0;
	int ch, i;

	if (!amp_rpc_skipspace(c))
		return -1;
	ch = amp_rpc_peekc(c);
	if (ch == '+' || ch == '-') {
		num[n++] = ch;
		amp_rpc_pop(c);
	}
	for (;;) {
		ch = amp_rpc_peekc(c);
		if (!amp_rpc_isdigit(ch) || n >= 39)
			break;
		num[n++] = ch;
		amp_rpc_pop(c);
		digits = true;
	}
	if (!digits) {
		amp_rpc_unget(c, num, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (num[i] == '-')
			neg = true;
		else if (amp_rpc_isdigit(num[i]) && v <= (s64)S32_MAX + 1)
			v = v * 10 + (num[i] - '0');
	}
	if (neg)
		v = -v;
	*out = clamp_t(s64, v, S32_MIN, S32_MAX);
	return 1;
}

/*
 * strtof() then printf("%f") of the float, in integer arithmetic: the
 * decimal is rounded (to nearest, ties to even) to a 24-bit binary
 * mantissa, and that exact binary value is printed with 6 decimals, ties to
 * even, as newlib's dtoa does. Exact for up to 19 significant digits and
 * decimal exponents within +-18 of the point (anything a user types here);
 * beyond that the value saturates ("inf") or goes to zero.
 */
/* *v /= d, returns the remainder (the kernel has no 128-bit division) */
static u32 amp_u128_divmod(unsigned __int128 *v, u32 d)
{
	unsigned __int128 q = 0;
	u64 r = 0;
	int i;

	for (i = 3; i >= 0; i--) {
		u64 cur = (r << 32) | (u32)(*v >> (32 * i));

		q |= (unsigned __int128)(cur / d) << (32 * i);
		r = cur % d;
	}
	*v = q;
	return r;
}

static void amp_rpc_u128_str(unsigned __int128 v, char *out)
{
	char tmp[48];
	int n = 0;

	do {
		tmp[n++] = '0' + amp_u128_divmod(&v, 10);
	} while (v);
	while (n)
		*out++ = tmp[--n];
	*out = 0;
}

static void amp_rpc_float_str(const char *num, char *out, size_t outsz)
{
	typedef unsigned __int128 u128;
	bool neg = false, dot = false;
	u64 m = 0;
	int e10 = 0, sig = 0, e2 = 0, esign = 1, ex = 0, i;
	u128 nn, dd, q, r;
	char ip[48];
	const char *s = num;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s && *s != 'e' && *s != 'E'; s++) {
		if (*s == '.') {
			dot = true;
			continue;
		}
		if (!m && *s == '0') {
			if (dot)
				e10--;
			continue;
		}
		if (sig < 19) {
			m = m * 10 + (*s - '0');
			sig++;
			if (dot)
				e10--;
		} else if (!dot) {
			e10++;
		}
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			esign = *s++ == '-' ? -1 : 1;
		for (; amp_rpc_isdigit(*s); s++)
			ex = min(ex * 10 + (*s - '0'), 1000);
		e10 += esign * ex;
	}
	if (!m) {
		snprintf(out, outsz, "%s0.000000", neg ? "-" : "");
		return;
	}
	if (e10 > 18 + 19 - sig || e10 < -18 - 19) {
		snprintf(out, outsz, e10 > 0 ? "%sinf" : "%s0.000000", neg ? "-" : "");
		return;
	}
	/* value = nn / dd; find e2 with 2^23 <= nn / (dd * 2^e2) < 2^24 */
	nn = m;
	dd = 1;
	for (; e10 > 0; e10--)
		nn *= 10;
	for (; e10 < 0; e10++)
		dd *= 10;
	while (nn >= dd << 24) {
		if (dd >> 100) {
			nn >>= 1;
			e2++;
			continue;
		}
		dd <<= 1;
		e2++;
	}
	while (nn < dd << 23) {
		nn <<= 1;
		e2--;
	}
	/* q = nn / dd, r = nn % dd by long division: q < 2^24 */
	q = 0;
	r = nn;
	for (i = 23; i >= 0; i--) {
		if (r >= dd << i) {
			r -= dd << i;
			q |= (u128)1 << i;
		}
	}
	if (2 * r > dd || (2 * r == dd && (q & 1)))
		q++;
	if (q >> 24) {
		q >>= 1;
		e2++;
	}
	if (e2 + 23 > 127) {
		snprintf(out, outsz, "%sinf", neg ? "-" : "");
		return;
	}
	/* the float is q * 2^e2 (subnormals: far below what %f shows) */
	if (e2 >= 0) {
		amp_rpc_u128_str(q << e2, ip);
		snprintf(out, outsz, "%s%s.000000", neg ? "-" : "", ip);
		return;
	}
	if (-e2 > 120) {
		snprintf(out, outsz, "%s0.000000", neg ? "-" : "");
		return;
	}
	nn = q * 1000000; /* < 2^44 */
	r = nn & (((u128)1 << -e2) - 1);
	nn >>= -e2;
	if (2 * r > ((u128)1 << -e2) || (2 * r == ((u128)1 << -e2) && (nn & 1)))
		nn++;
	snprintf(out, outsz, "%s%llu.%06llu", neg ? "-" : "", (unsigned long long)((u64)nn / 1000000),
		 (unsigned long long)((u64)nn % 1000000));
}

/* scanf("%f"): [sign] digits [. digits] [e [sign] digits]; 1, 0 or -1 */
static int amp_rpc_scan_float(struct amp_core *c, char *out, size_t outsz)
{
	char num[48], ex[9];
	size_t n = 0, en = 0;
	bool digits = false, dot = false, exdigits = false;
	int ch;

	if (!amp_rpc_skipspace(c))
		return -1;
	ch = amp_rpc_peekc(c);
	if (ch == '+' || ch == '-') {
		num[n++] = ch;
		amp_rpc_pop(c);
	}
	for (;;) {
		ch = amp_rpc_peekc(c);
		if (n >= 39)
			break;
		if (amp_rpc_isdigit(ch))
			digits = true;
		else if (ch == '.' && !dot)
			dot = true;
		else
			break;
		num[n++] = ch;
		amp_rpc_pop(c);
	}
	if (!digits) {
		amp_rpc_unget(c, num, n);
		return 0;
	}
	ch = amp_rpc_peekc(c);
	if (ch == 'e' || ch == 'E') {
		ex[en++] = ch;
		amp_rpc_pop(c);
		ch = amp_rpc_peekc(c);
		if (ch == '+' || ch == '-') {
			ex[en++] = ch;
			amp_rpc_pop(c);
		}
		for (;;) {
			ch = amp_rpc_peekc(c);
			if (!amp_rpc_isdigit(ch) || en >= 8)
				break;
			ex[en++] = ch;
			amp_rpc_pop(c);
			exdigits = true;
		}
		if (exdigits) {
			memcpy(num + n, ex, en);
			n += en;
		} else {
			amp_rpc_unget(c, ex, en); /* "1e" is 1 followed by "e" */
		}
	}
	num[n] = 0;
	amp_rpc_float_str(num, out, outsz);
	return 1;
}

/* app() of rpc_demo.c, after rpmsg_rpc_init() */
static void amp_rpc_demo(struct amp_core *c)
{
	static const char fname[] = "remote.file";
	static const char wbuff[] = "This is a test string being written to file..";
	u8 *rbuff = c->rbuff;
	char ubuff[50] = "", pi[64] = "";
	int fd, written, bytes, idata = 0, ret, idle = 0;
	size_t got;
	s64 nul;

	amp_rpc_print(c, "\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n");
	amp_rpc_print(c, "\nRemote>***************************************************\r\n");
	amp_rpc_print(c, "\nRemote>Rpmsg based retargetting to proxy initialized..\r\n");
	amp_rpc_print(c, "\nRemote>FileIO demo ..\r\n");
	amp_rpc_print(c, "\nRemote>Creating a file on master and writing to it..\r\n");
	fd = amp_sys_open(c, fname, 0100 | 01 | 02000, 0600);
	amp_rpc_printf(c, "\nRemote>Opened file '%s' with fd = %d\r\n", fname, fd);
	written = amp_sys_write(c, fd, wbuff, strlen(wbuff));
	amp_rpc_printf(c, "\nRemote>Wrote to fd = %d, size = %d, content = %s\r\n", fd, written, wbuff);
	amp_sys_close(c, fd);
	amp_rpc_printf(c, "\nRemote>Closed fd = %d\r\n", fd);

	amp_rpc_print(c, "\nRemote>Reading a file on master and displaying its contents..\r\n");
	fd = amp_sys_open(c, fname, 0, 0600);
	amp_rpc_printf(c, "\nRemote>Opened file '%s' with fd = %d\r\n", fname, fd);
	memset(rbuff, 0, sizeof(c->rbuff));
	bytes = amp_sys_read(c, fd, 1024, rbuff, &got); /* one read(): at most 480 */
	nul = (s64)bytes + 1; /* the demo's off-by-one NUL, where it lands inside */
	if (nul >= 0 && nul < sizeof(c->rbuff))
		rbuff[nul] = 0;
	rbuff[sizeof(c->rbuff) - 1] = 0;
	amp_rpc_printf(c, "\nRemote>Read from fd = %d, size = %d, printing contents below .. %s\r\n",
		       fd, bytes, (char *)rbuff);
	amp_sys_close(c, fd);
	amp_rpc_printf(c, "\nRemote>Closed fd = %d\r\n", fd);

	/* the real loop ends only on "no"; after RPC_IDLE_PASSES passes that
	 * read nothing it ends as "no" would (as the simulator does) */
	while (!c->abort) {
		size_t before = c->console_bytes;

		amp_rpc_print(c, "\nRemote>Remote firmware using scanf and printf ..\r\n");
		amp_rpc_print(c, "\nRemote>Scanning user input from master..\r\n");
		amp_rpc_print(c, "\nRemote>Enter name\r\n");
		ret = amp_rpc_scan_word(c, ubuff);
		if (ret) {
			amp_rpc_print(c, "\nRemote>Enter age\r\n");
			ret = amp_rpc_scan_int(c, &idata);
			if (ret) {
				amp_rpc_print(c, "\nRemote>Enter value for pi\r\n");
				ret = amp_rpc_scan_float(c, pi, sizeof(pi));
				if (ret) {
					amp_rpc_printf(c, "\nRemote>User name = '%s'\r\n", ubuff);
					amp_rpc_printf(c, "\nRemote>User age = '%d'\r\n", idata);
					amp_rpc_printf(c, "\nRemote>User entered value of pi = '%s'\r\n", pi);
				}
			}
		}
		if (!ret) {
			amp_rpc_scan_word(c, ubuff);
			amp_rpc_print(c, "Remote> Invalid value. Starting again....");
		} else {
			amp_rpc_print(c, "\nRemote>Repeat demo ? (enter yes or no) \r\n");
			amp_rpc_scan_word(c, ubuff);
			if (strcmp(ubuff, "no") && strcmp(ubuff, "yes")) {
				amp_rpc_print(c, "\nRemote>Invalid option. Starting again....\r\n");
			} else if (!strcmp(ubuff, "no")) {
				amp_rpc_print(c, "\nRemote>RPC retargetting quitting ...\r\n");
				break;
			}
		}
		if (c->console_bytes != before)
			idle = 0;
		else if (++idle >= RPC_IDLE_PASSES)
			break;
	}
	if (c->abort)
		return;
	amp_rpc_print(c, "\nRemote> Firmware's rpmsg-rpc-channel going down! \r\n");
	if (c->abort)
		return;
	/* TERM, no reply awaited; then rpmsg_destroy_ept() */
	amp_rpc_req(rbuff, RPC_TERM, 0, 0, 0);
	amp_reply(c, rbuff, AMP_HDR_LEN);
	amp_ns(c, 1);
	c->quiet = true;
}

/*
 * rpcprobe: a hostile proxy remote, as tests/sim/firmware_apps.cpp (ProbeApp)
 * runs it, line for line the same console output (WRITE to fd 1): after the
 * rpc demo's start it attacks the host's proxy one request at a time, each
 * reply awaited; garbage the protocol has no reply to is followed by a CLOSE
 * of fd 0, whose answer (0) must be the next message that comes.
 */
#define RPC_O_RDONLY 0
#define RPC_O_WRONLY 01
#define RPC_O_RDWR 02
#define RPC_O_CREAT 0100
#define RPC_O_TRUNC 01000

static __printf(2, 3) void amp_probe_say(struct amp_core *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->line, sizeof(c->line) - 1, fmt, ap);
	va_end(ap);
	n = min_t(int, n, sizeof(c->line) - 2);
	c->line[n++] = '\n';
	c->line[n] = 0;
	amp_sys_write(c, 1, c->line, n);
}

/* a message as it is; its reply's result (-EINVAL: a reply of another id) */
static int amp_probe_raw(struct amp_core *c, const u8 *msg, size_t len, u32 id)
{
	amp_rpc_call(c, msg, len, AMP_HDR_LEN);
	return amp_rpc_result(c, id);
}

/* a message with no reply in the protocol, then CLOSE of fd 0 (0) */
static const char *amp_probe_noreply(struct amp_core *c, const u8 *msg, size_t len, char *out, size_t outsz)
{
	u8 req[AMP_HDR_LEN];
	u32 id;
	s32 v;

	if (c->abort)
		return "aborted";
	amp_reply(c, msg, len);
	amp_rpc_req(req, RPC_CLOSE, 0, 0, 0);
	amp_rpc_call(c, req, sizeof(req), AMP_HDR_LEN);
	id = get_unaligned_le32(c->resp);
	v = (s32)get_unaligned_le32(c->resp + 4);
	if (id == RPC_CLOSE && v == 0)
		return "no reply";
	snprintf(out, outsz, "reply id %u result %d", id, v);
	return out;
}

static void amp_rpcprobe(struct amp_core *c)
{
	static const char * const trav[] = { "../../etc/passwd", "/etc/passwd" };
	static const char text[] = "rpcprobe readback: the proxy kept this intact";
	/* the demo's buffers, unused here: the stack stays small */
	u8 *msg = c->rbuff;
	char *data = (char *)c->readbuf, why[64];
	int i, r, g, w, rd, c1, c2, fd, fd2, opened = 0, refused = 0, other = 0, closed = 0;
	size_t got;
	u32 dlen;

	amp_probe_say(c, "probe start");

	/* traversal, flags, mode */
	for (i = 0; i < ARRAY_SIZE(trav); i++) {
		r = amp_sys_open(c, trav[i], RPC_O_RDONLY, 0);
		amp_probe_say(c, "probe open %s = %d", trav[i], r);
	}
	r = amp_sys_open(c, "escape", RPC_O_WRONLY | RPC_O_CREAT | RPC_O_TRUNC, 0644);
	amp_probe_say(c, "probe open escape = %d", r);
	r = amp_sys_open(c, "sub/../../outside", RPC_O_WRONLY | RPC_O_CREAT, 0644);
	amp_probe_say(c, "probe open sub/../../outside = %d", r);
	r = amp_sys_open(c, "probe-flags", 0x7ff00000 | RPC_O_CREAT | RPC_O_WRONLY, 0600);
	amp_probe_say(c, "probe open flags 0x7ff00041 = %d", r);
	r = amp_sys_open(c, "probe-mode", RPC_O_CREAT | RPC_O_WRONLY, 0x7fffffff);
	amp_probe_say(c, "probe open mode 0x7fffffff = %d", r);

	/* garbage */
	g = amp_sys_open(c, "probe-garbage", RPC_O_RDWR | RPC_O_CREAT | RPC_O_TRUNC, 0600);
	w = amp_sys_write(c, g, "0123456789", 10);
	rd = amp_sys_open(c, "probe-garbage", RPC_O_RDONLY, 0);
	if (g >= 3 && w == 10 && rd >= 3)
		amp_probe_say(c, "probe garbage setup = ok");
	else
		amp_probe_say(c, "probe garbage setup = FAIL fd %d write %d fd %d", g, w, rd);

	amp_probe_say(c, "probe garbage empty = %s", amp_probe_noreply(c, msg, 0, why, sizeof(why)));
	msg[0] = RPC_OPEN;
	msg[1] = msg[2] = 0;
	amp_probe_say(c, "probe garbage short-3 = %s", amp_probe_noreply(c, msg, 3, why, sizeof(why)));
	memset(msg, 0, 8);
	msg[0] = RPC_OPEN;
	r = amp_probe_raw(c, msg, 8, RPC_OPEN);
	amp_probe_say(c, "probe garbage truncated-header = %d", r);
	amp_rpc_req(msg, 99, 0, 0, 0);
	amp_probe_say(c, "probe garbage unknown-id = %s", amp_probe_noreply(c, msg, AMP_HDR_LEN, why, sizeof(why)));
	amp_rpc_req(msg, RPC_OPEN, RPC_O_RDONLY, 0, 400);
	memcpy(msg + AMP_HDR_LEN, "probe-ok", 9);
	r = amp_probe_raw(c, msg, AMP_HDR_LEN + 9, RPC_OPEN);
	amp_probe_say(c, "probe garbage open-datalen = %d", r);
	amp_rpc_req(msg, RPC_OPEN, RPC_O_RDONLY, 0, AMP_MAX_PAYLOAD - AMP_HDR_LEN);
	memset(msg + AMP_HDR_LEN, 'A', AMP_MAX_PAYLOAD - AMP_HDR_LEN);
	r = amp_probe_raw(c, msg, AMP_MAX_PAYLOAD, RPC_OPEN);
	amp_probe_say(c, "probe garbage open-max-size = %d", r);
	/* READ of 2^31-1 bytes: at most one message comes back */
	amp_rpc_req(msg, RPC_READ, rd, 0x7fffffff, 0);
	amp_rpc_call(c, msg, AMP_HDR_LEN, AMP_MAX_PAYLOAD);
	r = amp_rpc_result(c, RPC_READ);
	dlen = get_unaligned_le32(c->resp + 12);
	got = c->resp_got > AMP_HDR_LEN ? min_t(size_t, c->resp_got, AMP_MAX_PAYLOAD) - AMP_HDR_LEN : 0;
	got = min_t(size_t, got, dlen);
	memcpy(data, c->resp + AMP_HDR_LEN, got);
	data[got] = 0;
	amp_probe_say(c, "probe garbage read-huge = %d data_len %u message %zu data %s", r, dlen, c->resp_got, data);
	amp_rpc_req(msg, RPC_READ, rd, -1, 0);
	r = amp_probe_raw(c, msg, AMP_HDR_LEN, RPC_READ);
	amp_probe_say(c, "probe garbage read-negative = %d", r);
	amp_rpc_req(msg, RPC_WRITE, g, 100, 10);
	memcpy(msg + AMP_HDR_LEN, "ABCDEFGHIJ", 10);
	r = amp_probe_raw(c, msg, AMP_HDR_LEN + 10, RPC_WRITE);
	amp_probe_say(c, "probe garbage write-length = %d", r);
	amp_rpc_req(msg, RPC_WRITE, g, 10, 1000);
	memcpy(msg + AMP_HDR_LEN, "ABCDEFGHIJ", 10);
	r = amp_probe_raw(c, msg, AMP_HDR_LEN + 10, RPC_WRITE);
	amp_probe_say(c, "probe garbage write-datalen = %d", r);
	r = amp_sys_close(c, 77);
	amp_probe_say(c, "probe garbage close-unopened = %d", r);
	amp_rpc_req(msg, RPC_READ, 1000, 16, 0);
	r = amp_probe_raw(c, msg, AMP_HDR_LEN, RPC_READ);
	amp_probe_say(c, "probe garbage read-unopened = %d", r);
	c1 = amp_sys_close(c, rd);
	c2 = amp_sys_close(c, g);
	amp_probe_say(c, "probe garbage cleanup = %s", c1 == 0 && c2 == 0 ? "ok" : "FAIL");

	/* the cap */
	for (i = 0; i < AMP_PROBE_OPENS && !c->abort; i++) {
		snprintf(why, sizeof(why), "probe-%d", i);
		fd = amp_sys_open(c, why, RPC_O_CREAT | RPC_O_WRONLY, 0600);
		if (fd >= 0)
			c->probe_fds[opened++] = fd;
		else if (fd == -1)
			refused++;
		else
			other++;
	}
	for (i = 0; i < opened; i++)
		if (amp_sys_close(c, c->probe_fds[i]) == 0)
			closed++;
	amp_probe_say(c, "probe cap opened=%d refused=%d closed=%d", opened, refused, closed);
	if (other)
		amp_probe_say(c, "probe cap other=%d", other);

	/* a normal session still works */
	fd = amp_sys_open(c, "probe-ok", RPC_O_WRONLY | RPC_O_CREAT | RPC_O_TRUNC, 0600);
	w = amp_sys_write(c, fd, text, strlen(text));
	c1 = amp_sys_close(c, fd);
	fd2 = amp_sys_open(c, "probe-ok", RPC_O_RDONLY, 0);
	memset(data, 0, sizeof(c->readbuf));
	r = amp_sys_read(c, fd2, 480, (u8 *)data, &got);
	data[min_t(size_t, got, sizeof(c->readbuf) - 1)] = 0;
	c2 = amp_sys_close(c, fd2);
	if (fd >= 3 && w == (int)strlen(text) && c1 == 0 && fd2 >= 3 && r == (int)strlen(text) && got == strlen(text) &&
	    !strcmp(data, text) && c2 == 0)
		amp_probe_say(c, "probe readback ok");
	else
		amp_probe_say(c, "probe readback FAIL fd %d write %d close %d fd %d read %d close %d",
			      fd, w, c1, fd2, r, c2);
	amp_probe_say(c, "probe done");
	if (c->abort)
		return;
	/* TERM, no reply awaited; then rpmsg_destroy_ept() */
	amp_rpc_req(msg, RPC_TERM, 0, 0, 0);
	amp_reply(c, msg, AMP_HDR_LEN);
	amp_ns(c, 1);
	c->quiet = true;
}

static void amp_matmul(struct amp_core *c, const u8 *d, size_t len)
{
	u32 a[1 + 36] = {}, b[1 + 36] = {}, p[1 + 36] = {};
	u32 n, i, j, k;

	for (i = 0; i < 37; i++) {
		if (4 * i + 4 <= len)
			a[i] = get_unaligned_le32(d + 4 * i);
		if (148 + 4 * i + 4 <= len)
			b[i] = get_unaligned_le32(d + 148 + 4 * i);
	}
	/* Matrix_Multiply(): r->size = m->size; i < m->size, j < n->size,
	 * k < r->size, unsigned; the simulator (MatmulApp) stops at 6 */
	n = min_t(u32, a[0], 6);
	p[0] = a[0];
	for (i = 0; i < n; i++)
		for (j = 0; j < min_t(u32, b[0], 6); j++)
			for (k = 0; k < n; k++)
				p[1 + i * 6 + j] += a[1 + i * 6 + k] * b[1 + k * 6 + j];
	for (i = 0; i < 37; i++)
		p[i] = cpu_to_le32(p[i]);
	amp_reply(c, p, sizeof(p));
}

static void amp_receive(struct amp_core *c, u32 src, u32 dst, const u8 *d, size_t len)
{
	if (dst != c->m.announce_addr || c->quiet || c->dead)
		return; /* no such endpoint: OpenAMP drops it */
	if (c->dest == RPMSG_ADDR_ANY || (c->m.flags & AMPSIM_FW_REPLY_TO_SENDER))
		c->dest = src;
	c->nmsgs++;
	if (c->app == APP_HANG)
		return;
	if (c->app == APP_RPC || c->app == APP_RPCPROBE) {
		/* rpmsg_rpc_ept_cb(): TERM destroys the endpoint and wakes no
		 * one (the demo then waits forever); the first message lets
		 * rpmsg_rpc_init() return; later ones are the awaited reply */
		if (len >= 4 && get_unaligned_le32(d) == RPC_TERM) {
			c->waiting = false;
			c->rpc_go = false;
			c->rpc_done = true;
			amp_ns(c, 1);
			c->quiet = true;
		} else if (!c->rpc_go && !c->rpc_done) {
			c->rpc_go = true;
			c->rpc_held = true;
		} else if (c->waiting) {
			memcpy(c->resp, d, min(len, c->resp_cap));
			c->resp_got = len;
			c->waiting = false;
			c->rpc_held = true;
		}
		return;
	}
	if (len >= 4 && get_unaligned_le32(d) == AMPSIM_SHUTDOWN_WORD) {
		amp_ns(c, 1); /* queued after pending (slow) replies */
		c->quiet = true;
		return;
	}
	if (c->app == APP_MATMUL)
		amp_matmul(c, d, len);
	else
		amp_reply(c, d, len);
	/* crash: after echoing the n-th message */
	if (c->app == APP_CRASH && c->m.crash_after_msgs && c->nmsgs >= c->m.crash_after_msgs) {
		amp_flush(c);
		amp_crash(c);
	}
}

/* consume Linux's tx buffers (vring 1) */
static void amp_poll_tx(struct amp_core *c)
{
	struct vring *vr = &c->vr[1];
	u8 buf[AMP_HDR_LEN + AMP_MAX_PAYLOAD];
	bool got = false;

	while (amp_driver_ok(c) && !c->dead && c->last_avail[1] != READ_ONCE(vr->avail->idx)) {
		/* rpc: one message at a time, as the simulator delivers them:
		 * the next stays in the ring until the demo made its next call */
		if ((c->app == APP_RPC || c->app == APP_RPCPROBE) && c->rpc_held)
			break;
		struct amp_rpmsg_hdr *h = (void *)buf;
		struct vring_desc *d;
		u16 head, used;
		u32 len;

		virt_rmb();
		head = vr->avail->ring[c->last_avail[1] % vr->num];
		d = &vr->desc[head % vr->num];
		len = min_t(u32, d->len, sizeof(buf));
		memcpy(buf, phys_to_virt(d->addr), len);
		used = vr->used->idx;
		vr->used->ring[used % vr->num].id = head;
		vr->used->ring[used % vr->num].len = d->len;
		virt_wmb();
		WRITE_ONCE(vr->used->idx, used + 1);
		c->last_avail[1]++;
		got = true;
		if (len < AMP_HDR_LEN)
			continue;
		amp_receive(c, le32_to_cpu(h->src), le32_to_cpu(h->dst), buf + AMP_HDR_LEN,
			    min_t(u32, le16_to_cpu(h->len), len - AMP_HDR_LEN));
	}
	if (got && !c->dead && amp_driver_ok(c))
		rproc_vq_interrupt(c->rproc, c->notifyid[1]);
}

static enum amp_app amp_app_of(const struct ampsim_fw_marker *m)
{
	static const char *const names[] = {
		[APP_SILENT] = "silent", [APP_ECHO] = "echo", [APP_MATMUL] = "matmul",
		[APP_RPC] = "rpc", [APP_CRASH] = "crash", [APP_HANG] = "hang",
		[APP_SLOW] = "slow", [APP_NORSC] = "norsc", [APP_RPCPROBE] = "rpcprobe",
	};
	int i;

	if (memcmp(m->magic, AMPSIM_FW_MAGIC, AMPSIM_FW_MAGIC_LEN) || m->version != AMPSIM_FW_VERSION)
		return APP_SILENT;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(m->app, names[i], sizeof(m->app)))
			return i;
	return APP_SILENT;
}

static int amp_remote(void *arg)
{
	struct amp_core *c = arg;
	struct amp_out *o, *n;

	while (!kthread_should_stop()) {
		wait_event_interruptible_timeout(c->wq, READ_ONCE(c->kicked) || kthread_should_stop(),
						 msecs_to_jiffies(10));
		WRITE_ONCE(c->kicked, false);
		if (READ_ONCE(c->crash_req)) {
			WRITE_ONCE(c->crash_req, false);
			if (!c->dead)
				amp_crash(c);
		}
		if (c->dead || c->app == APP_SILENT || c->app == APP_NORSC)
			continue;
		if (!c->ready) {
			if (amp_driver_ok(c)) {
				amp_setup_rings(c);
				amp_ns(c, 0);
				c->crash_at = jiffies + msecs_to_jiffies(c->m.crash_after_ms);
			}
		} else if (!amp_driver_ok(c)) {
			c->dead = true; /* vdev reset: never touch the rings again */
			continue;
		}
		if (!c->ready)
			continue;
		if (c->app == APP_CRASH && c->m.crash_after_ms && !c->quiet &&
		    time_after_eq(jiffies, c->crash_at)) {
			amp_crash(c);
			continue;
		}
		amp_poll_tx(c);
		if (!c->dead)
			amp_flush(c);
		if ((c->app == APP_RPC || c->app == APP_RPCPROBE) && c->rpc_go && !c->rpc_done && !c->dead) {
			c->rpc_done = true;
			/* return when done, or aborted by a stop */
			if (c->app == APP_RPC)
				amp_rpc_demo(c);
			else
				amp_rpcprobe(c);
			c->rpc_held = false;
			if (!c->dead)
				amp_flush(c);
		}
	}
	list_for_each_entry_safe(o, n, &c->out, node)
		kfree(o);
	INIT_LIST_HEAD(&c->out);
	return 0;
}

static int amp_start(struct rproc *rproc)
{
	struct amp_core *c = rproc->priv;
	void *mk = c->marker_da ? amp_da_to_va(rproc, c->marker_da, sizeof(c->m), NULL) : NULL;

	memset(&c->m, 0, sizeof(c->m));
	if (mk)
		memcpy(&c->m, mk, sizeof(c->m));
	c->m.service[sizeof(c->m.service) - 1] = 0;
	c->app = amp_app_of(&c->m);
	c->vdev = amp_find_vdev(c);
	if (!c->vdev && c->app != APP_SILENT)
		c->app = APP_NORSC;
	c->ready = c->dead = c->quiet = false;
	c->dest = RPMSG_ADDR_ANY;
	c->nmsgs = 0;
	c->rpc_go = c->rpc_done = c->rpc_held = c->waiting = c->abort = c->in_eof = false;
	c->out_len = c->in_pos = c->in_end = c->console_bytes = 0;
	c->kicked = false;
	WRITE_ONCE(c->crash_req, false);
	INIT_LIST_HEAD(&c->out);
	dev_info(&rproc->dev, "ampsim: %s runs app %d\n", rproc->name, c->app);
	c->task = kthread_run(amp_remote, c, "ampsim/%s", rproc->name);
	return PTR_ERR_OR_ZERO(c->task);
}

static int amp_stop(struct rproc *rproc)
{
	struct amp_core *c = rproc->priv;

	if (!IS_ERR_OR_NULL(c->task))
		kthread_stop(c->task);
	c->task = NULL;
	c->vdev = NULL;
	c->table = NULL;
	return 0;
}

static void amp_kick(struct rproc *rproc, int notifyid)
{
	struct amp_core *c = rproc->priv;

	WRITE_ONCE(c->kicked, true);
	wake_up(&c->wq);
}

static const struct rproc_ops amp_ops = {
	.prepare = amp_prepare,
	.start = amp_start,
	.stop = amp_stop,
	.kick = amp_kick,
	.da_to_va = amp_da_to_va,
	.parse_fw = amp_parse_fw,
	.find_loaded_rsc_table = amp_find_loaded_rsc_table,
	.load = rproc_elf_load_segments,
	.sanity_check = rproc_elf_sanity_check,
	.get_boot_addr = rproc_elf_get_boot_addr,
};

/* the test's crash control: the firmware stops and reports a fatal error */
static ssize_t crash_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct rproc *rproc = dev_get_drvdata(dev);
	struct amp_core *c = rproc->priv;

	if (READ_ONCE(rproc->state) != RPROC_RUNNING)
		return -EINVAL;
	WRITE_ONCE(c->crash_req, true);
	wake_up(&c->wq);
	return count;
}
static DEVICE_ATTR_WO(crash);

static struct attribute *amp_attrs[] = {
	&dev_attr_crash.attr,
	NULL,
};
ATTRIBUTE_GROUPS(amp);

static int amp_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	const char *name = devm_kasprintf(dev, GFP_KERNEL, "%08x.r5f", 0xffe00000 + pdev->id * 0x90000);
	struct rproc *rproc;
	struct amp_core *c;

	if (!name)
		return -ENOMEM;
	rproc = devm_rproc_alloc(dev, name, &amp_ops, NULL, sizeof(*c));
	if (!rproc)
		return -ENOMEM;
	rproc->auto_boot = false;
	c = rproc->priv;
	c->rproc = rproc;
	init_waitqueue_head(&c->wq);
	INIT_LIST_HEAD(&c->out);
	c->ddr = devm_kzalloc(dev, AMPSIM_DDR_SIZE, GFP_KERNEL);
	c->tcm = devm_kzalloc(dev, AMPSIM_TCM_SIZE, GFP_KERNEL);
	if (!c->ddr || !c->tcm)
		return -ENOMEM;
	platform_set_drvdata(pdev, rproc);
	return devm_rproc_add(dev, rproc);
}

static struct platform_driver amp_driver = {
	.probe = amp_probe,
	.driver = { .name = "ampsim-rproc", .dev_groups = amp_groups },
};

static int __init amp_init(void)
{
	int i, ret = platform_driver_register(&amp_driver);

	if (ret)
		return ret;
	for (i = 0; i < clamp(remotes, 1, AMP_MAX_REMOTES); i++) {
		struct platform_device_info info = {
			.name = "ampsim-rproc",
			.id = i,
			.dma_mask = DMA_BIT_MASK(32),
		};
		struct platform_device *pdev = platform_device_register_full(&info);

		if (IS_ERR(pdev))
			pr_err("ampsim_rproc: remote %d: %ld\n", i, PTR_ERR(pdev));
	}
	return 0;
}
module_init(amp_init);

MODULE_DESCRIPTION("ampd test remoteproc driver with an emulated remote");
MODULE_LICENSE("GPL");
