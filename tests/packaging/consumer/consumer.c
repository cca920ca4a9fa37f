/* SPDX-License-Identifier: MIT */
/* A program outside the tree that uses libamp's C API, built with pkg-config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <amp/amp.h>

int main(int argc, char **argv)
{
	if (strcmp(amp_state_name(AMP_STATE_RUNNING_DEGRADED), "running-degraded") != 0)
		return 1;
	amp_client *c = amp_client_new();
	if (!c)
		return 1;
	/* Nobody listens there: the library must say so, not crash. */
	int r = amp_client_connect(c, argc > 1 ? argv[1] : "/nonexistent/ampd.sock", "consumer", 1000);
	printf("connect: %d (%s)\n", r, amp_client_last_error(c));
	amp_client_free(c);
	return r == -ENOENT ? 0 : 1;
}
