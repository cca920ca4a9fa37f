// SPDX-License-Identifier: MIT
// Control-protocol tests: every message round-trips, hostile packets get a precise error and never a crash.
#include <gtest/gtest.h>

#include <random>

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

using namespace amp;
using namespace amp::protocol;

namespace {

std::vector<Request> sampleRequests()
{
	Open open{"r5-0", "rpmsg-openamp-demo-channel", 0x400u, true, true};
	return {
		Request{1, Hello{1, "ampctl 0.1"}},
		Request{2, Status{}},
		Request{3, Status{"r5-0"}},
		Request{4, Start{"r5-0", std::nullopt}},
		Request{5, Start{"r5-0", "image_echo_test"}},
		Request{5, Start{"r5-0", std::nullopt, true}},
		Request{6, Stop{"r5-0", true}},
		Request{7, Stop{"r5-1", false}},
		Request{8, Restart{"r5-0", "xilinx/image_matrix_multiply"}},
		Request{9, Subscribe{}},
		Request{10, Subscribe{"r5-1"}},
		Request{11, Inspect{"/lib/firmware/image_echo_test"}},
		Request{12, Channels{"r5-0"}},
		Request{13, Open{"r5-0", "rpmsg-openamp-demo-channel", std::nullopt, false, false}},
		Request{kMaxId, open},
	};
}

std::vector<Response> sampleResponses()
{
	RemoteInfo info{"r5-0", 0, "ff9a0000.rf5ss:r5f_0", RemoteState::Running, "image_echo_test", {"rpmsg-openamp-demo-channel"}};
	RemoteInfo idle{"r5-1", 1, "r5f_1", RemoteState::Offline, "", {}};
	InspectReply inspect{"/lib/firmware/image_echo_test", "ELF32 little-endian ARM", 0x3ed00000, true, 1,
			     {{InspectItem::Level::Info, "carveout 0x3ed00000 size 0x40000"},
			      {InspectItem::Level::Warning, "vdev 0: 2 vrings of 256 buffers"},
			      {InspectItem::Level::Error, "trace buffer outside any carveout"}}};
	return {
		Response{1, RequestType::Hello, HelloReply{1, "ampd 0.1.0"}},
		Response{2, RequestType::Status, StatusReply{{info, idle}}},
		Response{3, RequestType::Status, StatusReply{}},
		Response{4, RequestType::Start, ActionReply{"r5-0", RemoteState::Running, "channel up after 12 ms"}},
		Response{5, RequestType::Stop, ActionReply{"r5-0", RemoteState::Offline, "deadline passed, forced stop"}},
		Response{6, RequestType::Restart, ActionReply{"r5-0", RemoteState::RunningDegraded, ""}},
		Response{7, RequestType::Subscribe, Ack{}},
		Response{8, RequestType::Inspect, inspect},
		Response{9, RequestType::Channels, ChannelsReply{{{"r5-0", "rpmsg-openamp-demo-channel", 0x400, 0x0}}}},
		Response{10, RequestType::Open, OpenReply{{"r5-0", "rpmsg-openamp-demo-channel", 0x401, 0x0}, 496, true}},
		failure(11, RequestType::Start, Error{EBUSY, "remote r5-0 is running; start needs offline"}),
		failure(std::nullopt, std::nullopt, Error{EBADMSG, "not valid JSON"}),
	};
}

std::vector<Event> sampleEvents()
{
	return {
		StateEvent{"r5-0", RemoteState::Offline, RemoteState::Loading, "start requested by pid 42"},
		StateEvent{"r5-0", RemoteState::Running, RemoteState::Crashed, ""},
		ChannelEvent{true, {"r5-0", "rpmsg-openamp-demo-channel", 0x400, 0x0}},
		ChannelEvent{false, {"r5-1", "rpmsg-raw", 0xFFFFFFFFu, 0x35}},
	};
}

// Every valid packet we know of, as bytes: the seeds for the hostile tests.
std::vector<std::string> samplePackets()
{
	std::vector<std::string> out;
	for (const auto &r : sampleRequests())
		out.push_back(*encode(r));
	for (const auto &r : sampleResponses())
		out.push_back(*encode(r));
	for (const auto &e : sampleEvents())
		out.push_back(*encode(e));
	return out;
}

// Both decoders on the same bytes: neither may crash, and a failure must say something.
void decodeBoth(std::span<const char> bytes)
{
	auto req = decodeRequest(bytes);
	if (!req) {
		EXPECT_FALSE(req.error().context.empty());
		EXPECT_NE(req.error().code, 0);
	}
	auto msg = decodeServerMessage(bytes);
	if (!msg) {
		EXPECT_FALSE(msg.error().context.empty());
		EXPECT_NE(msg.error().code, 0);
	}
}

} // namespace

