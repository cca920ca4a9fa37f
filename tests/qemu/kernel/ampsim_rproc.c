// SPDX-License-Identifier: GPL-2.0
/*
 * ampsim_rproc: a built-in test remoteproc driver whose remote core is
 * emulated by a kthread. Part of the ampd test harness (tests/qemu), linked
 * into a test kernel only; never for production.
 *
 * The remote reads the `.ampsim` marker (tests/sim/fw_format.h) from the
 * image loaded into its memory windows and runs the same behaviours as the
 * simulator's firmware: echo, matmul, rpc, crash, hang, silent, slow, norsc.
 * It plays the virtio *device* side of the rpmsg vrings: it consumes `avail`
 * and produces `used` on both rings, announces its channel to address 53 and
 * raises "interrupts" with rproc_vq_interrupt(). Vring and buffer addresses
 * Linux writes are guest-physical (phys_to_virt on x86).
 *
 * Boot parameter ampsim_rproc.remotes=N (1..8) registers N cores named
 * ffe00000.r5f, ffe90000.r5f, ...
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
#define AMP_RPC_MAX_DATA 480

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

enum amp_app { APP_SILENT, APP_ECHO, APP_MATMUL, APP_RPC, APP_CRASH, APP_HANG, APP_SLOW, APP_NORSC };

struct amp_core {
	struct rproc *rproc;
	void *ddr, *tcm;
	u64 marker_da; /* sh_addr of .ampsim, 0 if none */
	struct resource_table *table;
	size_t table_sz;
	struct task_struct *task;
	wait_queue_head_t wq;
	bool kicked;
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
	/* rpc app */
	int pc, fd, ival, loop_ok;
	char rbuf[AMP_RPC_MAX_DATA + 1], tok[64], name[64];
	char in[1025];
	int in_len;
	char pi[32];
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

static void amp_rpc_send(struct amp_core *c, u32 id, s32 f1, s32 f2, const void *data, size_t len)
{
	u8 buf[AMP_HDR_LEN + AMP_RPC_MAX_DATA];
	__le32 *w = (__le32 *)buf;

	len = min_t(size_t, len, AMP_RPC_MAX_DATA);
	w[0] = cpu_to_le32(id);
	w[1] = cpu_to_le32(f1);
	w[2] = cpu_to_le32(f2);
	w[3] = cpu_to_le32(len);
	memcpy(buf + AMP_HDR_LEN, data, len);
	amp_reply(c, buf, AMP_HDR_LEN + len);
}

static void amp_rpc_print(struct amp_core *c, const char *s)
{
	amp_rpc_send(c, 3, 1, min_t(size_t, strlen(s), AMP_RPC_MAX_DATA), s, strlen(s));
}

/* next whitespace-delimited token of console input, false: need a READ */
static bool amp_rpc_token(struct amp_core *c)
{
	int i = 0, j;

	while (i < c->in_len && isspace(c->in[i]))
		i++;
	for (j = i; j < c->in_len && !isspace(c->in[j]); j++)
		;
	if (j == c->in_len) /* scanf needs the delimiter after the token */
		return false;
	snprintf(c->tok, sizeof(c->tok), "%.*s", j - i, c->in + i);
	memmove(c->in, c->in + j, c->in_len - j);
	c->in_len -= j;
	return true;
}

/* "%f" of a float as newlib prints it, for plain decimal input */
static bool amp_rpc_float(const char *s, char *out, size_t n)
{
	bool neg = *s == '-';
	u64 ip = 0, fp = 0;
	int digits = 0, nd = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; isdigit(*s); s++, nd++)
		ip = ip * 10 + (*s - '0');
	if (*s == '.')
		for (s++; isdigit(*s); s++, nd++)
			if (digits < 7) {
				fp = fp * 10 + (*s - '0');
				digits++;
			}
	if (!nd)
		return false;
	for (; digits < 7; digits++)
		fp *= 10;
	fp = (fp + 5) / 10; /* round to 6 digits */
	if (fp >= 1000000) {
		ip++;
		fp -= 1000000;
	}
	snprintf(out, n, "%s%llu.%06llu", neg ? "-" : "", ip, fp);
	return true;
}

/*
 * The proxy demo remote as a state machine: each step sends one request and
 * the next runs when the master's reply (`r`, NULL at the start) arrives.
 */
