// SPDX-License-Identifier: MIT
// ampctl's commands against a scripted fake ampd: what they send, print and exit with.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "ampctl.hpp"
#include "fake_ampd.h"

using namespace amp;
using namespace amp::cli;
using namespace amp::test;
using namespace std::chrono_literals;

namespace {

struct Output {
	std::ostringstream out, err;
	Context context(const std::string &socket, bool json = false) { return Context{socket, json, &out, &err}; }
};

RemoteInfo info(RemoteState state, std::vector<std::string> channels = {})
{
	return RemoteInfo{"r5-0", 0, "r5f_0", state, "image_echo_test", std::move(channels)};
}

} // namespace

TEST(AmpctlCommands, StartPrintsTheOutcomeAndDegradedIsAFailure)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		EXPECT_EQ(std::get<Start>(a.body), (Start{"r5-0", "image_echo_test", true}));
		p.reply(a, ActionReply{"r5-0", RemoteState::Running, "channel up after 12 ms"});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdStart(o.context(server.path()), StartArgs{"r5-0", "image_echo_test", true, 5s}), kExitOk) << o.err.str();
	EXPECT_EQ(o.out.str(), "r5-0: running (channel up after 12 ms)\n");
	EXPECT_EQ(o.err.str(), "");
}

TEST(AmpctlCommands, StartEndingDegradedExitsOne)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		p.reply(a, ActionReply{"r5-0", RemoteState::RunningDegraded, "no channel rpmsg-openamp-demo-channel within 300 ms"});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdStart(o.context(server.path(), true), StartArgs{"r5-0", std::nullopt, false, 5s}), kExitFailed);
	auto j = nlohmann::json::parse(o.out.str());
	EXPECT_EQ(j["state"], "running-degraded");
	EXPECT_EQ(o.err.str(), "ampctl: start r5-0 failed: r5-0: running-degraded (no channel rpmsg-openamp-demo-channel within 300 ms)\n");
}

TEST(AmpctlCommands, RefusalsMapToTheirExitCodes)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		EXPECT_FALSE(std::get<Stop>(a.body).graceful) << "--force";
		p.fail(a, EBUSY, "remote r5-0 is starting; stop needs running");
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdStop(o.context(server.path()), "r5-0", true, 5s), kExitBusy);
	EXPECT_EQ(o.err.str(), "ampctl: stop r5-0: remote r5-0 is starting; stop needs running\n");
}

TEST(AmpctlCommands, NoDaemonIsUnreachableAndBadNamesAreUsageErrors)
{
	Output o;
	EXPECT_EQ(cmdList(o.context("/nonexistent/ampd.sock")), kExitUnreachable);
	EXPECT_EQ(o.err.str(), "ampctl: cannot connect to ampd at /nonexistent/ampd.sock: No such file or directory (is ampd running?)\n");
	EXPECT_EQ(cmdStart(o.context("/nonexistent/ampd.sock"), StartArgs{"r5 0", std::nullopt}), kExitUsage);
	EXPECT_EQ(cmdStart(o.context("/nonexistent/ampd.sock"), StartArgs{"r5-0", "../etc/shadow"}), kExitUsage);
	EXPECT_EQ(cmdWait(o.context("/nonexistent/ampd.sock"), "r5-0", "runing", std::nullopt, 1s), kExitUsage);
	EXPECT_NE(o.err.str().find("unknown state \"runing\" (did you mean running?)"), std::string::npos) << o.err.str();
	EXPECT_EQ(cmdWait(o.context("/nonexistent/ampd.sock"), "r5-0", std::nullopt, std::nullopt, 1s), kExitUsage);
	EXPECT_EQ(cmdWait(o.context("/nonexistent/ampd.sock"), "r5-0", "running", "c", 1s), kExitUsage);
}

TEST(AmpctlCommands, StatusJsonIsTheReplyAsSent)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		EXPECT_EQ(std::get<Status>(a.body).remote, "r5-0");
		p.reply(a, StatusReply{{info(RemoteState::Running, {"rpmsg-raw"})}});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdStatus(o.context(server.path(), true), "r5-0"), kExitOk);
	auto j = nlohmann::json::parse(o.out.str());
	EXPECT_EQ(j["remotes"][0]["state"], "running");
	EXPECT_EQ(j["remotes"][0]["channels"], nlohmann::json::array({"rpmsg-raw"}));
}

TEST(AmpctlCommands, WaitSubscribesFirstAndIgnoresHistory)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request sub = p.read();
		ASSERT_EQ(sub.type(), RequestType::Subscribe) << "subscribe before status, or a change could fall between";
		p.reply(sub, Ack{});
		Request status = p.read();
		ASSERT_EQ(status.type(), RequestType::Status);
		// History the status reply already includes: running, then crashed.
		p.event(StateEvent{"r5-0", RemoteState::Starting, RemoteState::Running, ""});
		p.event(StateEvent{"r5-0", RemoteState::Running, RemoteState::Crashed, "watchdog"});
		p.reply(status, StatusReply{{info(RemoteState::Crashed)}});
		p.event(StateEvent{"r5-0", RemoteState::Crashed, RemoteState::Loading, "restart 1 of 3"});
		p.event(StateEvent{"r5-0", RemoteState::Loading, RemoteState::Starting, ""});
		p.event(StateEvent{"r5-0", RemoteState::Starting, RemoteState::Running, "channel up"});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdWait(o.context(server.path(), true), "r5-0", "running", std::nullopt, 5s), kExitOk) << o.err.str();
	EXPECT_EQ(nlohmann::json::parse(o.out.str()), (nlohmann::json{{"ok", true}, {"remote", "r5-0"}, {"state", "running"}}));
}

TEST(AmpctlCommands, WaitForAChannelAlreadyUpReturnsAtOnce)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.reply(p.read(), Ack{});
		p.reply(p.read(), StatusReply{{info(RemoteState::Running, {"rpmsg-raw"})}});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdWait(o.context(server.path()), "r5-0", std::nullopt, "rpmsg-raw", 5s), kExitOk) << o.err.str();
	EXPECT_EQ(o.out.str(), "");
}

TEST(AmpctlCommands, WaitTimesOutSayingWhereTheRemoteIs)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.reply(p.read(), Ack{});
		p.reply(p.read(), StatusReply{{info(RemoteState::Starting)}});
		p.waitForClose();
	});
	Output o;
	EXPECT_EQ(cmdWait(o.context(server.path()), "r5-0", "running", std::nullopt, 100ms), kExitTimeout);
	EXPECT_EQ(o.err.str(), "ampctl: wait for r5-0 to be running: timed out after 0.1 s (r5-0 is starting)\n");
}

TEST(AmpctlCommands, EventsPrintOneLineEachUntilTheDaemonGoes)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request sub = p.read();
		EXPECT_EQ(std::get<Subscribe>(sub.body).remote, "r5-0");
		p.reply(sub, Ack{});
		p.event(StateEvent{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested"});
		p.event(ChannelEvent{true, {"r5-0", "rpmsg-raw", 0x400, 0x35}});
		p.close();
	});
	Output o;
	EXPECT_EQ(cmdEvents(o.context(server.path()), "r5-0"), kExitUnreachable);
	EXPECT_EQ(o.out.str(), "r5-0: offline -> loading (start requested)\n"
			       "r5-0: channel rpmsg-raw up (src 0x400, dst 0x35)\n");
	EXPECT_EQ(o.err.str(), "ampctl: events: ampd closed the connection\n");
}