// ---- round trips ----

TEST(ProtocolRoundTrip, EveryRequest)
{
	for (const auto &request : sampleRequests()) {
		auto text = encode(request);
		ASSERT_TRUE(text) << text.error().message();
		auto back = decodeRequest(*text);
		ASSERT_TRUE(back) << *text << ": " << back.error().message();
		EXPECT_EQ(*back, request) << *text;
	}
}

TEST(ProtocolRoundTrip, EveryResponse)
{
	for (const auto &response : sampleResponses()) {
		auto text = encode(response);
		ASSERT_TRUE(text) << text.error().message();
		auto back = decodeServerMessage(*text);
		ASSERT_TRUE(back) << *text << ": " << back.error().message();
		ASSERT_TRUE(std::holds_alternative<Response>(*back)) << *text;
		EXPECT_EQ(std::get<Response>(*back), response) << *text;
	}
}

TEST(ProtocolRoundTrip, EveryEvent)
{
	for (const auto &event : sampleEvents()) {
		auto text = encode(event);
		ASSERT_TRUE(text) << text.error().message();
		auto back = decodeServerMessage(*text);
		ASSERT_TRUE(back) << *text << ": " << back.error().message();
		ASSERT_TRUE(std::holds_alternative<Event>(*back)) << *text;
		EXPECT_EQ(std::get<Event>(*back), event) << *text;
	}
}

TEST(ProtocolRoundTrip, EveryStateName)
{
	for (int i = 0; i <= static_cast<int>(RemoteState::Error); ++i) {
		auto state = static_cast<RemoteState>(i);
		EXPECT_EQ(parseRemoteState(toString(state)), state);
		Event e = StateEvent{"r5-0", state, state, "x"};
		auto back = decodeServerMessage(*encode(e));
		ASSERT_TRUE(back);
		EXPECT_EQ(std::get<Event>(*back), e);
	}
	EXPECT_EQ(toString(RemoteState::RunningDegraded), "running-degraded");
}

TEST(ProtocolRoundTrip, WireFormatIsTheDocumentedOne)
{
	EXPECT_EQ(*encode(Request{7, Start{"r5-0", "image_echo_test"}}),
		  R"({"firmware":"image_echo_test","id":7,"remote":"r5-0","type":"start"})");
	// "wait" only when set: an older server sees the packet it always saw.
	EXPECT_EQ(*encode(Request{8, Start{"r5-0", std::nullopt, true}}), R"({"id":8,"remote":"r5-0","type":"start","wait":true})");
	EXPECT_EQ(*encode(failure(std::nullopt, std::nullopt, Error{EBADMSG, "not valid JSON"})),
		  R"({"error":{"code":"EBADMSG","errno":74,"message":"not valid JSON"},"id":null,"ok":false})");
	EXPECT_EQ(*encode(Event{StateEvent{"r5-0", RemoteState::Starting, RemoteState::Running, "channel up"}}),
		  R"({"event":"state","from":"starting","reason":"channel up","remote":"r5-0","to":"running","type":"event"})");
	EXPECT_EQ(*encode(Event{ChannelEvent{false, {"r5-0", "rpmsg-openamp-demo-channel", 1024, 0}}}),
		  R"({"channel":"rpmsg-openamp-demo-channel","dst":0,"event":"channel-down","remote":"r5-0","src":1024,"type":"event"})");
}

