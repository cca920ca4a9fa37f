// SPDX-License-Identifier: MIT
// Confinement: flags from an allow-list, paths beneath the directory only, no
// symlink followed, nothing but regular files, with openat2 and with the walk.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "proxy/confine.hpp"
#include "support/files.h"

namespace amp::proxy {
namespace {

using namespace wire_flags;

TEST(ProxyConfineFlags, TheDemosFlagsAreAllowed)
{
	auto w = translateOpen(0x441, 0600); // O_CREAT | O_WRONLY | O_APPEND
	ASSERT_TRUE(w) << w.error().context;
	EXPECT_EQ(*w, (OpenSpec{O_WRONLY, true, false, false, true, 0600}));
	auto r = translateOpen(kRdonly, 0600);
	ASSERT_TRUE(r);
	EXPECT_EQ(*r, (OpenSpec{O_RDONLY, false, false, false, false, 0}));
	auto rw = translateOpen(kRdwr | kCreat | kExcl | kTrunc, 0644);
	ASSERT_TRUE(rw);
	EXPECT_EQ(*rw, (OpenSpec{O_RDWR, true, true, true, false, 0644}));
	// Accepted and ignored: we add them ourselves anyway.
	EXPECT_TRUE(translateOpen(kRdonly | kNoctty | kCloexec, 0));
}

TEST(ProxyConfineFlags, AnythingElseIsRefused)
{
	// Linux's generic values, as the remote sends them.
	const int32_t refused[] = {
		03,                 // access mode 3
		0200000,            // O_DIRECTORY
		0400000,            // O_NOFOLLOW
		010000000,          // O_PATH
		020200000,          // O_TMPFILE
		04000,              // O_NONBLOCK
		040000,             // O_DIRECT
		0100000,            // O_LARGEFILE
		04010000,           // O_SYNC
		01000000,           // O_NOATIME
		int32_t(0x80000000), // garbage
		-1,
	};
	for (int32_t f : refused) {
		auto r = translateOpen(f | kRdonly, 0);
		EXPECT_FALSE(r) << std::oct << f;
		if (!r)
			EXPECT_EQ(r.error().code, EINVAL);
	}
	auto t = translateOpen(kRdonly | kTrunc, 0);
	ASSERT_FALSE(t);
	EXPECT_NE(t.error().context.find("O_TRUNC without write access"), std::string::npos);
}

TEST(ProxyConfineFlags, ModeIsMaskedAndCheckedOnlyWhenCreating)
{
	EXPECT_EQ(translateOpen(kWronly | kCreat, 07777)->mode, 0755u); // no setuid, setgid, sticky, g+w, o+w
	EXPECT_EQ(translateOpen(kWronly | kCreat, 0666)->mode, 0644u);
	EXPECT_FALSE(translateOpen(kWronly | kCreat, 010000));
	EXPECT_FALSE(translateOpen(kWronly | kCreat, -1));
	// Without O_CREAT the remote's vararg is whatever was on its stack.
	auto r = translateOpen(kRdonly, -12345);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->mode, 0u);
}

TEST(ProxyConfinePath, LexicalRules)
{
	EXPECT_EQ(pathProblem("remote.file"), std::nullopt);
	EXPECT_EQ(pathProblem("a/b/c.txt"), std::nullopt);
	EXPECT_EQ(pathProblem("./a"), std::nullopt);
	EXPECT_EQ(pathProblem("..foo"), std::nullopt);
	EXPECT_EQ(pathProblem(""), "empty path");
	EXPECT_EQ(pathProblem("/etc/passwd"), "absolute path");
	EXPECT_EQ(pathProblem("../../etc/passwd"), "'..' in the path");
	EXPECT_EQ(pathProblem("a/../../x"), "'..' in the path");
	EXPECT_EQ(pathProblem("a/.."), "'..' in the path");
	EXPECT_EQ(pathProblem(".."), "'..' in the path");
	EXPECT_EQ(pathProblem("a//..//b"), "'..' in the path");
	EXPECT_EQ(pathProblem("a/"), "path ends with '/'");
	EXPECT_EQ(pathProblem("a\nb"), "control character in the path");
	EXPECT_EQ(pathProblem("a\x7f"), "control character in the path");
	EXPECT_TRUE(pathProblem(std::string(5000, 'a')).has_value());
}

TEST(ProxyConfinePath, QuoteEscapes)
{
	EXPECT_EQ(quote("a b"), "\"a b\"");
	EXPECT_EQ(quote(std::string("a\0\n\"\xff", 5)), "\"a\\x00\\x0a\\x22\\xff\"");
	EXPECT_EQ(quote("abcdef", 3), "\"abc\"... (6 bytes)");
}

TEST(ProxyConfineDir, CreatedWhenMissingWithMode0750)
{
	test::TempDir tmp("amp-proxy");
	std::string path = tmp.path() + "/a/b/proxy";
	auto d = ConfinedDir::open(path, true);
	ASSERT_TRUE(d) << d.error().message();
	struct stat st {};
	ASSERT_EQ(::stat(path.c_str(), &st), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0750u);
	// An O_PATH fd: nothing can be read or written through it.
	EXPECT_EQ(::fcntl(d->fd(), F_GETFL) & O_PATH, O_PATH);
	EXPECT_FALSE(ConfinedDir::open(tmp.path() + "/missing", false));
	EXPECT_FALSE(ConfinedDir::open("relative/dir", true));
}

// Each case with openat2 and with the walk that kernels before 5.6 get.
class ProxyConfine : public ::testing::TestWithParam<Resolver> {
protected:
	void SetUp() override
	{
		root_ = tmp_.path();
		dirPath_ = root_ + "/proxy";
		outside_ = root_ + "/outside";
		ASSERT_EQ(::mkdir(dirPath_.c_str(), 0750), 0);
		ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
		test::writeFile(outside_ + "/secret", "outside\n");
		auto d = ConfinedDir::open(dirPath_, false);
		ASSERT_TRUE(d) << d.error().message();
		dir_.emplace(std::move(*d));
		dir_->setResolver(GetParam());
	}
	Result<UniqueFd> open(const std::string &path, int32_t flags, int32_t mode = 0600)
	{
		auto spec = translateOpen(flags, mode);
		if (!spec)
			return unexpected(spec.error());
		return dir_->openFile(path, *spec);
	}
	void symlink(const std::string &target, const std::string &name)
	{
		ASSERT_EQ(::symlink(target.c_str(), (dirPath_ + "/" + name).c_str()), 0) << strerror(errno);
	}
	// Refused, and the reason says `why`.
	void expectRefused(const std::string &path, int32_t flags, const std::string &why)
	{
		auto r = open(path, flags);
		ASSERT_FALSE(r) << path << " was opened";
		EXPECT_NE(r.error().context.find(why), std::string::npos) << path << ": " << r.error().message();
	}

