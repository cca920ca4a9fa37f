// SPDX-License-Identifier: MIT
// Error texts: errno name, strerror and what we were doing, in one line.
#include "base/result.h"

#include <cstring>

namespace amp {

std::string errnoName(int code)
{
	// strerrorname_np() is glibc 2.32+; it is what we have (Debian 12).
	if (const char *n = ::strerrorname_np(code))
		return n;
	return "E" + std::to_string(code);
}

std::string Error::name() const
{
	return errnoName(code);
}

std::string Error::message() const
{
	std::string text = name() + " (" + ::strerror(code) + ")";
	if (!context.empty())
		text += ": " + context;
	return text;
}

} // namespace amp