TEST(ProtocolRoundTrip, HandwrittenRequestsDecode)
{
	auto r = decodeRequest(R"({"type": "hello", "id": 0, "version": 1})");
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(std::get<Hello>(r->body).version, 1u);

	r = decodeRequest(R"({"type":"stop","id":3,"remote":"r5-0"})");
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(std::get<Stop>(r->body).graceful) << "graceful is the default";

	// null spells an absent optional field
	r = decodeRequest(R"({"type":"start","id":3,"remote":"r5-0","firmware":null})");
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_FALSE(std::get<Start>(r->body).firmware);
	EXPECT_FALSE(std::get<Start>(r->body).wait) << "not waiting is the default";

	r = decodeRequest(R"({"type":"start","id":4,"remote":"r5-0","wait":true})");
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(std::get<Start>(r->body).wait);
}

TEST(ProtocolRoundTrip, UnknownFieldsAreIgnored)
{
	auto r = decodeRequest(R"({"type":"start","id":3,"remote":"r5-0","priority":7,"future":{"a":[1,2]}})");
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, (Request{3, Start{"r5-0", std::nullopt}}));

	auto m = decodeServerMessage(R"({"type":"event","event":"state","remote":"r5-0","from":"offline","to":"loading","reason":"","seq":9})");
	ASSERT_TRUE(m) << m.error().message();
}

TEST(ProtocolRoundTrip, LargestPacketFits)
{
	std::string packet = R"({"type":"status","id":1})";
	packet.insert(packet.size() - 1, kMaxPacket - packet.size(), ' ');
	ASSERT_EQ(packet.size(), kMaxPacket);
	EXPECT_TRUE(decodeRequest(packet));
	packet.insert(1, " ");
	auto r = decodeRequest(packet);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EMSGSIZE);
	EXPECT_EQ(r.error().context, "packet of 65537 bytes is too large (at most 65536)");
}

TEST(ProtocolRoundTrip, TextIsCutNotRefused)
{
	std::string huge(3 * kMaxText, 'x');
	huge += "\xff"; // invalid UTF-8 in a daemon-side message must not stop the reply
	auto text = encode(failure(5, RequestType::Start, Error{ENOENT, huge}));
	ASSERT_TRUE(text) << text.error().message();
	auto back = decodeServerMessage(*text);
	ASSERT_TRUE(back) << back.error().message();
	EXPECT_EQ(std::get<Response>(*back).error()->message.size(), kMaxText);
	EXPECT_EQ(std::get<Response>(*back).error()->code, "ENOENT");
}

TEST(ProtocolRoundTrip, EncodeRefusesWhatDecodeWould)
{
	auto r = encode(Request{1, Start{"a-name-that-is-longer-than-31-bytes", std::nullopt}});
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EINVAL);
	EXPECT_EQ(r.error().context, "cannot encode: start.remote: is 35 bytes long (at most 31)");
	EXPECT_FALSE(encode(Request{kMaxId + 1, Status{}}));
	EXPECT_FALSE(encode(Request{1, Start{"r5-0", "../../etc/shadow"}}));
	EXPECT_FALSE(encode(Request{1, Open{"r5-0", "", std::nullopt, false, false}}));

	// A status reply too large for one packet is refused, not truncated.
	StatusReply big;
	for (int i = 0; i < 2000; ++i)
		big.remotes.push_back(RemoteInfo{"r" + std::to_string(i), 0, "x", RemoteState::Offline, "", {}});
	auto e = encode(Response{1, RequestType::Status, big});
	ASSERT_FALSE(e);
	EXPECT_EQ(e.error().code, EMSGSIZE);
}

