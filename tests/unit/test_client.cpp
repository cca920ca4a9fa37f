// SPDX-License-Identifier: MIT
// libamp client tests: a scripted fake ampd on a real socket in a thread, the C++ API and the C API.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "amp/amp.h"
#include "amp/client.hpp"
#include "base/unique_fd.h"
#include "fake_ampd.h"
#include "protocol/protocol.hpp"

using namespace amp;
using namespace amp::protocol;
using namespace amp::test;
using namespace std::chrono_literals;

namespace {

RemoteInfo r50{"r5-0", 0, "r5f_0", RemoteState::Running, "image_echo_test", {"rpmsg-openamp-demo-channel"}};
RemoteInfo r51{"r5-1", 1, "r5f_1", RemoteState::Offline, "", {}};

} // namespace

TEST(Client, ConnectSaysHelloAndStatusReturnsRemotes)
{
	FakeServer server([](Peer &p) {
		Request hello = p.hello();
		EXPECT_EQ(std::get<Hello>(hello.body).client, "test-client");
		EXPECT_EQ(std::get<Hello>(hello.body).version, kVersion);
		Request status = p.read();
		EXPECT_GT(status.id, hello.id) << "ids increase";
		EXPECT_EQ(std::get<Status>(status.body).remote, std::nullopt);
		p.reply(status, StatusReply{{r50, r51}});
		Request one = p.read();
		EXPECT_GT(one.id, status.id);
		EXPECT_EQ(std::get<Status>(one.body).remote, "r5-1");
		p.reply(one, StatusReply{{r51}});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "test-client");
	ASSERT_TRUE(c) << c.error().message();
	EXPECT_EQ(c->serverName(), "fake ampd");
	EXPECT_EQ(c->serverVersion(), kVersion);
	auto all = c->status();
	ASSERT_TRUE(all) << all.error().message();
	EXPECT_EQ(*all, (std::vector<RemoteInfo>{r50, r51}));
	EXPECT_NE(c->lastReplyJson().find("\"remotes\""), std::string::npos) << c->lastReplyJson();
	auto one = c->status("r5-1");
	ASSERT_TRUE(one) << one.error().message();
	EXPECT_EQ(*one, std::vector<RemoteInfo>{r51});
}

TEST(Client, OtherProtocolVersionIsRefused)
{
	FakeServer server([](Peer &p) {
		p.hello(2);
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_FALSE(c);
	EXPECT_EQ(c.error().code, EPROTONOSUPPORT);
	EXPECT_NE(c.error().context.find("speaks protocol version 2"), std::string::npos) << c.error().context;
}

TEST(Client, ConnectErrorsAreConnectsErrno)
{
	auto missing = Client::connect("/nonexistent/ampd.sock", "t");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ENOENT);
	EXPECT_EQ(missing.error().context, "connect to /nonexistent/ampd.sock");

	// A socket file nobody listens on any more: a daemon that died.
	char dirTemplate[] = "/tmp/amp-client-test-XXXXXX";
	std::string dir = ::mkdtemp(dirTemplate);
	std::string path = dir + "/ampd.sock";
	{
		UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
		struct sockaddr_un addr = {};
		addr.sun_family = AF_UNIX;
		std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
		ASSERT_EQ(::bind(s.get(), reinterpret_cast<struct sockaddr *>(&addr), sizeof(addr)), 0);
	}
	auto refused = Client::connect(path, "t");
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ECONNREFUSED);
	::unlink(path.c_str());
	::rmdir(dir.c_str());

	auto tooLong = Client::connect("/" + std::string(200, 'x'), "t");
	ASSERT_FALSE(tooLong);
	EXPECT_EQ(tooLong.error().code, ENAMETOOLONG);
}

TEST(Client, SocketPermissionsGiveEacces)
{
	FakeServer server([](Peer &) {});
	ASSERT_EQ(::chmod(server.path().c_str(), 0600), 0);
	// Root passes any permission check: ask as nobody, in a child.
	pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
			::_exit(100);
		auto c = Client::connect(server.path(), "t", 1000ms);
		::_exit(c ? 0 : c.error().code);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), EACCES);
	// Let the server thread stop waiting for a connection.
	auto c = Client::connect(server.path(), "t", 100ms);
	EXPECT_FALSE(c);
}

