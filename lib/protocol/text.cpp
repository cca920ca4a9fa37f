// SPDX-License-Identifier: MIT
// Text helpers for messages about untrusted input: quoting, UTF-8 clean-up, "did you mean".
#include "protocol/text.hpp"

#include <algorithm>
#include <vector>

namespace amp::protocol {

std::string hexByte(char c)
{
	static constexpr char digits[] = "0123456789abcdef";
	auto b = static_cast<unsigned char>(c);
	return std::string{'0', 'x', digits[b >> 4], digits[b & 15]};
}

std::string printable(std::string_view text, std::size_t max)
{
	std::string out;
	for (char c : text) {
		if (out.size() >= max) {
			out += "...";
			break;
		}
		auto b = static_cast<unsigned char>(c);
		if (b == '"' || b == '\\') {
			out += '\\';
			out += c;
		} else if (b >= 0x20 && b < 0x7f) {
			out += c;
		} else {
			out += "\\x" + hexByte(c).substr(2);
		}
	}
	return out;
}

std::size_t utf8SequenceLength(std::string_view s)
{
	if (s.empty())
		return 0;
	auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
	auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) { return i < s.size() && b(i) >= lo && b(i) <= hi; };
	unsigned c = b(0);
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return cont(1) ? 2 : 0;
	if (c == 0xE0)
		return cont(1, 0xA0) && cont(2) ? 3 : 0;
	if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		return cont(1) && cont(2) ? 3 : 0;
	if (c == 0xED)
		return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
	if (c == 0xF0)
		return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
	if (c >= 0xF1 && c <= 0xF3)
		return cont(1) && cont(2) && cont(3) ? 4 : 0;
	if (c == 0xF4)
		return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
	return 0;
}

std::string cleanText(std::string_view text, std::size_t max)
{
	static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
	std::string out;
	out.reserve(std::min(text.size(), max));
	while (!text.empty()) {
		std::size_t n = utf8SequenceLength(text);
		std::string_view piece = (n == 0 || text[0] == '\0') ? kReplacement : text.substr(0, n);
		if (out.size() + piece.size() > max)
			break;
		out += piece;
		text.remove_prefix(n == 0 ? 1 : n);
	}
	return out;
}

namespace {

std::size_t editDistance(std::string_view a, std::string_view b)
{
	// Optimal string alignment: a swapped pair of letters counts once.
	std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
	for (std::size_t i = 0; i <= a.size(); ++i)
		d[i][0] = i;
	for (std::size_t j = 0; j <= b.size(); ++j)
		d[0][j] = j;
	for (std::size_t i = 1; i <= a.size(); ++i)
		for (std::size_t j = 1; j <= b.size(); ++j) {
			std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[a.size()][b.size()];
}

} // namespace

std::optional<std::string> closestMatch(std::string_view word, std::span<const std::string_view> candidates)
{
	if (word.size() > 64)
		return std::nullopt;
	std::optional<std::string> best;
	std::size_t bestDistance = 3;
	for (auto c : candidates) {
		std::size_t d = editDistance(word, c);
		if (d < bestDistance && d * 2 < std::max(word.size(), c.size())) {
			bestDistance = d;
			best = std::string(c);
		}
	}
	return best;
}

} // namespace amp::protocol