// ---- precise errors ----

struct BadRequest {
	const char *packet;
	int code;
	const char *message;
};

TEST(ProtocolErrors, EachBadRequestSaysWhatIsWrong)
{
	const BadRequest cases[] = {
		{"", EBADMSG, "empty packet (expected a JSON object)"},
		{"[1]", EBADMSG, "packet is an array (expected a JSON object)"},
		{"\"start\"", EBADMSG, "packet is a string (expected a JSON object)"},
		{"{\"type\":\"status\"}", EINVAL, "request: \"id\" missing (expected an integer 0..9007199254740991)"},
		{"{\"type\":\"status\",\"id\":null}", EINVAL, "request: \"id\" is null (expected an integer 0..9007199254740991)"},
		{"{\"type\":\"status\",\"id\":-1}", EINVAL, "request.id: expected an integer 0..9007199254740991, got a negative integer"},
		{"{\"type\":\"status\",\"id\":1.5}", EINVAL, "request.id: expected an integer 0..9007199254740991, got a fractional number"},
		{"{\"type\":\"status\",\"id\":\"1\"}", EINVAL, "request.id: expected an integer 0..9007199254740991, got a string"},
		{"{\"type\":\"status\",\"id\":9007199254740992}", EINVAL,
		 "request.id: 9007199254740992 is out of range (expected an integer 0..9007199254740991)"},
		{"{\"type\":\"status\",\"id\":18446744073709551616}", EINVAL,
		 "request.id: expected an integer 0..9007199254740991, got a fractional number"},
		{"{\"id\":1}", EINVAL, "request.type: missing (expected a string)"},
		{"{\"id\":1,\"type\":7}", EINVAL, "request.type: expected a string, got an integer"},
		{"{\"id\":1,\"type\":\"strat\"}", EOPNOTSUPP,
		 "request.type: unknown value \"strat\" (expected one of hello, status, start, stop, restart, subscribe, inspect, channels, open)"},
		{"{\"id\":1,\"type\":\"start\"}", EINVAL, "start.remote: missing (expected a string)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":5}", EINVAL, "start.remote: expected a string, got an integer"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"\"}", EINVAL, "start.remote: is empty (expected 1..31 printable ASCII characters)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5 0\"}", EINVAL,
		 "start.remote: has 0x20 at offset 2 (expected printable ASCII without spaces)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5\\u00000\"}", EINVAL,
		 "start.remote: has 0x00 at offset 2 (expected printable ASCII without spaces)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r\\u00e9mote\"}", EINVAL,
		 "start.remote: has 0xc3 at offset 1 (expected printable ASCII without spaces)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"abcdefghijklmnopqrstuvwxyz0123456\"}", EINVAL,
		 "start.remote: is 33 bytes long (at most 31)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5-0\",\"firmware\":\"/etc/shadow\"}", EINVAL,
		 "start.firmware: is an absolute path (expected a name under the firmware search path)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5-0\",\"firmware\":\"a/../../b\"}", EINVAL,
		 "start.firmware: has a \"..\" component (expected a name under the firmware search path)"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5-0\",\"firmware\":\"fw\\n\"}", EINVAL,
		 "start.firmware: contains control character 0x0a at offset 2"},
		{"{\"id\":1,\"type\":\"start\",\"remote\":\"r5-0\",\"wait\":1}", EINVAL, "start.wait: expected true or false, got an integer"},
		{"{\"id\":1,\"type\":\"stop\",\"remote\":\"r5-0\",\"graceful\":\"no\"}", EINVAL,
		 "stop.graceful: expected true or false, got a string"},
		{"{\"id\":1,\"type\":\"open\",\"remote\":\"r5-0\",\"channel\":\"c\",\"addr\":4294967296}", EINVAL,
		 "open.addr: 4294967296 is out of range (expected an integer 0..4294967295)"},
		{"{\"id\":1,\"type\":\"open\",\"remote\":\"r5-0\"}", EINVAL, "open.channel: missing (expected a string)"},
		{"{\"id\":1,\"type\":\"hello\"}", EINVAL, "hello.version: missing (expected an integer 1..65535)"},
		{"{\"id\":1,\"type\":\"hello\",\"version\":0}", EINVAL, "hello.version: 0 is out of range (expected an integer 1..65535)"},
		{"{\"id\":1,\"type\":\"inspect\",\"firmware\":[]}", EINVAL, "inspect.firmware: expected a string, got an array"},
	};
	for (const auto &c : cases) {
		auto r = decodeRequest(std::string_view(c.packet));
		ASSERT_FALSE(r) << c.packet;
		EXPECT_EQ(r.error().code, c.code) << c.packet;
		EXPECT_EQ(r.error().context, c.message) << c.packet;
	}
}

