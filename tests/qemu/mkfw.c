// SPDX-License-Identifier: MIT
/*
 * qemu_mkfw: writes simulated-firmware ELF files in the layout of
 * tests/sim/fw_format.h (a stand-in for `ampsim mkfw` until that exists),
 * plus deliberately broken variants the ABI probe needs:
 *
 *   qemu_mkfw [options] -o OUT        (the options of `ampsim mkfw`, plus some)
 *     --app NAME              echo matmul rpc rpcprobe crash hang silent slow norsc
 *     --service NAME          channel name (default rpmsg-openamp-demo-channel)
 *     --announce-addr N       announce address (default 0x400)
 *     --crash-after-msgs N    --crash-after-ms N    --reply-delay-ms N
 *     --reply-to-sender       marker flag AMPSIM_FW_REPLY_TO_SENDER
 *     --no-marker             no .ampsim section (boots "silent")
 *     --rsc-bad-header        table header ver = 2 (unreadable: boots, no rpmsg)
 *     --rsc-bad-entry         VDEV reserved byte set (start fails with EINVAL)
 *     --load-addr N           PT_LOAD address (outside the windows: EINVAL)
 *
 * ELF32 LE, ET_EXEC, EM_ARM; one PT_LOAD holding .text (16 bytes),
 * .resource_table (absent for app norsc) and .ampsim; then .shstrtab and the
 * section header table. Every sh_addr is the section's load address.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_format.h"

#define SEG_OFF 0x100u

static uint8_t img[8192];

static void put32(size_t off, uint32_t v)
{
	memcpy(img + off, &v, 4); /* host is little-endian (x86-64) */
}

static uint32_t num(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 0);
}

