// SPDX-License-Identifier: MIT
// libamp's channel streams against a fake ampd that passes socketpairs with SCM_RIGHTS: relay, direct, events, fds, the C API.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

const ChannelInfo kEndpoint{"r5-0", "rpmsg-raw", 0x401, 0x400};
const ChannelInfo kAbsent{"r5-0", "rpmsg-raw", kAddrAny, kAddrAny};

OpenReply relayReply(bool up = true)
{
	return OpenReply{up ? kEndpoint : kAbsent, kMaxRpmsgPayload, false, up, 8};
}
OpenReply directReply(bool up = true)
{
	return OpenReply{up ? kEndpoint : kAbsent, kMaxRpmsgPayload, true, up, 0};
}

std::vector<std::uint8_t> bytes(const std::string &s)
{
	return std::vector<std::uint8_t>(s.begin(), s.end());
}
std::string text(std::span<const std::uint8_t> b)
{
	return std::string(b.begin(), b.end());
}

// What a message of `size` bytes holds in these tests.
std::string pattern(std::size_t size)
{
	std::string s(size, '\0');
	for (std::size_t i = 0; i < size; ++i)
		s[i] = static_cast<char>(i * 7 + size);
	return s;
}

// The other end of `fd` has been closed (EOF on a socketpair).
bool peerClosed(int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	return ::poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLHUP);
}

bool nonBlocking(int fd)
{
	return ::fcntl(fd, F_GETFL) & O_NONBLOCK;
}

// A fake ampd answering the hello and one open with `fds`, the open
// request checked by `check`, then waiting for the client to hang up.
FakeServer openServer(OpenReply reply, std::vector<int> fds, std::function<void(const Open &)> check = {})
{
	return FakeServer([reply, fds, check](Peer &p) {
		p.hello();
		Request open = p.read();
		EXPECT_EQ(open.type(), RequestType::Open);
		if (check && open.type() == RequestType::Open)
			check(std::get<Open>(open.body));
		p.replyWithFds(open, reply, fds);
		p.waitForClose();
	});
}

// The client and its stream, over a fake ampd that passed `stream` (and `endpoint`).
struct Opened {
	std::optional<Client> client;
	std::optional<Stream> stream;
};
Opened openOver(FakeServer &server, const OpenOptions &options = {})
{
	Opened o;
	auto c = Client::connect(server.path(), "t");
	EXPECT_TRUE(c) << c.error().message();
	if (!c)
		return o;
	auto s = c->open("r5-0", "rpmsg-raw", options);
	EXPECT_TRUE(s) << s.error().message();
	o.client.emplace(std::move(*c));
	if (s)
		o.stream.emplace(std::move(*s));
	return o;
}

} // namespace

TEST(ClientStream, OpenRelayAdoptsTheStreamSocket)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()}, [](const Open &open) {
		EXPECT_EQ(open, (Open{"r5-0", "rpmsg-raw", 0x500u, false, true}));
	});
	auto o = openOver(server, OpenOptions{0x500, false, true});
	sp.client.reset(); // the test's copy: the client has its own now
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	EXPECT_EQ(s.endpoint(), kEndpoint);
	EXPECT_EQ(s.mtu(), kMaxRpmsgPayload);
	EXPECT_EQ(s.window(), 8u);
	EXPECT_FALSE(s.direct());
	EXPECT_TRUE(s.up());
	EXPECT_FALSE(s.over());
	EXPECT_FALSE(s.lastEvent());
	EXPECT_GE(s.fd(), 0);
	EXPECT_EQ(s.fd(), s.eventFd()) << "one socket in relay mode";
	EXPECT_EQ(::fcntl(s.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "MSG_CMSG_CLOEXEC";
}

TEST(ClientStream, OpenLeavesAddrOutWhenTheKernelPicks)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()}, [](const Open &open) { EXPECT_EQ(open.addr, std::nullopt); });
	auto o = openOver(server);
	ASSERT_TRUE(o.stream);
}

TEST(ClientStream, RelayRoundTripsEverySizeFromZeroToTheMtu)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	std::vector<std::uint8_t> buffer(kMaxRpmsgPayload);
	for (std::size_t size = 0; size <= kMaxRpmsgPayload; ++size) {
		std::string message = pattern(size);
		auto sent = o.stream->send(bytes(message));
		ASSERT_TRUE(sent) << size << ": " << sent.error().message();
		auto packet = readPacket(sp.ampd.get());
		ASSERT_TRUE(packet) << size;
		EXPECT_EQ(*packet, std::string(1, '\0') + message) << "kind 0 and the message, one packet (" << size << " bytes)";
		streamMessage(sp.ampd.get(), message);
		auto got = o.stream->receive(buffer, 1000ms);
		ASSERT_TRUE(got) << size << ": " << got.error().message();
		ASSERT_EQ(*got, size);
		EXPECT_EQ(text(std::span(buffer).first(size)), message);
	}
}