	test::TempDir tmp_{"amp-proxy"};
	std::string root_, dirPath_, outside_;
	std::optional<ConfinedDir> dir_;
};

TEST_P(ProxyConfine, CreatesWritesAndReadsBackInside)
{
	{
		auto fd = open("remote.file", 0x441, 0600);
		ASSERT_TRUE(fd) << fd.error().message();
		ASSERT_EQ(::write(fd->get(), "abc", 3), 3);
		EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
		EXPECT_EQ(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0);
	}
	EXPECT_EQ(test::readText(dirPath_ + "/remote.file"), "abc");
	struct stat st {};
	ASSERT_EQ(::stat((dirPath_ + "/remote.file").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
	auto fd = open("remote.file", kRdonly);
	ASSERT_TRUE(fd);
	char buf[8] = {};
	EXPECT_EQ(::read(fd->get(), buf, sizeof buf), 3);
	ASSERT_EQ(::mkdir((dirPath_ + "/sub").c_str(), 0750), 0);
	EXPECT_TRUE(open("sub/nested", kWronly | kCreat, 0640));
	EXPECT_TRUE(open("./sub//nested", kRdonly));
}

TEST_P(ProxyConfine, TraversalIsRefusedBeforeTheKernelSeesIt)
{
	expectRefused("../../etc/passwd", kRdonly, "'..'");
	expectRefused("../outside/secret", kRdonly, "'..'");
	expectRefused("/etc/passwd", kRdonly, "absolute path");
	expectRefused(outside_ + "/secret", kRdonly, "absolute path");
	expectRefused("a/../../x", kWronly | kCreat, "'..'");
	expectRefused("../escape", kWronly | kCreat, "'..'");
	EXPECT_FALSE(test::exists(root_ + "/escape"));
	EXPECT_FALSE(test::exists(root_ + "/x"));
}

TEST_P(ProxyConfine, SymlinksPlantedInTheDirectoryAreNotFollowed)
{
	symlink("/etc/passwd", "abs");
	symlink("../outside/secret", "rel");
	symlink(outside_, "outdir");
	symlink("../outside/new", "dangling");
	test::writeFile(dirPath_ + "/inside", "in\n");
	symlink("inside", "in-link");
	const std::string why = "symlink";
	expectRefused("abs", kRdonly, why);
	expectRefused("rel", kRdonly, why);
	expectRefused("outdir/secret", kRdonly, why);
	expectRefused("rel", kWronly | kTrunc, why);
	expectRefused("dangling", kWronly | kCreat, why);
	// Even one that stays inside: the rule does not depend on where a link leads.
	expectRefused("in-link", kRdonly, why);
	EXPECT_EQ(test::readText(outside_ + "/secret"), "outside\n");
	EXPECT_FALSE(test::exists(outside_ + "/new"));
}

TEST_P(ProxyConfine, OnlyRegularFilesAreServed)
{
	ASSERT_EQ(::mkdir((dirPath_ + "/sub").c_str(), 0750), 0);
	expectRefused("sub", kRdonly, "a directory");
	EXPECT_FALSE(open("sub", kWronly));
	expectRefused(".", kRdonly, "a directory");
	// A FIFO: refused at once, not waited on.
	ASSERT_EQ(::mkfifo((dirPath_ + "/fifo").c_str(), 0600), 0);
	expectRefused("fifo", kRdonly, "FIFO");
	EXPECT_FALSE(open("fifo", kWronly));
	// A file used as a directory.
	test::writeFile(dirPath_ + "/file", "x");
	expectRefused("file/x", kRdonly, "not a directory");
}

TEST_P(ProxyConfine, AHardLinkToAFileOutsideIsRefusedUntouched)
{
	ASSERT_EQ(::link((outside_ + "/secret").c_str(), (dirPath_ + "/hard").c_str()), 0) << strerror(errno);
	expectRefused("hard", kRdonly, "hard links");
	// O_TRUNC waits for the checks: the file outside keeps its contents.
	expectRefused("hard", kWronly | kTrunc, "hard links");
	EXPECT_EQ(test::readText(outside_ + "/secret"), "outside\n");
}

TEST_P(ProxyConfine, TruncatesOnlyWhatItServes)
{
	test::writeFile(dirPath_ + "/f", "0123456789");
	auto fd = open("f", kWronly | kTrunc);
	ASSERT_TRUE(fd) << fd.error().message();
	EXPECT_EQ(test::readText(dirPath_ + "/f"), "");
}

TEST_P(ProxyConfine, ExclusiveCreateOfAnExistingFileFails)
{
	test::writeFile(dirPath_ + "/f", "x");
	expectRefused("f", kWronly | kCreat | kExcl, "exists");
}

TEST_P(ProxyConfine, OverLongNamesFail)
{
	expectRefused(std::string(300, 'a'), kWronly | kCreat, "name too long");
	expectRefused(std::string(5000, 'a'), kRdonly, "more than");
}

TEST_P(ProxyConfine, MissingFilesFail)
{
	expectRefused("nope", kRdonly, "no such file");
	expectRefused("no/such/dir", kWronly | kCreat, "no such file");
}

INSTANTIATE_TEST_SUITE_P(Resolvers, ProxyConfine, ::testing::Values(Resolver::Openat2, Resolver::Walk),
			 [](const ::testing::TestParamInfo<Resolver> &info) {
				 return info.param == Resolver::Openat2 ? std::string("openat2") : std::string("walk");
			 });

} // namespace
} // namespace amp::proxy