TEST(ProtocolErrors, SyntaxErrorsQuoteTheParser)
{
	auto r = decodeRequest(R"({"id":1,"type":"status",})");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBADMSG);
	EXPECT_EQ(r.error().context.rfind("not valid JSON: parse error at line 1, column 25: syntax error", 0), 0u) << r.error().context;
}

TEST(ProtocolErrors, IdIsSeenForTheErrorReply)
{
	std::optional<RequestId> id;
	auto r = decodeRequest(R"({"id":42,"type":"reboot"})", &id);
	ASSERT_FALSE(r);
	EXPECT_EQ(id, 42u);
	auto reply = encode(failure(id, std::nullopt, r.error()));
	ASSERT_TRUE(reply);
	EXPECT_EQ(*reply, R"x({"error":{"code":"EOPNOTSUPP","errno":95,"message":"request.type: unknown value \"reboot\" (expected one of )x"
			  R"x(hello, status, start, stop, restart, subscribe, inspect, channels, open)"},"id":42,"ok":false})x");

	decodeRequest(R"({"id":"x","type":"status"})", &id).has_value();
	EXPECT_FALSE(id) << "an invalid id is not echoed";
	EXPECT_TRUE(decodeRequest(R"({"id":9,"type":"status"})", &id));
	EXPECT_EQ(id, 9u);
}

TEST(ProtocolErrors, ServerMessagesAreChecked)
{
	struct Case {
		const char *packet;
		const char *message;
	} cases[] = {
		{R"({"id":1})", "message is neither a response (no \"ok\") nor an event (\"type\": \"event\")"},
		{R"({"id":1,"ok":true})", "response.type: missing (a successful response names the request it answers)"},
		{R"({"id":1,"ok":"yes","type":"status"})", "response.ok: expected true or false, got a string"},
		{R"({"id":1,"ok":false})", "response.error: missing (expected an object)"},
		{R"({"id":1,"ok":false,"error":{"code":"busy","errno":16}})", "response.error.code: is \"busy\" (expected an errno name like \"EBUSY\")"},
		{R"({"id":1,"ok":false,"error":{"code":"EBUSY","errno":5000}})", "response.error.errno: 5000 is out of range (expected an integer 0..4095)"},
		{R"({"id":1,"ok":true,"type":"status","remotes":[{"name":"r5-0","index":0,"state":"runing"}]})",
		 "status reply.remotes[0].state: unknown value \"runing\" (expected one of offline, loading, starting, running, running-degraded, "
		 "stopping, crashed, attached, detached, error)"},
		{R"({"id":1,"ok":true,"type":"status","remotes":{}})", "status reply.remotes: expected an array, got an object"},
		{R"({"id":1,"ok":true,"type":"channels","channels":[{"remote":"r5-0","channel":"c","src":1}]})",
		 "channels reply.channels[0].dst: missing (expected an integer 0..4294967295)"},
		{R"({"type":"event","event":"reboot"})",
		 "event.event: unknown value \"reboot\" (expected one of state, channel-up, channel-down)"},
		{R"({"type":"event","event":"state","remote":"r5-0","from":"offline"})", "state event.to: missing (expected a string)"},
	};
	for (const auto &c : cases) {
		auto r = decodeServerMessage(c.packet);
		ASSERT_FALSE(r) << c.packet;
		EXPECT_EQ(r.error().context, c.message) << c.packet;
	}
}