TEST(ClientStream, OversizeIsEmsgsizeAndNothingIsSent)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	auto r = o.stream->send(std::vector<std::uint8_t>(kMaxRpmsgPayload + 1, 0x55));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EMSGSIZE);
	EXPECT_EQ(r.error().context, "a message of 497 bytes is more than the channel's mtu (496)");
	EXPECT_FALSE(readPacket(sp.ampd.get(), 50)) << "nothing reached ampd";
}

TEST(ClientStream, AMessageLongerThanTheBufferIsEmsgsizeAndLost)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	streamMessage(sp.ampd.get(), "0123456789");
	streamMessage(sp.ampd.get(), "abc");
	std::uint8_t small[4];
	auto cut = o.stream->receive(small, 1000ms);
	ASSERT_FALSE(cut);
	EXPECT_EQ(cut.error().code, EMSGSIZE);
	EXPECT_EQ(cut.error().context, "a message of 10 bytes did not fit the buffer of 4 (it is lost)");
	auto next = o.stream->receive(small, 1000ms);
	ASSERT_TRUE(next) << next.error().message();
	EXPECT_EQ(text(std::span(small).first(*next)), "abc");
}

TEST(ClientStream, AnEventLongerThanTheBufferIsStillRead)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	StreamError error{"EMSGSIZE", EMSGSIZE, "a packet of 600 bytes (at most 497) " + std::string(300, 'x')};
	streamEvent(sp.ampd.get(), error);
	std::uint8_t small[8];
	auto item = o.stream->next(small, 1000ms);
	ASSERT_TRUE(item) << item.error().message();
	EXPECT_EQ(std::get<StreamEvent>(*item), StreamEvent{error});
}

TEST(ClientStream, DownIsEnotconnOnceThenEpipeWithoutReattach)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	streamMessage(sp.ampd.get(), "last words");
	streamEvent(sp.ampd.get(), StreamDown{"remote crashed", false});
	sp.ampd.reset(); // ampd closes its end after a down without reattach

	std::vector<std::uint8_t> buffer(kMaxRpmsgPayload);
	auto first = s.receive(buffer, 1000ms);
	ASSERT_TRUE(first) << "messages before the down come first";
	EXPECT_EQ(text(std::span(buffer).first(*first)), "last words");
	auto down = s.receive(buffer, 1000ms);
	ASSERT_FALSE(down);
	EXPECT_EQ(down.error().code, ENOTCONN);
	EXPECT_EQ(down.error().context, "remote crashed");
	ASSERT_TRUE(s.lastEvent());
	EXPECT_EQ(*s.lastEvent(), StreamEvent{(StreamDown{"remote crashed", false})});
	EXPECT_TRUE(s.over());
	EXPECT_FALSE(s.up());
	for (int i = 0; i < 2; ++i) {
		auto after = s.receive(buffer, 1000ms);
		ASSERT_FALSE(after);
		EXPECT_EQ(after.error().code, EPIPE);
		EXPECT_EQ(after.error().context, "the stream is over: remote crashed");
	}
	auto sent = s.send(bytes("anyone?"));
	ASSERT_FALSE(sent);
	EXPECT_EQ(sent.error().code, EPIPE);
}

TEST(ClientStream, EndOfFileWithoutADownIsEpipe)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	sp.ampd.reset();
	std::uint8_t buffer[16];
	auto r = o.stream->receive(buffer, 1000ms);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EPIPE);
	EXPECT_EQ(r.error().context, "ampd closed the stream");
	EXPECT_TRUE(o.stream->over());
	auto sent = o.stream->send(bytes("x"));
	ASSERT_FALSE(sent);
	EXPECT_EQ(sent.error().code, EPIPE);
}