TEST(Client, EventsDuringACallAreQueuedInOrder)
{
	StateEvent loading{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested"};
	StateEvent starting{"r5-0", RemoteState::Loading, RemoteState::Starting, "firmware loaded"};
	ChannelEvent up{true, {"r5-0", "rpmsg-openamp-demo-channel", 0x400, 0}};
	FakeServer server([&](Peer &p) {
		p.hello();
		Request sub = p.read();
		EXPECT_EQ(std::get<Subscribe>(sub.body).remote, "r5-0");
		p.reply(sub, Ack{});
		Request start = p.read();
		EXPECT_EQ(std::get<Start>(start.body), (Start{"r5-0", "image_echo_test", true}));
		EXPECT_NE(p.lastRaw.find("\"wait\":true"), std::string::npos) << p.lastRaw;
		p.event(loading);
		p.event(starting);
		p.event(up);
		p.reply(start, ActionReply{"r5-0", RemoteState::Running, "channel up after 12 ms"});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	ASSERT_TRUE(c->subscribe("r5-0"));
	auto r = c->start("r5-0", StartOptions{"image_echo_test", true});
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, (ActionReply{"r5-0", RemoteState::Running, "channel up after 12 ms"}));
	EXPECT_EQ(c->queuedEvents(), 3u);
	std::string json;
	auto e1 = c->nextEvent(0ms, &json);
	ASSERT_TRUE(e1) << e1.error().message();
	EXPECT_EQ(*e1, RemoteEvent{loading});
	EXPECT_EQ(json, *encode(Event{loading}));
	EXPECT_EQ(*c->pollEvent(), RemoteEvent{starting});
	EXPECT_EQ(*c->nextEvent(0ms), RemoteEvent{up});
	EXPECT_FALSE(c->pollEvent());
	EXPECT_EQ(c->droppedEvents(), 0u);
}

TEST(Client, RefusalCarriesTheServersErrnoAndMessage)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request start = p.read();
		p.fail(start, EBUSY, "remote r5-0 is running; start needs offline");
		Request status = p.read();
		p.fail(status, ENODEV, "no remote \"r5-9\" (did you mean r5-0?)");
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto r = c->start("r5-0");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBUSY);
	EXPECT_EQ(r.error().context, "remote r5-0 is running; start needs offline");
	EXPECT_NE(c->lastReplyJson().find("\"EBUSY\""), std::string::npos) << c->lastReplyJson();
	auto s = c->status("r5-9");
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, ENODEV);
}

TEST(Client, BadNamesAreRefusedBeforeSending)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request next = p.read();
		EXPECT_EQ(next.type(), RequestType::Status) << "the bad start never reached the server";
		p.reply(next, StatusReply{});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto r = c->start("a name with spaces");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EINVAL);
	EXPECT_NE(r.error().context.find("start.remote"), std::string::npos) << r.error().context;
	EXPECT_FALSE(c->start("r5-0", StartOptions{"../../etc/shadow", false}));
	EXPECT_TRUE(c->status());
}

TEST(Client, LateReplyToATimedOutCallIsDropped)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request slow = p.read();
		Request next = p.read(); // the client gave up on `slow` and asked again
		EXPECT_GT(next.id, slow.id);
		p.reply(slow, StatusReply{{r51}});
		p.reply(next, StatusReply{{r50}});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto slow = c->status(std::nullopt, 50ms);
	ASSERT_FALSE(slow);
	EXPECT_EQ(slow.error().code, ETIMEDOUT);
	EXPECT_EQ(slow.error().context, "no reply to status within 50 ms");
	auto next = c->status();
	ASSERT_TRUE(next) << next.error().message();
	EXPECT_EQ(*next, std::vector<RemoteInfo>{r50});
}

