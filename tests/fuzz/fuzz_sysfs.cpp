// SPDX-License-Identifier: MIT
// libFuzzer target for the text ampd reads from sysfs and directory names:
// remoteproc state and recovery words, remoteprocN names, rpmsg bus device
// names ("virtio0.<service>.<src>.<dst>"), the `dst` attribute, the
// owning-core path, rpmsg_char node names and firmware names (which come
// from the firmware attribute, the config and clients). Each parser takes
// any bytes, and what it accepts means what the kernel meant.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "kernel/firmware.h"
#include "kernel/remoteproc.h"
#include "kernel/rpmsg.h"

using namespace amp::kernel;

namespace {

[[noreturn]] void fail(const char *what, std::string_view text)
{
	std::string shown;
	for (unsigned char c : text) {
		char esc[8];
		std::snprintf(esc, sizeof esc, c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
		shown += esc;
	}
	std::fprintf(stderr, "fuzz_sysfs: %s: '%s'\n", what, shown.c_str());
	__builtin_trap();
}

bool allDigits(std::string_view s)
{
	return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The kernel's "%d" of a u32 address (rpmsg device names, endpoint attributes).
std::string signedDec(uint32_t v)
{
	return std::to_string(static_cast<int32_t>(v));
}

void stateWord(std::string_view text)
{
	RprocStateWord w = parseRprocState(text);
	if (w.word != text)
		fail("state word not kept as read", text);
	if (w.state != RprocState::Unknown && text != rprocStateName(w.state))
		fail("state word parsed as another state", text);
	// The start check decides on the state alone, and refuses with words.
	auto startable = Remoteproc::checkStartable(w);
	if (static_cast<bool>(startable) != (w.state == RprocState::Offline || w.state == RprocState::Detached))
		fail("startable disagrees with the state", text);
	if (!startable && startable.error().context.empty())
		fail("start refused without a reason", text);
}

void recoveryWord(std::string_view text)
{
	auto r = parseRecovery(text);
	if (r.has_value() != (text == "enabled" || text == "disabled"))
		fail("recovery word misread", text);
}

void remoteprocName(std::string_view text)
{
	auto idx = Remoteproc::parseIndex(text);
	bool shaped = text.size() > 10 && text.substr(0, 10) == "remoteproc" && allDigits(text.substr(10));
	if (idx && (!shaped || *idx < 0))
		fail("parseIndex accepted a name that is no remoteprocN", text);
	if (idx && text.substr(10).find_first_not_of('0') != std::string_view::npos &&
	    text.substr(10).substr(text.substr(10).find_first_not_of('0')) != std::to_string(*idx))
		fail("parseIndex read another number", text);
	// Short enough to fit an int: accepted.
	if (shaped && text.size() <= 19 && !idx)
		fail("parseIndex refused remoteprocN", text);
	// The same name as a path component (a channel's real path).
	if (text.find('/') != std::string_view::npos)
		return;
	auto viaPath = remoteprocOfPath("/devices/platform/r5f/remoteproc/" + std::string(text) + "/virtio0");
	if (viaPath && !shaped)
		fail("remoteprocOfPath accepted a component that is no remoteprocN", text);
	if (viaPath && idx && *viaPath != *idx)
		fail("remoteprocOfPath and parseIndex disagree", text);
}

void channelDevice(std::string_view text)
{
	auto c = parseChannelDevice(text);
	if (!c)
		return;
	if (c->device != text || c->virtio.empty() || c->virtio.find('.') != std::string::npos)
		fail("channel device split wrongly", text);
	if (text.substr(0, c->virtio.size() + 1 + c->service.size() + 1) != c->virtio + "." + c->service + ".")
		fail("service is not the middle of the name", text);
	// The kernel names a channel "%s.%s.%d.%d" with u32 addresses: what
	// the name says must be an address the kernel can have printed, and
	// printing it again must name the same channel.
	if (c->nameSrc < INT32_MIN || c->nameSrc > INT32_MAX || c->nameDst < INT32_MIN || c->nameDst > INT32_MAX)
		fail("channel address outside what %d prints for a u32", text);
	if (static_cast<int32_t>(c->localAddr()) != c->nameSrc || static_cast<int32_t>(c->remoteAddr()) != c->nameDst)
		fail("channel address is not the u32 the kernel printed", text);
	std::string again = c->virtio + "." + c->service + "." + signedDec(c->localAddr()) + "." + signedDec(c->remoteAddr());
	auto back = parseChannelDevice(again);
	if (!back || back->virtio != c->virtio || back->service != c->service || back->localAddr() != c->localAddr() ||
	    back->remoteAddr() != c->remoteAddr())
		fail("channel address does not survive printing it", text);
	(void)isControlDevice(*c);
}

void dstAttr(std::string_view text)
{
	auto v = parseDstAttr(text);
	if (!v)
		return;
	// rpmsg_core shows "0x%x": printing the value back must read the same.
	char buf[16];
	std::snprintf(buf, sizeof buf, "0x%x", *v);
	if (parseDstAttr(buf) != v)
		fail("dst attribute does not read back", text);
	std::string_view digits = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? text.substr(2) : text;
	if (digits.empty() || digits.size() > 8 || digits.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
		fail("dst attribute accepted with no hex number", text);
}

void endpointNode(std::string_view text)
{
	bool node = isEndpointNodeName(text);
	if (node != (text.size() > 5 && text.substr(0, 5) == "rpmsg" && allDigits(text.substr(5))))
		fail("endpoint node name misread", text);
}

void firmwareName(std::string_view text)
{
	auto ok = checkFirmwareName(text);
	if (!ok) {
		if (ok.error().context.empty())
			fail("firmware name refused without a reason", text);
		return;
	}
	// What passes is relative, one line, and never climbs out of the search path.
	if (text.empty() || text.front() == '/' || text.find('\n') != std::string_view::npos ||
	    text.find('\0') != std::string_view::npos)
		fail("firmware name accepted", text);
	std::string wrapped = "/" + std::string(text) + "/";
	if (wrapped.find("/../") != std::string::npos)
		fail("firmware name with '..' accepted", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view raw(reinterpret_cast<const char *>(data), size);
	// readAttr() strips one newline: parse what it hands over, and the raw
	// text as a directory entry name (sysfs never adds a newline there).
	std::string_view attr = raw;
	if (!attr.empty() && attr.back() == '\n')
		attr.remove_suffix(1);
	for (std::string_view text : {attr, raw}) {
		stateWord(text);
		recoveryWord(text);
		remoteprocName(text);
		channelDevice(text);
		dstAttr(text);
		endpointNode(text);
		firmwareName(text);
	}
	// A whole path: the first remoteprocN component wins.
	if (auto idx = remoteprocOfPath(raw); idx && *idx < 0)
		fail("negative core index from a path", raw);
	return 0;
}