// ---- hostile input ----

TEST(ProtocolHostile, EveryTruncationFailsCleanly)
{
	for (const auto &packet : samplePackets()) {
		for (std::size_t n = 0; n < packet.size(); ++n) {
			std::span<const char> cut(packet.data(), n);
			auto req = decodeRequest(cut);
			auto msg = decodeServerMessage(cut);
			// A prefix of one JSON object is never a whole object.
			EXPECT_FALSE(req) << packet.substr(0, n);
			EXPECT_FALSE(msg) << packet.substr(0, n);
			EXPECT_TRUE(req || !req.error().context.empty());
		}
	}
}

TEST(ProtocolHostile, RandomBytes)
{
	std::mt19937 rng(20240601);
	std::uniform_int_distribution<int> byte(0, 255);
	std::uniform_int_distribution<int> length(0, 300);
	for (int i = 0; i < 20000; ++i) {
		std::string junk(length(rng), '\0');
		for (auto &c : junk)
			c = static_cast<char>(byte(rng));
		if (i % 2)
			junk.insert(0, "{\"id\":1,\"type\":\"");
		decodeBoth(junk);
	}
}

TEST(ProtocolHostile, MutatedValidPackets)
{
	std::mt19937 rng(7);
	const char alphabet[] = "{}[]\":,\\0123456789-+.eEtrufalsn \x00\xff\xc3\xa9u";
	auto packets = samplePackets();
	for (int i = 0; i < 20000; ++i) {
		std::string p = packets[rng() % packets.size()];
		int edits = 1 + rng() % 4;
		for (int e = 0; e < edits && !p.empty(); ++e) {
			std::size_t at = rng() % p.size();
			switch (rng() % 3) {
			case 0: p[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
			case 1: p.erase(at, 1 + rng() % 8); break;
			default: p.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
			}
		}
		decodeBoth(p);
	}
}

TEST(ProtocolHostile, DeepNesting)
{
	std::string deep = "{\"id\":1,\"type\":\"status\",\"x\":" + std::string(30000, '[') + std::string(30000, ']') + "}";
	auto r = decodeRequest(deep);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBADMSG);
	EXPECT_EQ(r.error().context, "nesting deeper than 16 levels at byte 43");

	std::string objects;
	for (int i = 0; i < 20000; ++i)
		objects += "{\"a\":";
	decodeBoth(objects);

	// Brackets inside strings do not count, escaped quotes do not end them.
	std::string inString = R"({"id":1,"type":"status","x":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})";
	EXPECT_TRUE(decodeRequest(inString)) << decodeRequest(inString).error().context;

	std::string ok = "{\"id\":1,\"type\":\"status\",\"x\":" + std::string(15, '[') + std::string(15, ']') + "}";
	EXPECT_TRUE(decodeRequest(ok));
}

TEST(ProtocolHostile, HugeNumbers)
{
	for (const char *n : {"1e400", "-1e400", "1e-400", "18446744073709551615", "18446744073709551616", "-9223372036854775809",
			      "123456789012345678901234567890", "0.0000000000000000000000001", "-0"}) {
		std::string packet = std::string(R"({"type":"open","remote":"r5-0","channel":"c","id":1,"addr":)") + n + "}";
		auto r = decodeRequest(packet);
		if (r) {
			// "-0" is an integer zero.
			EXPECT_STREQ(n, "-0");
			continue;
		}
		EXPECT_FALSE(r.error().context.empty()) << n;
	}
	auto overflow = decodeRequest(R"({"id":1e400,"type":"status"})");
	ASSERT_FALSE(overflow);
	EXPECT_EQ(overflow.error().code, EBADMSG);
	EXPECT_NE(overflow.error().context.find("number overflow"), std::string::npos) << overflow.error().context;
}

