/* SPDX-License-Identifier: MIT */
/*
 * The stock rpmsg_char echo test (like the vendor's echo_test): payloads of
 * 1..472 bytes to the echo demo remote, every byte of every echo checked.
 */
#define _GNU_SOURCE
#include "rpmsg_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The demo's payload is { unsigned long num; unsigned long size; u8 data[]; }
 * built on a 64-bit master: a 16-byte header. Fixed-width fields here so a
 * 32-bit build still speaks the same wire format.
 */
#define HDR 16u
#define MAX_DATA (RP_MAX_MSG - 24u) /* 472, as the vendor's test */
#define FILL 0xA5u

static void usage(FILE *f)
{
	fprintf(f, "usage: rpmsg_echo [--count N] [--no-shutdown] [options]\n"
		   "  --count N           rounds of sizes 1..%u (default 1)\n"
		   "  --no-shutdown       leave the remote running (no shutdown word)\n"
		   RP_COMMON_USAGE, MAX_DATA);
}

int main(int argc, char **argv)
{
	struct rp_opts o;
	rp_opts_init(&o, "echo");
	long long count = 1;
	int shutdown = 1;
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'c'},
		{"no-shutdown", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		RP_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int r = rp_common_option(&o, opt, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (opt) {
		case 'c':
			count = rp_parse_count(optarg);
			if (count <= 0) {
				rp_error(&o, "--count: a positive number, got '%s'", optarg);
				return 2;
			}
			break;
		case 'n':
			shutdown = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rp_install_signals();

	struct rp_ep ep;
	if (rp_open(&ep, &o) < 0)
		return 1;

	int ok = 1;
	unsigned long long sent = 0, good = 0;
	uint8_t tx[RP_MAX_MSG], rx[RP_MAX_MSG + 16];
	memset(tx + HDR, FILL, MAX_DATA);
	for (long long round = 0; round < count && ok; round++) {
		for (uint32_t size = 1; size <= MAX_DATA && ok; size++) {
			if (rp_interrupted) {
				rp_error(&o, "interrupted");
				ok = 0;
				break;
			}
			size_t len = HDR + size;
			rp_put_le64(tx, sent);
			rp_put_le64(tx + 8, size);
			int r = rp_send(&ep, tx, len);
			if (r < 0) {
				rp_error(&o, "write message %llu (%zu bytes) to /dev/%s: %s", sent, len,
					 ep.ept, strerror(-r));
				ok = 0;
				break;
			}
			sent++;
			ssize_t n = rp_recv(&ep, rx, sizeof(rx), o.timeout_ms);
			if (n < 0) {
				if (n == -ETIMEDOUT)
					rp_error(&o, "message %llu (%zu bytes): no echo within %d ms",
						 sent - 1, len, o.timeout_ms);
				else
					rp_error(&o, "read echo of message %llu from /dev/%s: %s", sent - 1,
						 ep.ept, strerror((int)-n));
				ok = 0;
				break;
			}
			if ((size_t)n != len) {
				rp_error(&o, "message %llu: sent %zu bytes, echo has %zd", sent - 1, len, n);
				ok = 0;
				break;
			}
			uint64_t num = rp_get_le64(rx), sz = rp_get_le64(rx + 8);
			if (num != sent - 1 || sz != size) {
				rp_error(&o, "message %llu: echo header is num=%llu size=%llu, sent num=%llu "
					 "size=%u", sent - 1, (unsigned long long)num,
					 (unsigned long long)sz, sent - 1, size);
				ok = 0;
				break;
			}
			for (uint32_t i = 0; i < size; i++) {
				if (rx[HDR + i] != FILL) {
					rp_error(&o, "message %llu (size %u): data byte %u is 0x%02x, sent 0x%02x",
						 sent - 1, size, i, rx[HDR + i], FILL);
					ok = 0;
					break;
				}
			}
			if (ok)
				good++;
		}
		rp_info(&o, "round %lld: %llu messages ok so far", round + 1, good);
	}

	if (ok && shutdown) {
		/* The demo's shutdown: num = 0xEF56A55A, sent as the 8-byte num. */
		uint8_t msg[8];
		rp_put_le64(msg, RP_SHUTDOWN_WORD);
		if (rp_shutdown(&ep, msg, sizeof(msg)) < 0)
			ok = 0;
	}
	if (rp_close(&ep) < 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "echo: FAILED after %llu of %llu messages ok\n", good, sent);
		return 1;
	}
	printf("echo: %llu messages ok\n", good);
	return 0;
}
