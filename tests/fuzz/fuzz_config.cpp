// SPDX-License-Identifier: MIT
// libFuzzer target for the configuration loader: any bytes load or fail with a positioned message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto cfg = amp::parseConfig(text, "ampd.json");
	// Every failure names the file and a position (or says it ran out of memory).
	if (!cfg && cfg.error().context.rfind("ampd.json:", 0) != 0)
		__builtin_trap();
	return 0;
}