TEST(ClientStream, ReattachRelayComesBackAfterTheUpEvent)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, false, true});
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	std::vector<std::uint8_t> buffer(kMaxRpmsgPayload);

	streamEvent(sp.ampd.get(), StreamDown{"remote stopped", true});
	auto down = s.receive(buffer, 1000ms);
	ASSERT_FALSE(down);
	EXPECT_EQ(down.error().code, ENOTCONN);
	EXPECT_FALSE(s.up());
	EXPECT_FALSE(s.over()) << "a reattach stream waits";
	auto whileDown = s.send(bytes("hello?"));
	ASSERT_FALSE(whileDown);
	EXPECT_EQ(whileDown.error().code, ENOTCONN);
	EXPECT_FALSE(readPacket(sp.ampd.get(), 20)) << "nothing sent while down";
	auto waiting = s.receive(buffer, 20ms);
	ASSERT_FALSE(waiting);
	EXPECT_EQ(waiting.error().code, ETIMEDOUT) << "no second ENOTCONN for the same down";

	ChannelInfo back{"r5-0", "rpmsg-raw", 0x402, 0x400};
	streamEvent(sp.ampd.get(), StreamUp{back});
	// send() sees the up without anyone reading: the stream is usable again.
	auto sent = s.send(bytes("hello again"));
	ASSERT_TRUE(sent) << sent.error().message();
	EXPECT_TRUE(s.up());
	EXPECT_EQ(s.endpoint(), back);
	EXPECT_EQ(readPacket(sp.ampd.get()), std::string(1, '\0') + "hello again");
	// ... and next() still shows the up it read.
	auto item = s.next(buffer, 0ms);
	ASSERT_TRUE(item) << item.error().message();
	EXPECT_EQ(std::get<StreamEvent>(*item), StreamEvent{StreamUp{back}});

	// receive() passes an up over and goes on to the message behind it.
	streamEvent(sp.ampd.get(), StreamDown{"remote crashed", true});
	streamEvent(sp.ampd.get(), StreamUp{kEndpoint});
	streamMessage(sp.ampd.get(), "after the restart");
	auto again = s.receive(buffer, 1000ms);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ENOTCONN);
	auto message = s.receive(buffer, 1000ms);
	ASSERT_TRUE(message) << message.error().message();
	EXPECT_EQ(text(std::span(buffer).first(*message)), "after the restart");
	EXPECT_EQ(*s.lastEvent(), StreamEvent{StreamUp{kEndpoint}});
}

TEST(ClientStream, ReattachOpenWaitsForItsChannel)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(false), {sp.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, false, true});
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	EXPECT_FALSE(s.up());
	EXPECT_EQ(s.endpoint(), kAbsent);
	auto early = s.send(bytes("x"));
	ASSERT_FALSE(early);
	EXPECT_EQ(early.error().code, ENOTCONN);
	streamEvent(sp.ampd.get(), StreamUp{kEndpoint});
	std::uint8_t buffer[16];
	auto item = s.next(buffer, 1000ms);
	ASSERT_TRUE(item) << item.error().message();
	EXPECT_EQ(std::get<StreamEvent>(*item), StreamEvent{StreamUp{kEndpoint}});
	EXPECT_TRUE(s.up());
	EXPECT_TRUE(s.send(bytes("x")));
}

TEST(ClientStream, ErrorEventsAreReceivesErrorAndTheStreamLivesOn)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	streamEvent(sp.ampd.get(), StreamError{"EBADMSG", EBADMSG, "a packet of kind 7"});
	streamEvent(sp.ampd.get(), StreamError{"EPROTO", 0, ""});
	streamMessage(sp.ampd.get(), "still here");
	std::uint8_t buffer[32];
	auto bad = o.stream->receive(buffer, 1000ms);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, EBADMSG);
	EXPECT_EQ(bad.error().context, "a packet of kind 7");
	auto proto = o.stream->receive(buffer, 1000ms);
	ASSERT_FALSE(proto);
	EXPECT_EQ(proto.error().code, EPROTO) << "errno 0 on the wire";
	EXPECT_EQ(proto.error().context, "EPROTO");
	auto ok = o.stream->receive(buffer, 1000ms);
	ASSERT_TRUE(ok) << ok.error().message();
	EXPECT_EQ(text(std::span(buffer).first(*ok)), "still here");
	EXPECT_TRUE(o.stream->up());
	EXPECT_FALSE(o.stream->over());
}

TEST(ClientStream, UnknownKindsAndEventsArePassedOverAndBadEventsAreEproto)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	sendWithFds(sp.ampd.get(), std::string("\x07whatever", 9), {});
	sendWithFds(sp.ampd.get(), std::string("\x01") + R"({"event":"throttle","level":3})", {});
	sendWithFds(sp.ampd.get(), std::string("\x01") + R"({"event":"down","reattach":"maybe"})", {});
	streamMessage(sp.ampd.get(), "ok");
	std::uint8_t buffer[32];
	auto bad = o.stream->receive(buffer, 1000ms);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, EPROTO);
	EXPECT_EQ(bad.error().context.rfind("ampd sent a stream event we cannot read: ", 0), 0u) << bad.error().context;
	auto ok = o.stream->receive(buffer, 1000ms);
	ASSERT_TRUE(ok) << ok.error().message();
	EXPECT_EQ(text(std::span(buffer).first(*ok)), "ok");
}