TEST(ProtocolHostile, WrongTypesForEveryField)
{
	const char *values[] = {"null", "true", "-1", "1.5", "\"s\"", "[]", "{}", "4294967296"};
	for (auto packet : samplePackets()) {
		auto parsed = decodeRequest(packet);
		bool isRequest = parsed.has_value();
		// Replace each value in turn by each wrong-typed literal: no crash, and an error or a value.
		for (std::size_t colon = packet.find(':'); colon != std::string::npos; colon = packet.find(':', colon + 1)) {
			std::size_t end = packet.find_first_of(",}", colon);
			if (end == std::string::npos || packet[colon + 1] == '{' || packet[colon + 1] == '[')
				continue;
			for (auto v : values) {
				std::string p = packet.substr(0, colon + 1) + v + packet.substr(end);
				if (isRequest) {
					auto r = decodeRequest(p);
					EXPECT_TRUE(r || !r.error().context.empty());
				} else {
					auto r = decodeServerMessage(p);
					EXPECT_TRUE(r || !r.error().context.empty());
				}
			}
		}
	}
}

TEST(ProtocolHostile, NulBytes)
{
	// nlohmann alone would stop at the NUL and accept what came before.
	std::string raw("{\"id\":1,\"type\":\"status\"}\0{\"junk\"", 32);
	auto r = decodeRequest(raw);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EBADMSG);
	EXPECT_EQ(r.error().context, "NUL byte at offset 24 (JSON text has none)");

	std::string inString("{\"id\":1,\"type\":\"start\",\"remote\":\"r5\0\"}", 37);
	r = decodeRequest(inString);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().context, "NUL byte at offset 35 (JSON text has none)");

	r = decodeRequest(R"({"id":1,"type":"inspect","firmware":"/lib/firmware/a\u0000.elf"})");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().context, "inspect.firmware: contains a NUL byte at offset 15");

	auto m = decodeServerMessage(R"({"type":"event","event":"state","remote":"r5-0","from":"offline","to":"loading","reason":"a\u0000b"})");
	ASSERT_FALSE(m);
	EXPECT_EQ(m.error().context, "state event.reason: contains a NUL byte at offset 1");
}

TEST(ProtocolHostile, InvalidUtf8)
{
	const char *bad[] = {
		"\xff",             // never valid
		"\xc0\x80",         // overlong NUL
		"\xed\xa0\x80",     // surrogate
		"\xf4\x90\x80\x80", // above U+10FFFF
		"\xe2\x82",         // truncated
	};
	for (auto b : bad) {
		std::string packet = std::string(R"({"id":1,"type":"hello","version":1,"client":")") + b + "\"}";
		auto r = decodeRequest(packet);
		ASSERT_FALSE(r) << protocol::printable(b, 20);
		EXPECT_EQ(r.error().code, EBADMSG);
		EXPECT_NE(r.error().context.find("not valid JSON"), std::string::npos) << r.error().context;
	}
	auto lone = decodeRequest(R"({"id":1,"type":"hello","version":1,"client":"\ud800"})");
	ASSERT_FALSE(lone);
	EXPECT_NE(lone.error().context.find("surrogate"), std::string::npos) << lone.error().context;

	// Valid multi-byte text passes where free text is allowed.
	auto ok = decodeRequest(R"({"id":1,"type":"hello","version":1,"client":"ampctl \u00e9\u4e2d\ud83d\ude00"})");
	ASSERT_TRUE(ok) << ok.error().context;
	EXPECT_EQ(std::get<Hello>(ok->body).client, "ampctl \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
}

TEST(ProtocolHostile, DuplicateKeysTakeTheLast)
{
	// nlohmann keeps the last; what matters is that validation sees the value used.
	auto r = decodeRequest(R"({"id":1,"type":"start","remote":"r5-0","remote":"a b"})");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().context, "start.remote: has 0x20 at offset 1 (expected printable ASCII without spaces)");
}

