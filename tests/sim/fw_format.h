/* SPDX-License-Identifier: MIT */
/*
 * The simulated-firmware marker: which behaviour a firmware file asks the
 * remote to run. Shared, byte for byte, by ampsim (tests/sim) and the QEMU
 * test remoteproc driver (tests/qemu/kernel), so that one ELF file means the
 * same thing on both backends. Plain C, usable from the kernel and from C++.
 *
 * A firmware image written by `ampsim mkfw` is an ELF32 little-endian ARM
 * executable (ET_EXEC, EM_ARM) with exactly one PT_LOAD segment at
 * AMPSIM_FW_LOAD_ADDR that holds, in this order:
 *   .text            16 bytes (a branch-to-self loop, so the entry is real)
 *   .resource_table  header + one VDEV (id 7, dfeatures 1, 2 vrings x 256,
 *                    da = FW_RSC_ADDR_ANY, align 0x1000, notifyids 0/1/2)
 *                    (absent for app "norsc")
 *   .ampsim          struct ampsim_fw_marker
 * plus .shstrtab and a section header table. Every section's sh_addr is its
 * load address, so a driver can find the loaded table and the marker through
 * da_to_va().
 *
 * An ELF without a marker (a real R5 firmware, say) boots as "silent": the
 * core runs, no channel ever appears.
 */
#ifndef AMPSIM_FW_FORMAT_H
#define AMPSIM_FW_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u32 ampsim_u32;
#else
#include <stdint.h>
typedef uint32_t ampsim_u32;
#endif

#define AMPSIM_FW_MAGIC "AMPSIMFW" /* 8 bytes, no NUL */
#define AMPSIM_FW_MAGIC_LEN 8
#define AMPSIM_FW_VERSION 1
#define AMPSIM_FW_SECTION ".ampsim"

/* Where a firmware may be loaded: the windows the remote's da_to_va() maps.
 * A PT_LOAD outside them is refused with EINVAL, as a real driver does. */
#define AMPSIM_FW_LOAD_ADDR 0x3ED00000u /* the OpenAMP R5 demos' DDR base */
#define AMPSIM_DDR_BASE 0x3ED00000u
#define AMPSIM_DDR_SIZE 0x00100000u /* 1 MiB */
#define AMPSIM_TCM_BASE 0x00000000u
#define AMPSIM_TCM_SIZE 0x00040000u /* ATCM + BTCM, 256 KiB */

#define AMPSIM_DEFAULT_SERVICE "rpmsg-openamp-demo-channel"
#define AMPSIM_DEFAULT_ANNOUNCE_ADDR 0x400u

/* marker.flags */
/* Reply to the sender of each message instead of to the first address that
 * ever talked to the endpoint (what OpenAMP's rpmsg_send() does: it learns
 * dest_addr from the first message). A multi-client firmware does this. */
#define AMPSIM_FW_REPLY_TO_SENDER 0x1u

/* The shutdown word of the echo and matrix demos (first 32-bit word, LE). */
#define AMPSIM_SHUTDOWN_WORD 0xEF56A55Au

struct ampsim_fw_marker {
	char magic[AMPSIM_FW_MAGIC_LEN]; /* AMPSIM_FW_MAGIC */
	ampsim_u32 version;              /* AMPSIM_FW_VERSION */
	char app[16];      /* echo, matmul, rpc, rpcprobe, crash, hang, silent, slow, norsc; NUL padded */
	char service[32];  /* channel name announced; NUL padded */
	ampsim_u32 announce_addr;    /* remote's endpoint address (default 0x400) */
	ampsim_u32 crash_after_msgs; /* crash: report a crash after this many messages (0: never by count) */
	ampsim_u32 crash_after_ms;   /* crash: report a crash this long after announcing (0: never by time) */
	ampsim_u32 reply_delay_ms;   /* slow: delay before each reply */
	ampsim_u32 flags;            /* AMPSIM_FW_REPLY_TO_SENDER */
	ampsim_u32 reserved[7];      /* zero */
};
/* 8 + 4 + 16 + 32 + 5 * 4 + 7 * 4 = 108 bytes */

#endif /* AMPSIM_FW_FORMAT_H */
