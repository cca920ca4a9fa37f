// SPDX-License-Identifier: MIT
// What ampctl send sends: a message's bytes from hex digits or from a file.
#include "ampctl.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace amp::cli {

namespace {

int hexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool isSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

Result<std::vector<std::uint8_t>> parseHex(std::string_view text)
{
	// Bytes are pairs of digits; spaces may separate pairs ("de ad"), never
	// split one ("d ead" is a mistake, not 0x0d 0xea...).
	std::vector<std::uint8_t> bytes;
	std::size_t i = 0;
	while (i < text.size()) {
		if (isSpace(text[i])) {
			++i;
			continue;
		}
		int high = hexDigit(text[i]);
		if (high < 0)
			return unexpected(EINVAL, "'" + std::string(1, text[i]) + "' at position " + std::to_string(i + 1) + " is not a hex digit");
		if (i + 1 >= text.size() || isSpace(text[i + 1]))
			return unexpected(EINVAL, "a lone hex digit at position " + std::to_string(i + 1) + " (a byte is two digits)");
		int low = hexDigit(text[i + 1]);
		if (low < 0)
			return unexpected(EINVAL, "'" + std::string(1, text[i + 1]) + "' at position " + std::to_string(i + 2) +
							  " is not a hex digit");
		bytes.push_back(static_cast<std::uint8_t>(high << 4 | low));
		i += 2;
	}
	return bytes;
}

Result<std::vector<std::uint8_t>> readMessageFile(const std::string &path, std::size_t max)
{
	UniqueFd owned;
	int fd = STDIN_FILENO;
	if (path != "-") {
		owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
		if (!owned) {
			int code = errno;
			return unexpected(code, "cannot open " + path + ": " + ::strerror(code));
		}
		fd = owned.get();
	}
	const std::string name = path == "-" ? "standard input" : path;
	// One byte more than allowed tells a file that is too long from one
	// that just fits, without reading a large one whole.
	std::vector<std::uint8_t> data(max + 1);
	std::size_t done = 0;
	while (done < data.size()) {
		ssize_t n = ::read(fd, data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int code = errno;
			return unexpected(code, "cannot read " + name + ": " + ::strerror(code));
		}
		if (n == 0)
			break;
		done += static_cast<std::size_t>(n);
	}
	if (done > max)
		return unexpected(EMSGSIZE, name + " is more than " + std::to_string(max) + " bytes (one rpmsg message)");
	data.resize(done);
	return data;
}

Error streamFailure(const Context &ctx, const Error &error)
{
	if (error.code != ENOTCONN)
		return error;
	if (!ctx.json)
		*ctx.out << "-- down: " << error.context << std::endl;
	return Error{error.code, "the stream went down: " + error.context};
}

} // namespace amp::cli