TEST(ClientStream, TimeoutsZeroNegativeAndInBetween)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	std::uint8_t buffer[16];
	auto now = s.receive(buffer, 0ms);
	ASSERT_FALSE(now);
	EXPECT_EQ(now.error().code, ETIMEDOUT);
	auto before = std::chrono::steady_clock::now();
	auto later = s.receive(buffer, 30ms);
	ASSERT_FALSE(later);
	EXPECT_EQ(later.error().code, ETIMEDOUT);
	EXPECT_EQ(later.error().context, "no message within 30 ms");
	EXPECT_GE(std::chrono::steady_clock::now() - before, 30ms) << "a timeout is not reported early";

	// A message arriving during an endless wait ends it.
	// The sleep gives receive() time to be waiting; the outcome is the
	// same if the message comes first, so the test cannot flake on it.
	std::thread sender([&] {
		std::this_thread::sleep_for(20ms);
		streamMessage(sp.ampd.get(), "late");
	});
	auto forever = s.receive(buffer, -1ms);
	sender.join();
	ASSERT_TRUE(forever) << forever.error().message();
	EXPECT_EQ(*forever, 4u);

	// Sending into a full socket: EAGAIN at once with 0, after the wait otherwise.
	int small = 4096;
	::setsockopt(s.eventFd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	std::vector<std::uint8_t> message(kMaxRpmsgPayload, 0xAA);
	Result<void> sent;
	int n = 0;
	while ((sent = s.send(message, 0ms)) && n < 100000)
		++n;
	ASSERT_FALSE(sent);
	EXPECT_EQ(sent.error().code, EAGAIN);
	before = std::chrono::steady_clock::now();
	auto blocked = s.send(message, 30ms);
	ASSERT_FALSE(blocked);
	EXPECT_EQ(blocked.error().code, EAGAIN);
	EXPECT_EQ(blocked.error().context, "ampd did not take the message within 30 ms");
	EXPECT_GE(std::chrono::steady_clock::now() - before, 30ms);
}

namespace {
void onUsr1(int) {}
} // namespace

TEST(ClientStream, ASignalEndsTheWaitWithEintr)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	struct sigaction sa = {}, old = {};
	sa.sa_handler = onUsr1; // no SA_RESTART: poll() returns EINTR
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
	pthread_t self = ::pthread_self();
	// Nothing tells when this thread is inside poll(): a signal that lands
	// before it only runs the handler. So signal until receive() returns,
	// which a signal inside poll() makes it do at once.
	std::atomic<bool> returned{false};
	std::thread killer([self, &returned] {
		while (!returned) {
			::pthread_kill(self, SIGUSR1);
			std::this_thread::sleep_for(10ms);
		}
	});
	std::uint8_t buffer[16];
	auto r = o.stream->receive(buffer, 5000ms);
	returned = true;
	killer.join();
	::sigaction(SIGUSR1, &old, nullptr);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EINTR);
}

TEST(ClientStream, StreamOutlivesItsClient)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()});
	auto o = openOver(server);
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	o.client.reset(); // the control connection closes
	ASSERT_TRUE(o.stream->send(bytes("still")));
	EXPECT_EQ(readPacket(sp.ampd.get()), std::string(1, '\0') + "still");
	Stream moved = std::move(*o.stream);
	EXPECT_EQ(o.stream->fd(), -1);
	auto r = o.stream->send(bytes("x"));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBADF);
	o.stream.reset();
	EXPECT_FALSE(peerClosed(sp.ampd.get())) << "the moved-to stream holds the socket";
	{
		Stream gone = std::move(moved);
	}
	EXPECT_TRUE(peerClosed(sp.ampd.get())) << "destroying the Stream closes it";
}

