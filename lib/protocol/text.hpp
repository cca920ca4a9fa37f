// SPDX-License-Identifier: MIT
// Text helpers for messages about untrusted input: quoting, UTF-8 clean-up, "did you mean".
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace amp::protocol {

// "0x07": one byte, for "has 0x07 at offset 3".
std::string hexByte(char c);

// `text` made safe to quote in a log line or an error message: printable
// ASCII kept, everything else as \xNN, cut to `max` bytes with "...".
std::string printable(std::string_view text, std::size_t max);

// `text` as valid UTF-8 without NUL bytes (bad sequences and NULs become
// U+FFFD), cut on a character boundary to at most `max` bytes.
std::string cleanText(std::string_view text, std::size_t max);

// The length of the valid UTF-8 sequence at the start of `text` (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), 0 if invalid.
std::size_t utf8SequenceLength(std::string_view text);

// The candidate nearest to `word` when it is plausibly a typo of it (edit
// distance at most 2, and less than half the word), for "did you mean ...?".
std::optional<std::string> closestMatch(std::string_view word, std::span<const std::string_view> candidates);

} // namespace amp::protocol
