// SPDX-License-Identifier: MIT
// remoteproc through sysfs (kernel-abi.md section 1): enumerate cores, read
// and write state/firmware/recovery with the kernel's errno kept, and the
// messages that tell a user what each errno means for their core.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"

namespace amp::kernel {

// The state words of state_show(). Unknown keeps the text (a vendor word,
// or one a future kernel adds) so it can still be shown as read.
enum class RprocState { Offline, Suspended, Running, Crashed, Deleted, Invalid, Attached, Detached, Unknown };

struct RprocStateWord {
	RprocState state = RprocState::Unknown;
	std::string word; // as read, newline stripped
	bool operator==(const RprocStateWord &) const = default;
};

RprocStateWord parseRprocState(std::string_view word);
// The kernel's word for a known state ("unknown" for Unknown).
const char *rprocStateName(RprocState state);

// The `recovery` attribute (newline stripped): "enabled" or "disabled";
// nullopt for anything else.
std::optional<bool> parseRecovery(std::string_view word);

// One `sys/class/remoteproc/remoteprocN` as read at one moment.
struct RemoteprocInfo {
	int index = -1;
	std::string dir;      // "sys/class/remoteproc/remoteprocN", relative to the root
	std::string name;     // driver-given, e.g. "ffe00000.r5f"
	RprocStateWord state;
	std::string firmware; // "unknown" while attached
	std::optional<bool> recovery; // nullopt: attribute absent or unreadable
	bool hasCdev = false; // dev/remoteprocN (CONFIG_REMOTEPROC_CDEV)
};

// The kernel refused the start but store() returned a positive count, not
// an errno: rproc_handle_resources() leaks RSC_IGNORED (1) when the last
// resource-table entry is a vendor type the driver ignores, and state_store()
// hands it back as a 1-byte write. We report it as this code.
inline constexpr int kStartShortWrite = EBADMSG;

class Remoteproc {
public:
	// The core remoteprocN under `root`; ENOENT when absent.
	[[nodiscard]] static Result<Remoteproc> open(const SysfsRoot &root, int index);
	// Every core, by index; empty when the class directory is absent
	// (no remoteproc in this kernel).
	[[nodiscard]] static Result<std::vector<Remoteproc>> enumerate(const SysfsRoot &root);
	// "remoteproc12" -> 12; nullopt unless the whole name matches ^remoteproc[0-9]+$.
	static std::optional<int> parseIndex(std::string_view devName);

	int index() const { return index_; }
	const std::string &dir() const { return dir_; }
	std::string devName() const { return "remoteproc" + std::to_string(index_); }

	[[nodiscard]] Result<RemoteprocInfo> info() const;
	[[nodiscard]] Result<std::string> name() const;
	[[nodiscard]] Result<RprocStateWord> state() const;
	[[nodiscard]] Result<std::string> firmware() const;
	[[nodiscard]] Result<bool> recovery() const;

	// Write `firmware` (EINVAL here for an empty name or one with a
	// newline, which the kernel would cut; EBUSY from the kernel unless offline).
	[[nodiscard]] Result<void> setFirmware(std::string_view name) const;
	// Refuse unless `state` allows a start: offline or detached. On
	// 5.19+ a start on a running core succeeds and takes a second
	// reference (the next stop then leaves it running), so the daemon
	// asks this first. EBUSY with the reason.
	[[nodiscard]] static Result<void> checkStartable(const RprocStateWord &state);
	// Read the state, checkStartable(), then write "start". Blocks for as
	// long as the kernel loads the firmware: call it off the event loop.
	// Kernel errnos unchanged; kStartShortWrite for the positive-count case.
	[[nodiscard]] Result<void> start() const;
	// Write "start" without the check (tests, and callers that just did it).
	[[nodiscard]] Result<void> writeStart() const;
	[[nodiscard]] Result<void> stop() const;
	[[nodiscard]] Result<void> detach() const;
	[[nodiscard]] Result<void> setRecovery(bool enabled) const;
	// Write "recover": rproc_trigger_recovery() reboots a crashed core with
	// its current firmware inside the write (seconds: off the event loop);
	// on any other state the kernel does nothing and returns success.
	[[nodiscard]] Result<void> recover() const;

private:
	Remoteproc(const SysfsRoot &root, int index);
	std::string attr(std::string_view a) const { return dir_ + "/" + std::string(a); }
	Result<void> writeState(std::string_view word) const;

	SysfsRoot root_;
	int index_;
	std::string dir_;
};

// What an errno from each write means to the user: one sentence, without
// the errno name (Error::message() has that).
std::string describeStartError(int err);
std::string describeStopError(int err);
std::string describeDetachError(int err);
std::string describeFirmwareWriteError(int err);

} // namespace amp::kernel
