// SPDX-License-Identifier: MIT
// libFuzzer target for the proxy wire format: any bytes a remote sends decode or fail cleanly, and what decodes re-encodes to itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "proxy/wire.hpp"

using namespace amp::proxy;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_proxy: %s: %s\n", what, detail.c_str());
	__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::span<const std::uint8_t> message(data, size);
	std::optional<std::uint32_t> id;
	auto request = decodeRequest(message, &id);
	// The server answers a malformed call by its id: there must be one
	// exactly when the message has its first four bytes.
	if (id.has_value() != (size >= 4))
		fail("id reported wrongly", std::to_string(size) + " bytes");
	if (!request) {
		if (request.error().context.empty() || request.error().code == 0)
			fail("error without words", "");
		return 0;
	}
	if (size < kHeaderSize || size > kMaxMessage)
		fail("decoded a message of impossible size", std::to_string(size));
	// What the server acts on must re-encode and decode to the same request.
	auto again = encodeRequest(*request);
	if (!again)
		fail("decoded request does not encode", again.error().context);
	auto back = decodeRequest(again->span());
	if (!back)
		fail("re-encoded request does not decode", back.error().context);
	if (!(*back == *request))
		fail("round trip changed the request", callName(*id));
	// Views stay inside the message.
	if (const auto *o = std::get_if<OpenRequest>(&*request)) {
		const char *p = o->path.data();
		if (o->path.empty() || p < reinterpret_cast<const char *>(data) ||
		    p + o->path.size() >= reinterpret_cast<const char *>(data) + size)
			fail("path outside the message", "");
	}
	if (const auto *w = std::get_if<WriteRequest>(&*request))
		if (!w->data.empty() && (w->data.data() < data || w->data.data() + w->data.size() > data + size))
			fail("data outside the message", "");
	// A reply to it always fits one message.
	std::uint8_t big[kMaxMessage * 2] = {};
	Message reply = encodeReply(*id, -1, {big, size < sizeof big ? size : sizeof big});
	if (reply.size > kMaxMessage || !decodeReply(reply.span()))
		fail("reply does not fit", std::to_string(reply.size));
	return 0;
}
