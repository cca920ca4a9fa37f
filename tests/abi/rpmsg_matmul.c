/* SPDX-License-Identifier: MIT */
/*
 * The matrix multiplication demo's Linux side: two random 6x6 matrices in one
 * 296-byte message, the remote's 148-byte product checked element by element.
 */
#define _GNU_SOURCE
#include "rpmsg_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 6
#define MATRIX_BYTES (4u + 4u * N * N) /* struct matrix { u32 size; u32 e[6][6]; } = 148 */
_Static_assert(MATRIX_BYTES == 148, "struct matrix is 148 bytes");

/* Our own generator (splitmix64) so that a --seed gives the same matrices
 * with glibc, musl or any other libc. */
static uint64_t rng_state;
static uint32_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static void put_matrix(uint8_t *p, uint32_t m[N][N])
{
	rp_put_le32(p, N);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			rp_put_le32(p + 4 + 4 * (i * N + j), m[i][j]);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rpmsg_matmul [--count N] [--seed S] [--no-shutdown] [options]\n"
		   "  --count N           rounds (default 1)\n"
		   "  --seed S            fixed seed for the matrices (default: time and pid)\n"
		   "  --no-shutdown       leave the remote running (no shutdown word)\n"
		   RP_COMMON_USAGE);
}

int main(int argc, char **argv)
{
	struct rp_opts o;
	rp_opts_init(&o, "matmul");
	long long count = 1, seed = -1;
	int shutdown = 1;
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 's'},
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
		case 's':
			seed = rp_parse_count(optarg);
			if (seed < 0) {
				rp_error(&o, "--seed: a non-negative number, got '%s'", optarg);
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
	if (seed < 0)
		seed = (long long)(((uint64_t)time(NULL) << 16 ^ (uint64_t)getpid()) & 0x7fffffffffffull);
	rng_state = (uint64_t)seed;
	/* Always say the seed: a failure must be reproducible with --seed. */
	fprintf(stderr, "matmul: seed %lld\n", seed);
	rp_install_signals();

	struct rp_ep ep;
	if (rp_open(&ep, &o) < 0)
		return 1;

	int ok = 1;
	long long done = 0;
	uint8_t tx[2 * MATRIX_BYTES], rx[RP_MAX_MSG + 16];
	for (long long round = 0; round < count && ok; round++) {
		if (rp_interrupted) {
			rp_error(&o, "interrupted");
			ok = 0;
			break;
		}
		uint32_t a[N][N], b[N][N], c[N][N];
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++)
				a[i][j] = rng_next() % 10;
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++)
				b[i][j] = rng_next() % 10;
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				c[i][j] = 0;
				for (int k = 0; k < N; k++)
					c[i][j] += a[i][k] * b[k][j];
			}
		/* Both operands in one message, as the demo remote expects. */
		put_matrix(tx, a);
		put_matrix(tx + MATRIX_BYTES, b);
		int r = rp_send(&ep, tx, sizeof(tx));
		if (r < 0) {
			rp_error(&o, "round %lld: write %zu bytes to /dev/%s: %s", round, sizeof(tx), ep.ept,
				 strerror(-r));
			ok = 0;
			break;
		}
		ssize_t n = rp_recv(&ep, rx, sizeof(rx), o.timeout_ms);
		if (n < 0) {
			if (n == -ETIMEDOUT)
				rp_error(&o, "round %lld: no product within %d ms", round, o.timeout_ms);
			else
				rp_error(&o, "round %lld: read /dev/%s: %s", round, ep.ept, strerror((int)-n));
			ok = 0;
			break;
		}
		if ((size_t)n != MATRIX_BYTES) {
			rp_error(&o, "round %lld: product is %zd bytes, expected %u", round, n, MATRIX_BYTES);
			ok = 0;
			break;
		}
		if (rp_get_le32(rx) != N) {
			rp_error(&o, "round %lld: product size field is %u, expected %d", round,
				 rp_get_le32(rx), N);
			ok = 0;
			break;
		}
		for (int i = 0; i < N && ok; i++)
			for (int j = 0; j < N && ok; j++) {
				uint32_t got = rp_get_le32(rx + 4 + 4 * (i * N + j));
				if (got != c[i][j]) {
					rp_error(&o, "round %lld: product[%d][%d] is %u, expected %u", round, i,
						 j, got, c[i][j]);
					ok = 0;
				}
			}
		if (ok)
			done++;
	}

	if (ok && shutdown) {
		uint8_t msg[4];
		rp_put_le32(msg, RP_SHUTDOWN_WORD);
		if (rp_shutdown(&ep, msg, sizeof(msg)) < 0)
			ok = 0;
	}
	if (rp_close(&ep) < 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "matmul: FAILED after %lld of %lld rounds ok (seed %lld)\n", done, count,
			seed);
		return 1;
	}
	printf("matmul: %lld rounds ok\n", done);
	return 0;
}