TEST(ClientStream, RefusedOpenIsTheServersErrno)
{
	FakeServer server([](Peer &p) {
		p.hello();
		Request open = p.read();
		p.fail(open, ENOENT, "channel rpmsg-raw of r5-0 is not up");
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto s = c->open("r5-0", "rpmsg-raw");
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, ENOENT);
	EXPECT_EQ(s.error().context, "channel rpmsg-raw of r5-0 is not up");
}

TEST(ClientStream, AReplyWithoutItsFdsIsEprotoAndClosesWhatCame)
{
	SocketPair stream = seqpacketPair();
	FakeServer server([&](Peer &p) {
		p.hello();
		p.replyWithFds(p.read(), relayReply(), {});
		// Direct and up needs two; one came: the stream must be closed.
		p.replyWithFds(p.read(), directReply(), {stream.client.get()});
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	auto none = c->open("r5-0", "rpmsg-raw");
	ASSERT_FALSE(none);
	EXPECT_EQ(none.error().code, EPROTO);
	EXPECT_EQ(none.error().context, "open r5-0 rpmsg-raw: the reply passed 0 file descriptor(s), it needs the stream socket");
	auto half = c->open("r5-0", "rpmsg-raw", OpenOptions{kAddrAny, true, false});
	ASSERT_FALSE(half);
	EXPECT_EQ(half.error().code, EPROTO);
	stream.client.reset();
	EXPECT_TRUE(peerClosed(stream.ampd.get())) << "the stream socket that did come is closed: ampd cleans up";
}

TEST(ClientStream, FdsNobodyExpectsAreClosed)
{
	// Fds to pass: a socketpair whose far end tells when every copy is gone.
	SocketPair victim = seqpacketPair();
	SocketPair stream = seqpacketPair();
	SocketPair late = seqpacketPair();
	std::atomic<bool> go{false};
	std::atomic<bool> allSent{false};
	FakeServer server([&](Peer &p) {
		p.hello();
		Request sub = p.read();
		go.wait(false);
		// An event with an fd, a reply with fds to a subscribe.
		p.eventWithFds(StateEvent{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested"}, {victim.client.get()});
		p.replyWithFds(sub, Ack{}, {victim.client.get(), victim.client.get()});
		// More fds than a packet may bring: MSG_CTRUNC, the rest closed by the kernel.
		Request status = p.read();
		p.eventWithFds(StateEvent{"r5-0", RemoteState::Loading, RemoteState::Starting, ""},
			       std::vector<int>(6, victim.client.get()));
		p.reply(status, StatusReply{});
		// A late open reply: the call timed out, its stream must not live on.
		Request open = p.read();
		Request next = p.read();
		p.replyWithFds(open, relayReply(), {late.client.get()});
		p.reply(next, StatusReply{});
		// The stream's own packets with fds nobody asked for.
		Request real = p.read();
		p.replyWithFds(real, relayReply(), {stream.client.get(), victim.client.get()});
		streamMessage(stream.ampd.get(), "m");
		sendWithFds(stream.ampd.get(), std::string(1, '\0') + "with fd", {victim.client.get()});
		streamEvent(stream.ampd.get(), StreamUp{kEndpoint}, {victim.client.get()}); // relay: no endpoint fd
		streamEvent(stream.ampd.get(), StreamError{"EMSGSIZE", EMSGSIZE, "x"}, {victim.client.get()});
		streamEvent(stream.ampd.get(), StreamDown{"remote crashed", true}, {victim.client.get()});
		sendWithFds(stream.ampd.get(), std::string("\x09", 1), {victim.client.get()}); // an unknown kind
		allSent = true;
		allSent.notify_all();
		p.waitForClose();
	});
	auto c = Client::connect(server.path(), "t");
	ASSERT_TRUE(c) << c.error().message();
	int before = openFdCount();
	go = true;
	go.notify_all();
	ASSERT_TRUE(c->subscribe());
	ASSERT_TRUE(c->status());
	EXPECT_EQ(c->queuedEvents(), 2u);
	auto timedOut = c->open("r5-0", "rpmsg-raw", {}, 30ms);
	ASSERT_FALSE(timedOut);
	EXPECT_EQ(timedOut.error().code, ETIMEDOUT);
	ASSERT_TRUE(c->status()) << "reads the late open reply and drops it";
	EXPECT_EQ(openFdCount(), before);

	auto s = c->open("r5-0", "rpmsg-raw");
	ASSERT_TRUE(s) << s.error().message();
	EXPECT_EQ(openFdCount(), before + 1) << "the stream socket, and not the extra fd";
	std::uint8_t buffer[16];
	for (int i = 0; i < 5; ++i) {
		auto item = s->next(buffer, 1000ms);
		ASSERT_TRUE(item) << i << ": " << item.error().message();
	}
	// The unknown kind is in the socket before the last read (it is passed
	// over, not merely late), and the main thread closes victim.client only
	// once the server has used it for the last time (TSan found that race).
	allSent.wait(false);
	auto none = s->next(buffer, 20ms);
	ASSERT_FALSE(none);
	EXPECT_EQ(none.error().code, ETIMEDOUT) << "the unknown kind was passed over";
	EXPECT_EQ(openFdCount(), before + 1) << "no fd that came with a stream packet stayed open";
	s = Result<Stream>(unexpected(EBADF, "closed"));
	EXPECT_EQ(openFdCount(), before);
	victim.client.reset();
	EXPECT_TRUE(peerClosed(victim.ampd.get())) << "every passed copy is closed";
	late.client.reset();
	EXPECT_TRUE(peerClosed(late.ampd.get())) << "the late reply's stream socket was closed: ampd cleans up";
}

// ---- direct mode: the endpoint fd is a socketpair standing in for /dev/rpmsgK ----

TEST(ClientStreamDirect, MessagesGoThroughTheEndpointEventsThroughTheSocket)
{
	SocketPair sp = seqpacketPair();
	SocketPair ep = seqpacketPair();
	auto server = openServer(directReply(), {sp.client.get(), ep.client.get()},
				 [](const Open &open) { EXPECT_TRUE(open.direct); });
	auto o = openOver(server, OpenOptions{kAddrAny, true, false});
	sp.client.reset();
	ep.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	EXPECT_TRUE(s.direct());
	EXPECT_NE(s.fd(), s.eventFd());
	EXPECT_TRUE(nonBlocking(s.fd()));

	std::vector<std::uint8_t> buffer(kMaxRpmsgPayload);
	for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{kMaxRpmsgPayload}}) {
		std::string message = pattern(size);
		ASSERT_TRUE(s.send(bytes(message))) << size;
		EXPECT_EQ(readPacket(ep.ampd.get()), message) << "one write(), no kind byte";
		ASSERT_EQ(::send(ep.ampd.get(), message.data(), message.size(), 0), static_cast<ssize_t>(size));
		auto got = s.receive(buffer, 1000ms);
		ASSERT_TRUE(got) << size << ": " << got.error().message();
		ASSERT_EQ(*got, size) << "0 bytes is an empty message, not the end";
		EXPECT_EQ(text(std::span(buffer).first(size)), message);
	}
	EXPECT_FALSE(s.send(std::vector<std::uint8_t>(kMaxRpmsgPayload + 1)));
	EXPECT_FALSE(readPacket(ep.ampd.get(), 20));
	EXPECT_FALSE(readPacket(sp.ampd.get(), 20)) << "nothing on the stream socket";

	// A cut message is EMSGSIZE here too.
	ASSERT_EQ(::send(ep.ampd.get(), "0123456789", 10, 0), 10);
	std::uint8_t small[4];
	auto cut = s.receive(small, 1000ms);
	ASSERT_FALSE(cut);
	EXPECT_EQ(cut.error().code, EMSGSIZE);

	// Events come on the socket while the endpoint is quiet.
	streamEvent(sp.ampd.get(), StreamError{"EPROTO", EPROTO, "a message on a direct stream's socket"});
	auto error = s.receive(buffer, 1000ms);
	ASSERT_FALSE(error);
	EXPECT_EQ(error.error().code, EPROTO);
}

TEST(ClientStreamDirect, AGoneEndpointIsEnotconnAndTheDownFollows)
{
	SocketPair sp = seqpacketPair();
	SocketPair ep = seqpacketPair();
	auto server = openServer(directReply(), {sp.client.get(), ep.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, true, false});
	sp.client.reset();
	ep.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	ep.ampd.reset(); // the endpoint is destroyed: write() says EPIPE
	auto sent = s.send(bytes("x"));
	ASSERT_FALSE(sent);
	EXPECT_EQ(sent.error().code, ENOTCONN);
	EXPECT_EQ(s.fd(), -1);
	streamEvent(sp.ampd.get(), StreamDown{"remote stopped", false});
	sp.ampd.reset();
	std::uint8_t buffer[16];
	auto down = s.receive(buffer, 1000ms);
	ASSERT_FALSE(down);
	EXPECT_EQ(down.error().code, ENOTCONN);
	EXPECT_EQ(down.error().context, "remote stopped");
	auto over = s.receive(buffer, 1000ms);
	ASSERT_FALSE(over);
	EXPECT_EQ(over.error().code, EPIPE);
}

TEST(ClientStreamDirect, ReattachTakesTheNewEndpointAndClosesTheOld)
{
	SocketPair sp = seqpacketPair();
	SocketPair first = seqpacketPair();
	SocketPair second = seqpacketPair();
	auto server = openServer(directReply(), {sp.client.get(), first.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, true, true});
	sp.client.reset();
	first.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	std::vector<std::uint8_t> buffer(kMaxRpmsgPayload);

	streamEvent(sp.ampd.get(), StreamDown{"remote crashed", true});
	auto down = s.receive(buffer, 1000ms);
	ASSERT_FALSE(down);
	EXPECT_EQ(down.error().code, ENOTCONN);
	EXPECT_EQ(s.fd(), -1) << "nothing to poll while down";
	EXPECT_TRUE(peerClosed(first.ampd.get())) << "the old endpoint is closed";
	EXPECT_EQ(s.send(bytes("x")).error().code, ENOTCONN);

	ChannelInfo back{"r5-0", "rpmsg-raw", 0x403, 0x400};
	streamEvent(sp.ampd.get(), StreamUp{back}, {second.client.get()});
	second.client.reset();
	auto up = s.next(buffer, 1000ms);
	ASSERT_TRUE(up) << up.error().message();
	EXPECT_EQ(std::get<StreamEvent>(*up), StreamEvent{StreamUp{back}});
	EXPECT_TRUE(s.up());
	EXPECT_EQ(s.endpoint(), back);
	ASSERT_GE(s.fd(), 0);
	EXPECT_TRUE(nonBlocking(s.fd()));
	ASSERT_TRUE(s.send(bytes("on the new one")));
	EXPECT_EQ(readPacket(second.ampd.get()), "on the new one");
	ASSERT_EQ(::send(second.ampd.get(), "back", 4, 0), 4);
	auto got = s.receive(buffer, 1000ms);
	ASSERT_TRUE(got) << got.error().message();
	EXPECT_EQ(text(std::span(buffer).first(*got)), "back");
}

TEST(ClientStreamDirect, AnUpWithoutItsEndpointEndsTheStream)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(directReply(false), {sp.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, true, true});
	sp.client.reset();
	ASSERT_TRUE(o.stream);
	EXPECT_EQ(o.stream->fd(), -1) << "a reattach open whose channel is absent has no endpoint yet";
	streamEvent(sp.ampd.get(), StreamUp{kEndpoint});
	std::uint8_t buffer[16];
	auto r = o.stream->next(buffer, 1000ms);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EPROTO);
	EXPECT_TRUE(o.stream->over());
}

TEST(ClientStreamDirect, AFullEndpointIsRetriedUntilTheTimeout)
{
	SocketPair sp = seqpacketPair();
	SocketPair ep = seqpacketPair();
	auto server = openServer(directReply(), {sp.client.get(), ep.client.get()});
	auto o = openOver(server, OpenOptions{kAddrAny, true, false});
	sp.client.reset();
	ep.client.reset();
	ASSERT_TRUE(o.stream);
	Stream &s = *o.stream;
	int small = 4096;
	::setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	std::vector<std::uint8_t> message(kMaxRpmsgPayload, 0x5A);
	Result<void> sent;
	int n = 0;
	while ((sent = s.send(message, 0ms)) && n < 100000)
		++n;
	ASSERT_FALSE(sent);
	EXPECT_EQ(sent.error().code, EAGAIN) << "no buffer and no wait";
	auto before = std::chrono::steady_clock::now();
	auto timedOut = s.send(message, 30ms);
	ASSERT_FALSE(timedOut);
	EXPECT_EQ(timedOut.error().code, EAGAIN);
	EXPECT_EQ(timedOut.error().context, "no rpmsg buffer came free within 30 ms");
	EXPECT_GE(std::chrono::steady_clock::now() - before, 30ms);

	// A buffer that comes free while it waits lets the message go.
	// The sleep lets send() start retrying; a buffer freed before that
	// gives the same outcome, so the test cannot flake on it.
	std::thread reader([&] {
		std::this_thread::sleep_for(20ms);
		for (int i = 0; i < 4; ++i)
			readPacket(ep.ampd.get(), 100);
	});
	auto waited = s.send(message, 2000ms);
	reader.join();
	EXPECT_TRUE(waited) << waited.error().message();
}

// ---- the C API ----

TEST(ClientStreamC, OpenSendRecvEventsAndClose)
{
	SocketPair sp = seqpacketPair();
	auto server = openServer(relayReply(), {sp.client.get()}, [](const Open &open) {
		EXPECT_EQ(open, (Open{"r5-0", "rpmsg-raw", 0x410u, false, true}));
	});
	amp_client *c = amp_client_new();
	ASSERT_NE(c, nullptr);
	amp_stream *s = nullptr;
	EXPECT_EQ(amp_stream_open(c, "r5-0", "rpmsg-raw", 0, AMP_ADDR_ANY, 1000, &s), -ENOTCONN);
	ASSERT_EQ(amp_client_connect(c, server.path().c_str(), "c", 5000), 0) << amp_client_last_error(c);
	EXPECT_EQ(amp_stream_open(c, "r5-0", "rpmsg-raw", 0x80, AMP_ADDR_ANY, 1000, &s), -EINVAL);
	EXPECT_EQ(s, nullptr);
	ASSERT_EQ(amp_stream_open(c, "r5-0", "rpmsg-raw", AMP_STREAM_REATTACH, 0x410, 5000, &s), 0) << amp_client_last_error(c);
	sp.client.reset();
	ASSERT_NE(s, nullptr);
	amp_client_free(c); // the stream does not need its client

	EXPECT_EQ(amp_stream_mtu(s), kMaxRpmsgPayload);
	EXPECT_EQ(amp_stream_fd(s), amp_stream_event_fd(s));
	EXPECT_GE(amp_stream_fd(s), 0);
	uint32_t src = 0, dst = 0;
	EXPECT_EQ(amp_stream_endpoint(s, &src, &dst), 1);
	EXPECT_EQ(src, 0x401u);
	EXPECT_EQ(dst, 0x400u);
	EXPECT_STREQ(amp_stream_last_event_json(s), "");

	EXPECT_EQ(amp_stream_send(s, "", 0, 1000), 0) << "an empty message";
	EXPECT_EQ(readPacket(sp.ampd.get()), std::string(1, '\0'));
	EXPECT_EQ(amp_stream_send(s, "hi", 2, 1000), 0);
	EXPECT_EQ(readPacket(sp.ampd.get()), std::string(1, '\0') + "hi");
	std::vector<char> big(kMaxRpmsgPayload + 1);
	EXPECT_EQ(amp_stream_send(s, big.data(), big.size(), 1000), -EMSGSIZE);
	EXPECT_NE(std::string(amp_stream_last_error(s)).find("mtu"), std::string::npos) << amp_stream_last_error(s);

	char buf[64];
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 0), -ETIMEDOUT);
	streamMessage(sp.ampd.get(), "hello");
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 1000), 5);
	EXPECT_EQ(std::string(buf, 5), "hello");

	streamEvent(sp.ampd.get(), StreamDown{"remote stopped", true});
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 1000), -ENOTCONN);
	EXPECT_STREQ(amp_stream_last_event_json(s), R"({"event":"down","reason":"remote stopped","reattach":true})");
	EXPECT_EQ(amp_stream_endpoint(s, nullptr, nullptr), 0);
	EXPECT_EQ(amp_stream_send(s, "x", 1, 0), -ENOTCONN);

	streamEvent(sp.ampd.get(), StreamUp{kEndpoint});
	streamMessage(sp.ampd.get(), "m");
	int isEvent = -1;
	EXPECT_EQ(amp_stream_next(s, buf, sizeof(buf), 1000, &isEvent), 0);
	EXPECT_EQ(isEvent, 1);
	EXPECT_STREQ(amp_stream_last_event_json(s),
		     R"({"channel":"rpmsg-raw","dst":1024,"event":"up","remote":"r5-0","src":1025})");
	EXPECT_EQ(amp_stream_next(s, buf, sizeof(buf), 1000, &isEvent), 1);
	EXPECT_EQ(isEvent, 0);

	streamEvent(sp.ampd.get(), StreamError{"EMSGSIZE", EMSGSIZE, "a packet of 600 bytes"});
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 1000), -EMSGSIZE);
	EXPECT_STREQ(amp_stream_last_error(s), "EMSGSIZE (Message too long): a packet of 600 bytes");

	streamEvent(sp.ampd.get(), StreamDown{"remote crashed", false});
	sp.ampd.reset();
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 1000), -ENOTCONN);
	EXPECT_EQ(amp_stream_recv(s, buf, sizeof(buf), 1000), -EPIPE);
	EXPECT_EQ(amp_stream_endpoint(s, nullptr, nullptr), -EPIPE);
	EXPECT_EQ(amp_stream_recv(s, nullptr, 4, 0), -EINVAL);
	amp_stream_close(s);
	amp_stream_close(nullptr);
	EXPECT_EQ(amp_stream_fd(nullptr), -1);
	EXPECT_EQ(amp_stream_send(nullptr, "x", 1, 0), -EINVAL);
}

TEST(ClientStreamC, RefusedOpenIsTheClientsError)
{
	FakeServer server([](Peer &p) {
		p.hello();
		p.fail(p.read(), EACCES, "r5-0 does not allow channel rpmsg-raw to uid 1000");
		p.waitForClose();
	});
	amp_client *c = amp_client_new();
	ASSERT_EQ(amp_client_connect(c, server.path().c_str(), "c", 5000), 0) << amp_client_last_error(c);
	amp_stream *s = nullptr;
	EXPECT_EQ(amp_stream_open(c, "r5-0", "rpmsg-raw", AMP_STREAM_DIRECT, AMP_ADDR_ANY, 5000, &s), -EACCES);
	EXPECT_EQ(s, nullptr);
	EXPECT_STREQ(amp_client_last_error(c), "EACCES (Permission denied): r5-0 does not allow channel rpmsg-raw to uid 1000");
	amp_client_free(c);
}
