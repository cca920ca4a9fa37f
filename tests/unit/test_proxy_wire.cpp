// SPDX-License-Identifier: MIT
// The proxy wire format: the demo's messages decode, anything else fails with words, nothing trusts data_len or f2.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "proxy/wire.hpp"

namespace amp::proxy {
namespace {

using Bytes = std::vector<uint8_t>;

void put32(Bytes &b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b.push_back(uint8_t(v >> (8 * i)));
}

// A message as a remote may send it: any header, any data.
Bytes raw(uint32_t id, int32_t f1, int32_t f2, uint32_t dataLen, const std::string &data = {})
{
	Bytes b;
	put32(b, id);
	put32(b, uint32_t(f1));
	put32(b, uint32_t(f2));
	put32(b, dataLen);
	b.insert(b.end(), data.begin(), data.end());
	return b;
}

Result<Request> decode(const Bytes &b, std::optional<uint32_t> *id = nullptr)
{
	return decodeRequest(std::span<const uint8_t>(b), id);
}

TEST(ProxyWire, DecodesTheDemosOpen)
{
	// open("remote.file", O_CREAT | O_WRONLY | O_APPEND, S_IRUSR | S_IWUSR)
	Bytes m = raw(1, 0x441, 0600, 12, std::string("remote.file\0", 12));
	auto r = decode(m);
	ASSERT_TRUE(r) << r.error().message();
	auto *open = std::get_if<OpenRequest>(&*r);
	ASSERT_NE(open, nullptr);
	EXPECT_EQ(open->flags, 0x441);
	EXPECT_EQ(open->mode, 0600);
	EXPECT_EQ(open->path, "remote.file");
}

TEST(ProxyWire, DecodesWriteWithTheConsolesTrailingNul)
{
	// _write(1, ...) sends data_len = length + 1: the NUL is not written.
	Bytes m = raw(3, 1, 5, 6, std::string("hello\0", 6));
	auto r = decode(m);
	ASSERT_TRUE(r) << r.error().message();
	auto *w = std::get_if<WriteRequest>(&*r);
	ASSERT_NE(w, nullptr);
	EXPECT_EQ(w->fd, 1);
	EXPECT_EQ(std::string(w->data.begin(), w->data.end()), "hello");
}

TEST(ProxyWire, DecodesCloseReadAckTerm)
{
	auto c = decode(raw(2, 3, 0, 0));
	ASSERT_TRUE(c);
	EXPECT_EQ(std::get<CloseRequest>(*c).fd, 3);
	auto rd = decode(raw(4, 0, 1024, 0));
	ASSERT_TRUE(rd);
	EXPECT_EQ(std::get<ReadRequest>(*rd), (ReadRequest{0, 1024}));
	auto ack = decode(raw(5, 7, 0, 0));
	ASSERT_TRUE(ack);
	EXPECT_EQ(std::get<AckRequest>(*ack).status, 7);
	// The demo leaves TERM's fields uninitialised: its data_len means nothing.
	auto term = decode(raw(6, -1, -1, 0xffffffff));
	ASSERT_TRUE(term);
	EXPECT_TRUE(std::holds_alternative<TermRequest>(*term));
}

TEST(ProxyWire, ShorterThanTheHeaderIsRefusedWithTheIdWhenThereIsOne)
{
	for (size_t n = 0; n < kHeaderSize; n++) {
		Bytes m = raw(1, 0, 0, 0);
		m.resize(n);
		std::optional<uint32_t> id;
		auto r = decode(m, &id);
		ASSERT_FALSE(r) << n;
		EXPECT_EQ(r.error().code, EBADMSG) << n;
		EXPECT_NE(r.error().context.find("shorter than"), std::string::npos) << r.error().context;
		EXPECT_EQ(id.has_value(), n >= 4) << n;
		if (id)
			EXPECT_EQ(*id, 1u);
	}
}

TEST(ProxyWire, DataLenIsNeverTrusted)
{
	for (uint32_t len : {13u, 100u, 481u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
		std::optional<uint32_t> id;
		auto r = decode(raw(1, 0, 0, len, std::string("remote.file\0", 12)), &id);
		ASSERT_FALSE(r) << len;
		EXPECT_EQ(r.error().code, EBADMSG);
		EXPECT_NE(r.error().context.find("runs past"), std::string::npos) << r.error().context;
		EXPECT_EQ(id, std::optional<uint32_t>(1));
	}
	// WRITE too: the length may not point past what came.
	auto w = decode(raw(3, 3, 4, 400, "abcd"));
	ASSERT_FALSE(w);
	EXPECT_EQ(w.error().code, EBADMSG);
}

TEST(ProxyWire, OversizedMessagesAreRefused)
{
	Bytes m = raw(1, 0, 0, 600, std::string(599, 'a') + '\0');
	std::optional<uint32_t> id;
	auto r = decode(m, &id);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EMSGSIZE);
	EXPECT_EQ(id, std::optional<uint32_t>(1));
	// 496 is the most one rpmsg message holds: still fine.
	Bytes max = raw(3, 3, 480, 480, std::string(480, 'x'));
	ASSERT_EQ(max.size(), kMaxMessage);
	EXPECT_TRUE(decode(max));
}

TEST(ProxyWire, UnknownIdsAreAProtocolError)
{
	for (uint32_t id : {0u, 7u, 0x74696e69u /* "init" */, 0xffffffffu}) {
		std::optional<uint32_t> seen;
		auto r = decode(raw(id, 0, 0, 0), &seen);
		ASSERT_FALSE(r) << id;
		EXPECT_EQ(r.error().code, EPROTO);
		EXPECT_EQ(seen, std::optional<uint32_t>(id));
		EXPECT_FALSE(expectsReply(id));
	}
}

TEST(ProxyWire, OpenPathIsExactlyOneNulTerminatedString)
{
	struct Case {
		std::string data;
		const char *why;
	};
	const Case cases[] = {
		{"", "no path"},
		{std::string("\0", 1), "empty path"},
		{"remote.file", "not NUL-terminated"},
		{std::string("ok\0../../etc/passwd\0", 20), "NUL inside the path"},
		{std::string("\0/etc/passwd\0", 13), "NUL inside the path"},
	};
	for (const Case &c : cases) {
		auto r = decode(raw(1, 0, 0, uint32_t(c.data.size()), c.data));
		ASSERT_FALSE(r) << c.why;
		EXPECT_EQ(r.error().code, EBADMSG);
		EXPECT_NE(r.error().context.find(c.why), std::string::npos) << r.error().context;
	}
}

TEST(ProxyWire, WriteLengthMustLieWithinTheData)
{
	EXPECT_FALSE(decode(raw(3, 3, -1, 4, "abcd")));
	EXPECT_FALSE(decode(raw(3, 3, INT32_MIN, 4, "abcd")));
	EXPECT_FALSE(decode(raw(3, 3, 5, 4, "abcd")));
	Bytes m = raw(3, 3, 3, 4, "abcd");
	auto r = decode(m);
	ASSERT_TRUE(r);
	EXPECT_EQ(std::get<WriteRequest>(*r).data.size(), 3u);
	auto empty = decode(raw(3, 3, 0, 0));
	ASSERT_TRUE(empty);
	EXPECT_TRUE(std::get<WriteRequest>(*empty).data.empty());
}

TEST(ProxyWire, ReadLengthMustNotBeNegative)
{
	auto r = decode(raw(4, 3, -1, 0));
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().context.find("negative length"), std::string::npos);
	EXPECT_TRUE(decode(raw(4, 3, INT32_MAX, 0)));
}

TEST(ProxyWire, BytesPastDataLenAreIgnored)
{
	Bytes m = raw(1, 0, 0, 2, std::string("a\0zzzz", 6)); // the request views it
	auto r = decode(m);
	ASSERT_TRUE(r);
	EXPECT_EQ(std::get<OpenRequest>(*r).path, "a");
}

TEST(ProxyWire, RepliesHaveTheDemosLayout)
{
	Message m = encodeReply(uint32_t(Call::Open), 3);
	EXPECT_EQ(Bytes(m.span().begin(), m.span().end()), raw(1, 3, 0, 0));
	m = encodeReply(uint32_t(Call::Read), 4, std::span<const uint8_t>(reinterpret_cast<const uint8_t *>("abcd"), 4));
	EXPECT_EQ(Bytes(m.span().begin(), m.span().end()), raw(4, 4, 0, 4, "abcd"));
	m = encodeReply(uint32_t(Call::Close), -1);
	EXPECT_EQ(Bytes(m.span().begin(), m.span().end()), raw(2, -1, 0, 0));
	// A reply never carries more than one message holds.
	Bytes big(1000, 'x');
	m = encodeReply(uint32_t(Call::Read), 1000, big);
	EXPECT_EQ(m.size, kMaxMessage);
	auto back = decodeReply(m.span());
	ASSERT_TRUE(back);
	EXPECT_EQ(back->data.size(), kMaxReadReply);
}

TEST(ProxyWire, InitMessageIsNineBytes)
{
	EXPECT_EQ(kInitMessage.size(), 9u);
	EXPECT_EQ(std::memcmp(kInitMessage.data(), "init_msg\0", 9), 0);
}

TEST(ProxyWire, RequestsRoundTrip)
{
	const std::string path = "dir/remote.file";
	const Bytes data = {1, 2, 3, 0, 255};
	const Request requests[] = {OpenRequest{0x441, 0600, path}, CloseRequest{3}, WriteRequest{1, data},
				    ReadRequest{0, 480}, AckRequest{-2}, TermRequest{}};
	for (const Request &req : requests) {
		auto m = encodeRequest(req);
		ASSERT_TRUE(m);
		auto back = decodeRequest(m->span());
		ASSERT_TRUE(back) << back.error().message();
		EXPECT_TRUE(*back == req) << req.index();
	}
	EXPECT_FALSE(encodeRequest(OpenRequest{0, 0, std::string(480, 'a')}));
	EXPECT_FALSE(encodeRequest(WriteRequest{3, Bytes(481)}));
}

// Random bytes, random sizes, and valid headers with random fields: every
// outcome is a request or an error with a code and words.
TEST(ProxyWire, GarbageDecodesOrFailsWithWords)
{
	std::mt19937 rng(20240611);
	for (int i = 0; i < 200000; i++) {
		size_t n = rng() % 600;
		Bytes m(n);
		for (auto &b : m)
			b = uint8_t(rng());
		if (n >= 4 && (i & 1))
			m[0] = uint8_t(1 + rng() % 6), m[1] = m[2] = m[3] = 0;
		if (n >= 16 && (i & 2)) {
			uint32_t len = rng() % 520;
			std::memcpy(&m[12], &len, 4);
		}
		std::optional<uint32_t> id;
		auto r = decodeRequest(m, &id);
		if (r)
			continue;
		ASSERT_NE(r.error().code, 0);
		ASSERT_FALSE(r.error().context.empty());
		ASSERT_EQ(id.has_value(), n >= 4);
	}
}

} // namespace
} // namespace amp::proxy