static void amp_rpc_step(struct amp_core *c, const u8 *r, size_t rlen)
{
	s32 f1 = rlen >= 8 ? (s32)get_unaligned_le32(r + 4) : -1;
	u32 dlen = rlen >= 16 ? get_unaligned_le32(r + 12) : 0;
	char line[AMP_RPC_MAX_DATA + 1];

	if (dlen > rlen - min_t(size_t, rlen, AMP_HDR_LEN))
		dlen = rlen - min_t(size_t, rlen, AMP_HDR_LEN);
again:
	switch (c->pc++) {
	case 0:
		return amp_rpc_print(c, "\r\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n");
	case 1:
		return amp_rpc_send(c, 1, 0x441, 0600, "remote.file", sizeof("remote.file"));
	case 2:
		c->fd = f1;
		return amp_rpc_send(c, 3, c->fd, 46, "This is a test string being written to file..", 46);
	case 3:
		return amp_rpc_send(c, 2, c->fd, 0, NULL, 0);
	case 4:
		return amp_rpc_send(c, 1, 0, 0600, "remote.file", sizeof("remote.file"));
	case 5:
		c->fd = f1;
		return amp_rpc_send(c, 4, c->fd, 1024, NULL, 0);
	case 6:
		memcpy(c->rbuf, r + AMP_HDR_LEN, dlen);
		c->rbuf[dlen] = 0;
		snprintf(line, sizeof(line), "\r\nRemote>Read from fd = %d, size = %d, printing contents below .. %s\r\n",
			 c->fd, f1, c->rbuf);
		return amp_rpc_print(c, line);
	case 7:
		return amp_rpc_send(c, 2, c->fd, 0, NULL, 0);
	case 8: /* loop start */
		return amp_rpc_print(c, "\r\nRemote>Enter name\r\n");
	case 9: case 11: case 13: case 15: /* scanf: read console until a token */
		if (r && r[0] == 4) {
			if (f1 <= 0) { /* console closed: end the demo */
				c->pc = 18;
				goto again;
			}
			dlen = min_t(u32, dlen, sizeof(c->in) - 1 - c->in_len);
			memcpy(c->in + c->in_len, r + AMP_HDR_LEN, dlen);
			c->in_len += dlen;
		}
		if (!amp_rpc_token(c)) {
			c->pc--;
			return amp_rpc_send(c, 4, 0, 1024, NULL, 0);
		}
		goto again;
	case 10:
		strscpy(c->name, c->tok, sizeof(c->name));
		return amp_rpc_print(c, "\r\nRemote>Enter age\r\n");
	case 12:
		if (kstrtoint(c->tok, 10, &c->ival)) {
			c->pc = 17;
			return amp_rpc_print(c, "Remote> Invalid value. Starting again....");
		}
		return amp_rpc_print(c, "\r\nRemote>Enter value for pi\r\n");
	case 14:
		if (!amp_rpc_float(c->tok, c->pi, sizeof(c->pi))) {
			c->pc = 17;
			return amp_rpc_print(c, "Remote> Invalid value. Starting again....");
		}
		snprintf(line, sizeof(line), "\r\nRemote>User name = '%s'\r\n\r\nRemote>User age = '%d'\r\n"
			 "\r\nRemote>User entered value of pi = '%s'\r\n"
			 "\r\nRemote>Repeat demo ? (enter yes or no) \r\n", c->name, c->ival, c->pi);
		return amp_rpc_print(c, line);
	case 16:
		if (!strcmp(c->tok, "no")) {
			c->pc = 18;
			return amp_rpc_print(c, "\r\nRemote>RPC retargetting quitting ...\r\n");
		}
		if (strcmp(c->tok, "yes")) {
			c->pc = 8;
			return amp_rpc_print(c, "\r\nRemote>Invalid option. Starting again....\r\n");
		}
		c->pc = 8;
		goto again;
	case 17: /* after "Invalid value" */
		c->pc = 8;
		goto again;
	case 18:
		return amp_rpc_print(c, "\r\nRemote> Firmware's rpmsg-rpc-channel going down! \r\n");
	case 19:
		amp_rpc_send(c, 6, 0, 0, NULL, 0);
		amp_ns(c, 1); /* rpmsg_destroy_ept() */
		c->quiet = true;
		return;
	default:
		return;
	}
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
	n = min_t(u32, a[0], 6);
	p[0] = n;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
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
	if (c->app == APP_RPC)
		return amp_rpc_step(c, c->pc ? d : NULL, c->pc ? len : 0);
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
		[APP_SLOW] = "slow", [APP_NORSC] = "norsc",
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
		if (c->app == APP_CRASH && c->m.crash_after_ms && time_after_eq(jiffies, c->crash_at)) {
			amp_crash(c);
			continue;
		}
		amp_poll_tx(c);
		if (!c->dead)
			amp_flush(c);
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
	c->pc = 0;
	c->in_len = 0;
	c->kicked = false;
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
	.driver = { .name = "ampsim-rproc" },
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
