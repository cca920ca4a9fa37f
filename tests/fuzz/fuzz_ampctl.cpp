// SPDX-License-Identifier: MIT
// libFuzzer target for ampctl's parsers: what a user types (--hex bytes,
// --sizes A..B, remote and channel names, wait's state word) and what a
// remote sends back (the echo test's echo, the matmul product, any
// message that listen/send --reply show as text, hex or JSON). The same
// bytes go through each; every one fails cleanly or round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ampctl.hpp"
#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

using namespace amp;
using namespace amp::cli;

namespace {

using Bytes = std::vector<std::uint8_t>;

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_ampctl: %s: %s\n", what, detail.c_str());
	__builtin_trap();
}

std::uint64_t le(const std::uint8_t *p, int n)
{
	std::uint64_t v = 0;
	for (int i = n - 1; i >= 0; --i)
		v = v << 8 | p[i];
	return v;
}

int hexDigit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The inverse of the text form: \xNN, \" and \\ escapes, the rest as is.
Bytes unescape(std::string_view text)
{
	Bytes out;
	for (std::size_t i = 0; i < text.size(); ++i) {
		if (text[i] != '\\') {
			out.push_back(static_cast<std::uint8_t>(text[i]));
			continue;
		}
		if (i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
			out.push_back(static_cast<std::uint8_t>(text[++i]));
		} else if (i + 3 < text.size() && text[i + 1] == 'x' && hexDigit(text[i + 2]) >= 0 && hexDigit(text[i + 3]) >= 0) {
			out.push_back(static_cast<std::uint8_t>(hexDigit(text[i + 2]) << 4 | hexDigit(text[i + 3])));
			i += 3;
		} else {
			fail("stray backslash in a message's text form", std::string(text));
		}
	}
	return out;
}

void userText(std::string_view text)
{
	// --hex: bytes that print back as hex and parse again to themselves.
	if (auto bytes = parseHex(text)) {
		std::size_t digits = 0;
		for (char c : text)
			digits += c != ' ' && c != '\t' && c != '\n' && c != '\r';
		if (bytes->size() * 2 != digits)
			fail("--hex made a byte of other than two digits", std::string(text));
		if (auto back = parseHex(formatMessage(*bytes, MessageFormat::Hex)); !back || *back != *bytes)
			fail("--hex bytes do not survive printing them", std::string(text));
	} else if (bytes.error().context.empty()) {
		fail("--hex refused without saying where", std::string(text));
	}

	// --sizes: a range inside 1..472 or nothing.
	if (auto range = parseSizeRange(text)) {
		if (range->first < 1 || range->first > range->second || range->second > kEchoMaxSize)
			fail("--sizes range out of bounds", std::string(text));
		if (echoPayload(0, range->second).size() != kEchoHeader + range->second)
			fail("echo payload of the wrong size", std::string(text));
	}

	// Remote and channel names are checked before anything is sent; the
	// complaint quotes the name printably.
	if (auto bad = badName("remote", text)) {
		for (unsigned char c : *bad)
			if (c < 0x20 || c >= 0x7f)
				fail("name complaint with an unprintable byte", *bad);
	} else {
		if (text.empty() || text.size() > protocol::kMaxName)
			fail("name of that length accepted", std::string(text));
		for (unsigned char c : text)
			if (c <= 0x20 || c >= 0x7f)
				fail("name with a space or an unprintable byte accepted", std::string(text));
	}

	// wait's STATE, and the suggestion for a typo.
	if (auto state = parseRemoteState(text)) {
		if (toString(*state) != text)
			fail("state word read as another", std::string(text));
	} else {
		static constexpr std::string_view names[] = {"offline", "loading", "starting", "running", "running-degraded",
							      "stopping", "crashed", "attached", "detached", "error"};
		if (auto near = protocol::closestMatch(text, names); near && !parseRemoteState(*near))
			fail("suggested a state that is none", *near);
	}
}

void remoteBytes(std::span<const std::uint8_t> m)
{
	// listen / send --reply: the text form is printable ASCII that
	// unescapes to the message; the hex form parses back; the JSON is
	// JSON with the message's size and bytes.
	const Bytes bytes(m.begin(), m.end());
	std::string text = formatMessage(m, MessageFormat::Text), hex = formatMessage(m, MessageFormat::Hex),
		    shown = formatMessage(m, MessageFormat::Auto);
	for (const std::string *form : {&text, &hex})
		for (unsigned char c : *form)
			if (c < 0x20 || c >= 0x7f)
				fail("message shown with an unprintable byte", *form);
	if (unescape(text) != bytes)
		fail("text form does not give the message back", text);
	if (auto back = parseHex(hex); !back || *back != bytes)
		fail("hex form does not give the message back", hex);
	if (shown != text && shown != hex)
		fail("listen's automatic form is neither text nor hex", shown);
	for (auto format : {MessageFormat::Auto, MessageFormat::Text, MessageFormat::Hex})
		if (formatMessageLine(m, format).rfind("[" + std::to_string(m.size()) + "]", 0) != 0)
			fail("message line without its size", shown);
	nlohmann::json j = nlohmann::json::parse(messageJson(m), nullptr, false);
	if (j.is_discarded() || j["size"] != m.size() || !j["hex"].is_string())
		fail("message JSON", messageJson(m));
	auto hexBack = parseHex(j["hex"].get<std::string>());
	if (!hexBack || *hexBack != Bytes(m.begin(), m.end()))
		fail("message JSON hex does not give the message back", messageJson(m));
	if (j.contains("text") && j["text"].get<std::string>() != std::string(m.begin(), m.end()))
		fail("message JSON text is not the message", messageJson(m));

	// The echo test: an echo judged against what its header claims is
	// fine exactly when it is that payload.
	if (m.size() >= kEchoHeader) {
		std::uint64_t num = le(m.data(), 8), size = le(m.data() + 8, 8);
		if (size <= 4096) {
			auto problem = echoProblem(num, size, m);
			if (problem.has_value() == (echoPayload(num, size) == Bytes(m.begin(), m.end())))
				fail("echo judged wrongly", problem.value_or("fine"));
			if (problem && problem->empty())
				fail("echo problem without words", "");
		}
	}
	(void)echoProblem(1, 472, m);

	// matmul: the product is 148 bytes with size 6, and reads as sent.
	auto product = parseMatrix(m);
	if (product.has_value() != (m.size() == kMatrixBytes && le(m.data(), 4) == kMatrixN))
		fail("matrix accepted or refused wrongly", std::to_string(m.size()) + " bytes");
	if (product) {
		Matrix zero{};
		Bytes again = matmulRequest(*product, zero);
		if (!std::equal(m.begin(), m.end(), again.begin()))
			fail("matrix does not read as sent", "");
		(void)formatMatrices(*product, *product, *product);
		if (nlohmann::json::parse(matrixJson(*product), nullptr, false).is_discarded())
			fail("matrix JSON", matrixJson(*product));
	} else if (product.error().context.empty()) {
		fail("matrix refused without words", "");
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	userText(std::string_view(reinterpret_cast<const char *>(data), size));
	remoteBytes(std::span<const std::uint8_t>(data, size));
	return 0;
}