// ---- text helpers ----

TEST(ProtocolStream, EventsRoundTrip)
{
	for (const StreamEvent &e : {StreamEvent{StreamDown{"remote crashed", true}},
				     StreamEvent{StreamUp{{"r5-0", "rpmsg-openamp-demo-channel", 0x401, 0x400}}},
				     StreamEvent{StreamError{"EMSGSIZE", EMSGSIZE, "message of 497 bytes not sent (at most 496)"}}}) {
		auto text = encode(e);
		ASSERT_TRUE(text) << text.error().context;
		auto back = decodeStreamEvent(*text);
		ASSERT_TRUE(back) << back.error().context << " in " << *text;
		EXPECT_EQ(*back, e) << *text;
	}
}

// What a stream socket may carry after its kind byte is as untrusted as a
// control packet: every bad one is a worded error, never a crash.
TEST(ProtocolStream, HostileEventsAreRefused)
{
	struct Case {
		std::string text;
		int code;
	};
	for (const Case &c : std::vector<Case>{
		     {"", EBADMSG},
		     {"[]", EBADMSG},
		     {"{", EBADMSG},
		     {std::string("{\"event\":\"down\"}\0", 17), EBADMSG},
		     {std::string(70000, '['), EMSGSIZE},
		     {std::string(100, '[') + std::string(100, ']'), EBADMSG},
		     {"{}", EINVAL},
		     {R"({"event":"sideways"})", EOPNOTSUPP},
		     {R"({"event":7})", EINVAL},
		     {R"({"event":"down","reattach":"yes"})", EINVAL},
		     {R"({"event":"up","remote":"r5-0","channel":"c","src":-1,"dst":1024})", EINVAL},
		     {R"({"event":"up","remote":"r5 0","channel":"c","src":1,"dst":1024})", EINVAL},
		     {R"({"event":"up","remote":"r5-0","channel":"c","src":4294967296,"dst":1024})", EINVAL},
		     {R"({"event":"error","code":"EMSGSIZE","errno":99999})", EINVAL},
		     {R"({"event":"error","errno":90})", EINVAL},
	     }) {
		auto r = decodeStreamEvent(c.text);
		ASSERT_FALSE(r) << c.text.substr(0, 80);
		EXPECT_EQ(r.error().code, c.code) << c.text.substr(0, 80) << ": " << r.error().context;
		EXPECT_FALSE(r.error().context.empty());
	}
}

TEST(ProtocolText, CleanTextKeepsValidUtf8AndCutsOnBoundaries)
{
	EXPECT_EQ(cleanText("abc", 10), "abc");
	EXPECT_EQ(cleanText("a\xff" "b", 10), "a\xef\xbf\xbd" "b");
	EXPECT_EQ(cleanText(std::string_view("a\0b", 3), 10), "a\xef\xbf\xbd" "b");
	EXPECT_EQ(cleanText("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");
	EXPECT_EQ(utf8SequenceLength("\xf0\x9f\x98\x80"), 4u);
	EXPECT_EQ(utf8SequenceLength("\xe0\x80\x80"), 0u);
}

TEST(ProtocolText, ClosestMatch)
{
	constexpr std::string_view words[] = {"autostart", "firmware", "remoteproc"};
	EXPECT_EQ(closestMatch("autostrat", words), "autostart");
	EXPECT_EQ(closestMatch("firmwre", words), "firmware");
	EXPECT_EQ(closestMatch("banana", words), std::nullopt);
	EXPECT_EQ(closestMatch("ab", words), std::nullopt);
}