int main(int argc, char **argv)
{
	struct ampsim_fw_marker m;
	const char *out = NULL;
	int marker = 1, bad_header = 0, bad_entry = 0, i;
	uint32_t load = AMPSIM_FW_LOAD_ADDR;

	memset(&m, 0, sizeof(m));
	memcpy(m.magic, AMPSIM_FW_MAGIC, AMPSIM_FW_MAGIC_LEN);
	m.version = AMPSIM_FW_VERSION;
	strcpy(m.app, "echo");
	strcpy(m.service, AMPSIM_DEFAULT_SERVICE);
	m.announce_addr = AMPSIM_DEFAULT_ANNOUNCE_ADDR;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--app") && ++i)
			strncpy(m.app, v, sizeof(m.app));
		else if (!strcmp(a, "--service") && ++i)
			strncpy(m.service, v, sizeof(m.service));
		else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && ++i)
			out = v;
		else if (!strcmp(a, "--announce-addr") && ++i)
			m.announce_addr = num(v);
		else if (!strcmp(a, "--crash-after-msgs") && ++i)
			m.crash_after_msgs = num(v);
		else if (!strcmp(a, "--crash-after-ms") && ++i)
			m.crash_after_ms = num(v);
		else if (!strcmp(a, "--reply-delay-ms") && ++i)
			m.reply_delay_ms = num(v);
		else if (!strcmp(a, "--load-addr") && ++i)
			load = num(v);
		else if (!strcmp(a, "--reply-to-sender"))
			m.flags |= AMPSIM_FW_REPLY_TO_SENDER;
		else if (!strcmp(a, "--no-marker"))
			marker = 0;
		else if (!strcmp(a, "--rsc-bad-header"))
			bad_header = 1;
		else if (!strcmp(a, "--rsc-bad-entry"))
			bad_entry = 1;
		else {
			fprintf(stderr, "qemu_mkfw: bad argument %s\n", a);
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "usage: qemu_mkfw [options] -o OUT\n");
		return 2;
	}
	int rsc = strcmp(m.app, "norsc") != 0;

	/* segment contents */
	size_t text = SEG_OFF, pos = SEG_OFF;
	for (i = 0; i < 4; i++)
		put32(pos + 4 * i, 0xEAFFFFFEu); /* ARM "b ." */
	pos += 16;
	size_t tab = pos, tabsz = 0;
	if (rsc) {
		put32(tab, bad_header ? 2 : 1); /* ver */
		put32(tab + 4, 1);               /* num */
		put32(tab + 16, 20);             /* offset[0] */
		size_t e = tab + 20;
		put32(e, 3);       /* RSC_VDEV */
		put32(e + 4, 7);   /* id: rpmsg */
		put32(e + 8, 2);   /* notifyid */
		put32(e + 12, 1);  /* dfeatures: VIRTIO_RPMSG_F_NS */
		put32(e + 16, 0);  /* gfeatures */
		put32(e + 20, 0);  /* config_len */
		img[e + 24] = 0;   /* status */
		img[e + 25] = 2;   /* num_of_vrings */
		img[e + 26] = bad_entry ? 1 : 0;
		for (i = 0; i < 2; i++) {
			size_t v = e + 28 + 20 * i;
			put32(v, 0xFFFFFFFFu); /* da: FW_RSC_ADDR_ANY */
			put32(v + 4, 0x1000);  /* align */
			put32(v + 8, 256);     /* num */
			put32(v + 12, i);      /* notifyid */
			put32(v + 16, 0);      /* pa */
		}
		tabsz = 20 + 4 + 24 + 2 * 20;
		pos += tabsz;
	}
	size_t mk = pos;
	if (marker) {
		memcpy(img + mk, &m, sizeof(m));
		pos += sizeof(m);
	}
	size_t segsz = pos - SEG_OFF;

	/* .shstrtab */
	static const char strs[] = "\0.text\0.resource_table\0.ampsim\0.shstrtab";
	size_t str = pos;
	memcpy(img + str, strs, sizeof(strs));
	pos = (pos + sizeof(strs) + 3) & ~3u;

	/* section headers: null, .text, [.resource_table], [.ampsim], .shstrtab */
	size_t sh = pos;
	Elf32_Shdr s[5];
	int n = 0;
	memset(s, 0, sizeof(s));
	n++;
	s[n++] = (Elf32_Shdr){ 1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, load, (Elf32_Off)text, 16, 0, 0, 4, 0 };
	if (rsc)
		s[n++] = (Elf32_Shdr){ 7, SHT_PROGBITS, SHF_ALLOC, load + (uint32_t)(tab - SEG_OFF),
				       (Elf32_Off)tab, (Elf32_Word)tabsz, 0, 0, 4, 0 };
	if (marker)
		s[n++] = (Elf32_Shdr){ 23, SHT_PROGBITS, SHF_ALLOC, load + (uint32_t)(mk - SEG_OFF),
				       (Elf32_Off)mk, sizeof(m), 0, 0, 4, 0 };
	s[n++] = (Elf32_Shdr){ 31, SHT_STRTAB, 0, 0, (Elf32_Off)str, sizeof(strs), 0, 0, 1, 0 };
	memcpy(img + sh, s, n * sizeof(Elf32_Shdr));
	pos = sh + n * sizeof(Elf32_Shdr);

	Elf32_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_ARM;
	eh.e_version = EV_CURRENT;
	eh.e_entry = load;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = (Elf32_Off)sh;
	eh.e_flags = 0x05000200; /* EABI5, soft-float, as the R5 demos */
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = 1;
	eh.e_shentsize = sizeof(Elf32_Shdr);
	eh.e_shnum = (Elf32_Half)n;
	eh.e_shstrndx = (Elf32_Half)(n - 1);
	memcpy(img, &eh, sizeof(eh));
	Elf32_Phdr ph = { PT_LOAD, SEG_OFF, load, load, (Elf32_Word)segsz, (Elf32_Word)segsz,
			  PF_R | PF_W | PF_X, 4 };
	memcpy(img + sizeof(eh), &ph, sizeof(ph));

	FILE *f = fopen(out, "wb");
	if (!f || fwrite(img, 1, pos, f) != pos || fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}
