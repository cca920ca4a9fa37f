// SPDX-License-Identifier: MIT
// Result<T> and Error: values, errors and the one-line message users read.
#include <gtest/gtest.h>

#include <memory>

#include "base/result.h"

namespace amp {
namespace {

Result<int> half(int v)
{
	if (v % 2)
		return unexpected(EINVAL, "half of " + std::to_string(v));
	return v / 2;
}

TEST(BaseResult, ValueAndError)
{
	auto ok = half(4);
	ASSERT_TRUE(ok);
	EXPECT_EQ(*ok, 2);
	EXPECT_EQ(ok.value_or(9), 2);
	auto bad = half(3);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, EINVAL);
	EXPECT_EQ(bad.error().context, "half of 3");
	EXPECT_EQ(bad.value_or(9), 9);
}

TEST(BaseResult, MessageNamesErrnoAndContext)
{
	Error e{ENOENT, "open /lib/firmware/x"};
	EXPECT_EQ(e.name(), "ENOENT");
	EXPECT_EQ(e.message(), "ENOENT (No such file or directory): open /lib/firmware/x");
	EXPECT_EQ((Error{EBUSY, ""}).message(), "EBUSY (Device or resource busy)");
	EXPECT_EQ(errnoName(512), "E512"); // the kernel's ERESTARTSYS leaks as 512
	EXPECT_EQ(errnoName(EPIPE), "EPIPE");
}

TEST(BaseResult, VoidAndMoveOnly)
{
	Result<void> ok;
	EXPECT_TRUE(ok);
	Result<void> bad = unexpected(EPIPE, "write");
	EXPECT_FALSE(bad);
	EXPECT_EQ(bad.error().code, EPIPE);

	Result<std::unique_ptr<int>> p = std::make_unique<int>(7);
	ASSERT_TRUE(p);
	std::unique_ptr<int> taken = std::move(p).value();
	EXPECT_EQ(*taken, 7);
}

TEST(BaseResult, LastErrorTakesErrno)
{
	errno = EACCES;
	Error e = lastError("ctx");
	EXPECT_EQ(e.code, EACCES);
}

} // namespace
} // namespace amp
