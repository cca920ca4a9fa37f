// SPDX-License-Identifier: MIT
// The e2e test binary's main: isolate the process before any thread exists.
#include <gtest/gtest.h>

#include "ampd_fixture.h"

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	// unshare(CLONE_NEWNET) applies to the calling thread and what it
	// starts later: done first, every child (ampsim, ampd, ampctl) shares it.
	amp::e2e::isolate();
	return RUN_ALL_TESTS();
}
