// SPDX-License-Identifier: MIT
// Clients meeting each other and the socket's permissions: two starts at
// once, and users who may look but not touch, or not even connect.
#include "ampd_fixture.h"

#include <set>
#include <sys/stat.h>

namespace amp::e2e {
namespace {

class Clients : public AmpdTest {
protected:
	// One `stop` must bring the core offline: on 6.1 a second `start`
	// write would have taken a second reference and kept it running.
	void expectOneKernelStart()
	{
		EXPECT_EQ(sysState(), "running");
		RunResult stop = ampctl({"stop", kRemote});
		EXPECT_EQ(stop.exit, kOk) << stop.describe();
		EXPECT_EQ(sysState(), "offline") << "the kernel was started more than once";
	}
};

TEST_P(Clients, NoDaemonIsUnreachable)
{
	RunResult r = ampctl({"status"});
	EXPECT_EQ(r.exit, kUnreachable) << r.describe();
}

TEST_P(Clients, TwoStartsAtOnceStartOnce)
{
	ASSERT_TRUE(startDaemon());
	Process a = ampctlAsync({"start", kRemote, "--firmware", kEcho});
	Process b = ampctlAsync({"start", kRemote, "--firmware", kEcho});
	RunResult ra = a.wait(), rb = b.wait();
	// Whichever came second finds it busy (starting) or already running.
	std::multiset<int> exits = {ra.exit, rb.exit};
	EXPECT_EQ(exits, (std::multiset<int>{kOk, kBusy})) << "first: " << ra.describe() << "\nsecond: " << rb.describe();
	expectOneKernelStart();
}

TEST_P(Clients, TwoStartsWithWaitBothSucceedAndStartOnce)
{
	ASSERT_TRUE(startDaemon());
	Process a = ampctlAsync({"start", kRemote, "--firmware", kEcho, "--wait"});
	Process b = ampctlAsync({"start", kRemote, "--firmware", kEcho, "--wait"});
	RunResult ra = a.wait(), rb = b.wait();
	// --wait joins a start in flight instead of being refused.
	EXPECT_EQ(ra.exit, kOk) << ra.describe();
	EXPECT_EQ(rb.exit, kOk) << rb.describe();
	expectOneKernelStart();
}

TEST_P(Clients, SocketGroupMayLookButNotControl)
{
	// Numeric ids, so the test needs no entries in /etc/passwd or /etc/group.
	constexpr gid_t kGroup = 4242;
	constexpr uid_t kNobody = 65534;
	writeConfig(config(json::object(), {{"socket_group", kGroup}, {"socket_mode", "0660"}}));
	ASSERT_TRUE(startDaemon());
	struct stat st{};
	ASSERT_EQ(::stat(socketPath_.c_str(), &st), 0);
	EXPECT_EQ(st.st_gid, kGroup);
	EXPECT_EQ(st.st_mode & 07777, 0660u);

	SpawnOptions member;
	member.credentials = test::Credentials{kNobody, kNobody, {kGroup}};
	RunResult status = ampctl({"status"}, member);
	EXPECT_EQ(status.exit, kOk) << status.describe();
	EXPECT_NE(status.out.find(kRemote), std::string::npos) << status.describe();
	RunResult start = ampctl({"start", kRemote, "--firmware", kEcho}, member);
	EXPECT_EQ(start.exit, kDenied) << start.describe();
	EXPECT_EQ(sysState(), "offline");

	SpawnOptions stranger;
	stranger.credentials = test::Credentials{kNobody, kNobody, {}};
	RunResult refused = ampctl({"status"}, stranger);
	EXPECT_EQ(refused.exit, kDenied) << "connect() itself is refused\n" << refused.describe();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Clients, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
