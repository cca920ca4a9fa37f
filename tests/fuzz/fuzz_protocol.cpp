// SPDX-License-Identifier: MIT
// libFuzzer target for the control protocol: any bytes decode or fail cleanly, and what decodes re-encodes to itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "protocol/protocol.hpp"

using namespace amp::protocol;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_protocol: %s: %s\n", what, detail.c_str());
	__builtin_trap();
}

// A decoded message must encode, and decode again to the same value: the
// server answers with what it understood, so both directions must agree.
template <typename T, typename Decode> void roundTrip(const T &message, Decode decode)
{
	auto text = encode(message);
	if (!text)
		fail("decoded message does not encode", text.error().context);
	auto back = decode(*text);
	if (!back)
		fail("re-encoded message does not decode", back.error().context + " in " + *text);
	if (!(*back == message))
		fail("round trip changed the message", *text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::span<const char> packet(reinterpret_cast<const char *>(data), size);

	std::optional<RequestId> id;
	auto request = decodeRequest(packet, &id);
	if (request) {
		roundTrip(*request, [](const std::string &t) { return decodeRequest(t); });
	} else {
		if (request.error().context.empty() || request.error().code == 0)
			fail("request error without words", "");
		// The server answers every undecodable packet; that reply must encode.
		auto reply = encode(failure(id, std::nullopt, request.error()));
		if (!reply)
			fail("error reply does not encode", reply.error().context);
	}

	auto message = decodeServerMessage(packet);
	if (message) {
		if (const auto *response = std::get_if<Response>(&*message))
			roundTrip(*response, [](const std::string &t) -> amp::Result<Response> {
				auto m = decodeServerMessage(t);
				if (!m)
					return amp::unexpected(std::move(m).error());
				if (!std::holds_alternative<Response>(*m))
					return amp::unexpected(EINVAL, "became an event");
				return std::get<Response>(*m);
			});
		else
			roundTrip(std::get<Event>(*message), [](const std::string &t) -> amp::Result<Event> {
				auto m = decodeServerMessage(t);
				if (!m)
					return amp::unexpected(std::move(m).error());
				if (!std::holds_alternative<Event>(*m))
					return amp::unexpected(EINVAL, "became a response");
				return std::get<Event>(*m);
			});
	} else if (message.error().context.empty() || message.error().code == 0) {
		fail("message error without words", "");
	}

	// The same bytes as a stream event (what follows a stream packet's kind byte).
	auto streamEvent = decodeStreamEvent(packet);
	if (streamEvent)
		roundTrip(*streamEvent, [](const std::string &t) { return decodeStreamEvent(t); });
	else if (streamEvent.error().context.empty() || streamEvent.error().code == 0)
		fail("stream event error without words", "");
	return 0;
}
