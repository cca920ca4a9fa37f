// SPDX-License-Identifier: MIT
// ampctl's commands and the pieces they share: exit codes, error reports, output formats.
//
// Everything but argument parsing lives in ampctl_core, so the unit tests
// can check the command-line contract (exit codes, output) without a
// process or a daemon; main.cpp only turns argv into these calls.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "amp/client.hpp"
#include "amp/result.hpp"
#include "amp/types.hpp"
#include "kernel/firmware.h"

namespace amp::cli {

// The exit codes are ampctl's contract with scripts (docs/ampctl.md).
enum Exit {
	kExitOk = 0,
	kExitFailed = 1,      // the operation failed, or the remote ended in the wrong state
	kExitUsage = 2,       // bad command line
	kExitNotFound = 3,    // unknown remote, firmware or file
	kExitDenied = 4,      // permission denied, by ampd or by the socket's mode
	kExitTimeout = 5,     // no answer or no event in time
	kExitUnreachable = 6, // no daemon at the socket
	kExitBusy = 7,        // the remote is busy or in the wrong state
};

// Where an error came from decides what an errno means: ENOENT from
// connect() is a missing daemon (6), from a request an unknown remote (3).
enum class Stage { Connect, Request, Local };
int exitCodeFor(int errnum, Stage stage);

// Whether a start/stop/restart that ended in `state` did what was asked.
enum class Action { Start, Stop, Restart };
bool actionSucceeded(Action action, RemoteState state);
std::string_view actionName(Action action);

// What every command gets: where ampd is, how to print, where to.
struct Context {
	std::string socket = Client::defaultSocketPath();
	bool json = false;
	std::ostream *out = nullptr;
	std::ostream *err = nullptr;
	std::string clientName = "ampctl";
};

// Reports `error` ("ampctl: <what>: <message>" on stderr, and with --json
// the error object, or ampd's own error reply when there is one, on
// stdout) and returns its exit code.
int reportError(const Context &ctx, const Error &error, Stage stage, std::string_view what, std::string_view replyJson = {});
// The stderr line reportError() writes, without "ampctl: " and newline.
std::string errorText(const Error &error, Stage stage, std::string_view what, std::string_view socket);
// {"ok":false,"error":{"code":"EBUSY","errno":16,"message":"..."}}
std::string errorJson(const Error &error);

// ---- output formats ----
// REMOTE INDEX STATE FIRMWARE CHANNELS, one remote a line.
std::string formatTable(const std::vector<RemoteInfo> &remotes);
// systemctl-status-like detail of one remote.
std::string formatStatus(const RemoteInfo &remote);
// "r5-0: running (channel up after 12 ms)"
std::string formatAction(const ActionReply &reply);
// "r5-0: offline -> loading (start requested)"
std::string formatEvent(const RemoteEvent &event);

// ---- firmware inspect (no daemon) ----
// What the kernel would make of it: 0 when it boots, 1 when refused or unsafe.
int firmwareExitCode(const kernel::FirmwareReport &report);
std::string formatFirmwareReport(std::string_view path, const kernel::FirmwareReport &report);
std::string firmwareReportJson(std::string_view path, const kernel::FirmwareReport &report);
// Reads a file (not under any root: the user named it) for inspection.
[[nodiscard]] Result<std::vector<std::uint8_t>> readFirmwareFile(const std::string &path);

// ---- wait ----
struct WaitTarget {
	std::string remote;
	std::optional<RemoteState> state; // exactly one of state and channel
	std::optional<std::string> channel;
};
bool waitSatisfied(const WaitTarget &target, const RemoteInfo &info);
bool waitSatisfied(const WaitTarget &target, const RemoteEvent &event);

// ---- the commands; each returns the exit code ----
int cmdList(const Context &ctx);
int cmdStatus(const Context &ctx, const std::optional<std::string> &remote);
struct StartArgs {
	std::string remote;
	std::optional<std::string> firmware;
	bool wait = false;
	std::chrono::milliseconds timeout = Client::kActionTimeout;
};
int cmdStart(const Context &ctx, const StartArgs &args);
int cmdStop(const Context &ctx, const std::string &remote, bool force, std::chrono::milliseconds timeout = Client::kActionTimeout);
int cmdRestart(const Context &ctx, const std::string &remote, const std::optional<std::string> &firmware,
	       std::chrono::milliseconds timeout = Client::kActionTimeout);
// `state` is as typed (checked here, a usage error when unknown).
int cmdWait(const Context &ctx, const std::string &remote, const std::optional<std::string> &state,
	    const std::optional<std::string> &channel, std::chrono::milliseconds timeout);
int cmdEvents(const Context &ctx, const std::optional<std::string> &remote);
int cmdFirmwareInspect(const Context &ctx, const std::string &file);

// Usage errors found after parsing: "ampctl: <message>" and a hint; 2.
int usageError(const Context &ctx, std::string_view message);
// The top-level --help text, systemctl style, exit codes included.
std::string usageText();

// Seconds as typed (--timeout 2.5) to a duration; nullopt unless > 0 and sane.
std::optional<std::chrono::milliseconds> parseSeconds(double seconds);

} // namespace amp::cli