TEST(Client, NullIdErrorAnswersTheCallInFlight)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.read();
		p.sendRaw(*encode(failure(std::nullopt, std::nullopt, Error{EBADMSG, "not valid JSON"})));
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto r = c->channels();
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBADMSG);
	EXPECT_EQ(r.error().context, "not valid JSON");
}

TEST(Client, NextEventTimesOut)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto before = std::chrono::steady_clock::now();
	auto e = c->nextEvent(30ms);
	ASSERT_FALSE(e);
	EXPECT_EQ(e.error().code, ETIMEDOUT);
	EXPECT_GE(std::chrono::steady_clock::now() - before, 30ms) << "a timeout is not reported early";
}

TEST(Client, OversizedAndUnreadablePacketsFailTheCall)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		std::string huge = R"({"type":"status","id":)" + std::to_string(a.id) + R"(,"ok":true,"remotes":[]})";
		huge.insert(huge.size() - 1, kMaxPacket, ' ');
		p.sendRaw(huge);
		Request b = p.read();
		p.sendRaw(R"({"id":)" + std::to_string(b.id) + R"(,"ok":true,"type":"status","remotes":{}})");
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto a = c->status();
	ASSERT_FALSE(a);
	EXPECT_EQ(a.error().code, EMSGSIZE);
	EXPECT_EQ(a.error().context.rfind("ampd sent a packet of 655", 0), 0u) << a.error().context;
	EXPECT_NE(a.error().context.find(" bytes (at most 65536)"), std::string::npos) << a.error().context;
	auto b = c->status();
	ASSERT_FALSE(b);
	EXPECT_EQ(b.error().code, EPROTO);
	EXPECT_EQ(b.error().context, "ampd sent a message we cannot read: status reply.remotes: expected an array, got an object");
}

TEST(Client, EventsOfANewerDaemonAreSkipped)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request a = p.read();
		p.sendRaw(R"({"type":"event","event":"temperature","remote":"r5-0","celsius":71})");
		p.reply(a, StatusReply{});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto a = c->status();
	ASSERT_TRUE(a) << a.error().message();
	EXPECT_EQ(c->queuedEvents(), 0u);
}

TEST(Client, ServerGoingAwayIsEconnreset)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.read();
		p.close();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto r = c->status();
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ECONNRESET);
	auto again = c->status();
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ECONNRESET);
	auto e = c->nextEvent(10ms);
	ASSERT_FALSE(e);
	EXPECT_EQ(e.error().code, ECONNRESET);
}

TEST(Client, FdAndDispatchServeAnotherEventLoop)
{
	StateEvent crashed{"r5-0", RemoteState::Running, RemoteState::Crashed, "watchdog"};
	ChannelEvent down{false, {"r5-0", "rpmsg-openamp-demo-channel", 0x400, 0}};
	FakeServer server([&](Peer &p) {
		p.hello();
		p.event(crashed);
		p.event(down);
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	std::size_t read = 0;
	while (read < 2) {
		struct pollfd pfd = {c->fd(), POLLIN, 0};
		ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
		auto n = c->dispatch();
		ASSERT_TRUE(n) << n.error().message();
		read += *n;
	}
	auto none = c->dispatch();
	ASSERT_TRUE(none);
	EXPECT_EQ(*none, 0u) << "dispatch() does not block";
	EXPECT_EQ(*c->pollEvent(), RemoteEvent{crashed});
	EXPECT_EQ(*c->pollEvent(), RemoteEvent{down});
	EXPECT_FALSE(c->pollEvent());
}

TEST(Client, MovedFromClientSaysSo)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	Client moved = std::move(*c);
	EXPECT_GE(moved.fd(), 0);
	EXPECT_EQ(c->fd(), -1);
	auto r = c->status();
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ENOTCONN);
}

