// SPDX-License-Identifier: MIT
// UniqueFd: one owner, closes once, moves without double close.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace amp {
namespace {

bool isOpen(int fd)
{
	return ::fcntl(fd, F_GETFD) != -1;
}

TEST(BaseUniqueFd, ClosesOnDestruction)
{
	int raw;
	{
		UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
		raw = fd.get();
		ASSERT_TRUE(fd);
		EXPECT_TRUE(isOpen(raw));
	}
	EXPECT_FALSE(isOpen(raw));
}

TEST(BaseUniqueFd, MoveTransfersOwnership)
{
	UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
	int raw = a.get();
	UniqueFd b(std::move(a));
	EXPECT_FALSE(a.valid());
	EXPECT_EQ(b.get(), raw);
	UniqueFd c;
	c = std::move(b);
	EXPECT_EQ(c.get(), raw);
	EXPECT_TRUE(isOpen(raw));
	c = UniqueFd();
	EXPECT_FALSE(isOpen(raw));
	static_assert(!std::is_copy_constructible_v<UniqueFd>);
	static_assert(!std::is_copy_assignable_v<UniqueFd>);
}

TEST(BaseUniqueFd, ReleaseAndResetKeepErrno)
{
	UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
	int raw = a.release();
	EXPECT_FALSE(a.valid());
	EXPECT_TRUE(isOpen(raw));
	errno = ENOSPC;
	a.reset(raw);
	a.reset();
	EXPECT_EQ(errno, ENOSPC);
	EXPECT_FALSE(isOpen(raw));
}

} // namespace
} // namespace amp