TEST(Client, DefaultSocketFollowsTheEnvironment)
{
	const char *saved = std::getenv("AMPD_SOCKET");
	std::string keep = saved ? saved : "";
	::unsetenv("AMPD_SOCKET");
	EXPECT_EQ(Client::defaultSocketPath(), "/run/ampd/ampd.sock");
	::setenv("AMPD_SOCKET", "", 1);
	EXPECT_EQ(Client::defaultSocketPath(), "/run/ampd/ampd.sock") << "empty is unset";
	::setenv("AMPD_SOCKET", "/tmp/x.sock", 1);
	EXPECT_EQ(Client::defaultSocketPath(), "/tmp/x.sock");
	if (saved)
		::setenv("AMPD_SOCKET", keep.c_str(), 1);
	else
		::unsetenv("AMPD_SOCKET");
}

// ---- the C API ----

TEST(ClientC, CallsReturnNegativeErrnoAndMallocdJson)
{
	StateEvent loading{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested"};
	FakeServer server([&](Peer &p) {
		Request hello = p.hello();
		EXPECT_EQ(std::get<Hello>(hello.body).client, "c-test");
		Request status = p.read();
		p.reply(status, StatusReply{{r50}});
		Request sub = p.read();
		p.reply(sub, Ack{});
		Request start = p.read();
		EXPECT_EQ(std::get<Start>(start.body), (Start{"r5-0", std::nullopt, false}));
		p.event(loading);
		p.reply(start, ActionReply{"r5-0", RemoteState::RunningDegraded, "no channel within 5 s"});
		Request stop = p.read();
		EXPECT_FALSE(std::get<Stop>(stop.body).graceful);
		p.fail(stop, EALREADY, "remote r5-0 is stopping");
		p.waitForClose();
	});
	amp_client *c = amp_client_new();
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(amp_client_fd(c), -1);
	char *json = nullptr;
	EXPECT_EQ(amp_client_status_json(c, nullptr, 1000, &json), -ENOTCONN);
	ASSERT_EQ(amp_client_connect(c, server.path().c_str(), "c-test", 5000), 0) << amp_client_last_error(c);
	EXPECT_GE(amp_client_fd(c), 0);

	ASSERT_EQ(amp_client_status_json(c, nullptr, 5000, &json), 0) << amp_client_last_error(c);
	ASSERT_NE(json, nullptr);
	EXPECT_NE(std::string(json).find("\"image_echo_test\""), std::string::npos) << json;
	std::free(json);

	ASSERT_EQ(amp_client_subscribe(c, "r5-0", 5000), 0);
	amp_remote_state state = AMP_STATE_OFFLINE;
	ASSERT_EQ(amp_client_start(c, "r5-0", nullptr, 0, 5000, &state), 0) << amp_client_last_error(c);
	EXPECT_EQ(state, AMP_STATE_RUNNING_DEGRADED);
	EXPECT_STREQ(amp_state_name(state), "running-degraded");

	json = nullptr;
	ASSERT_EQ(amp_client_next_event_json(c, 0, &json), 0);
	EXPECT_EQ(std::string(json), *encode(Event{loading}));
	std::free(json);
	json = nullptr;
	EXPECT_EQ(amp_client_next_event_json(c, 0, &json), -ETIMEDOUT);
	EXPECT_EQ(json, nullptr) << "set only on success";

	EXPECT_EQ(amp_client_stop(c, "r5-0", 0, 5000, nullptr), -EALREADY);
	EXPECT_STREQ(amp_client_last_error(c), "EALREADY (Operation already in progress): remote r5-0 is stopping");
	EXPECT_EQ(amp_state_name(static_cast<amp_remote_state>(42)), nullptr);
	amp_client_free(c);
	amp_client_free(nullptr);
}

TEST(ClientC, ConnectFailureIsNegativeErrno)
{
	amp_client *c = amp_client_new();
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(amp_client_connect(c, "/nonexistent/ampd.sock", nullptr, 100), -ENOENT);
	EXPECT_STREQ(amp_client_last_error(c), "ENOENT (No such file or directory): connect to /nonexistent/ampd.sock");
	EXPECT_EQ(amp_client_fd(c), -1);
	amp_client_free(c);
}
