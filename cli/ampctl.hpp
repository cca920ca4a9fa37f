// SPDX-License-Identifier: MIT
// ampctl's commands and the pieces they share: exit codes, error reports, output formats.
//
// Everything but argument parsing lives in ampctl_core, so the unit tests
// can check the command-line contract (exit codes, output) without a
// process or a daemon; main.cpp only turns argv into these calls.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
// connect() is a missing daemon (6), from a request an unknown remote (3);
// on an open stream, ENOTCONN and EPIPE are the remote gone (1).
enum class Stage { Connect, Request, Stream, Local };
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
// `remote "r5 0" <what is wrong>` when `name` is no remote or channel name
// (`what` says which), nullopt when it is one.
std::optional<std::string> badName(std::string_view what, std::string_view name);

// ---- output formats ----
// "0x400": addresses and numbers people read in hex.
std::string hexNumber(std::uint64_t v);
// REMOTE INDEX STATE FIRMWARE CHANNELS, one remote a line.
std::string formatTable(const std::vector<RemoteInfo> &remotes);
// systemctl-status-like detail of one remote.
std::string formatStatus(const RemoteInfo &remote);
// "r5-0: running (channel up after 12 ms)"
std::string formatAction(const ActionReply &reply);
// "r5-0: offline -> loading (start requested)"
std::string formatEvent(const RemoteEvent &event);

// ---- channels and streams ----
// REMOTE CHANNEL SRC DST, one channel a line.
std::string formatChannels(const std::vector<ChannelInfo> &channels);
// How listen shows a message: Auto is text when it reads as text, else hex.
enum class MessageFormat { Auto, Text, Hex };
// Text: printable ASCII as is, the rest as \xNN ("hello\x0a"); hex: "de ad be ef".
std::string formatMessage(std::span<const std::uint8_t> message, MessageFormat format);
// listen's line for a message: "[5] hello", "[0]".
std::string formatMessageLine(std::span<const std::uint8_t> message, MessageFormat format);
// {"type":"message","size":5,"hex":"68656c6c6f","text":"hello"}; text only when it reads as text.
std::string messageJson(std::span<const std::uint8_t> message);
// "down: remote crashed", "down: remote stopped (waiting for the channel)",
// "up: src 0x401, dst 0x400", "error: EMSGSIZE (...)".
std::string formatStreamEvent(const StreamEvent &event);
// {"type":"event","event":"down",...}: the stream event as ampd sends it, typed like a message line.
std::string streamEventJson(const StreamEvent &event);
// ping's and echo-test's failure from a stream error: a stream that went
// down (ENOTCONN) gets a "-- down: ..." line (not with --json) and says so
// in the error; any other error is returned as it is.
Error streamFailure(const Context &ctx, const Error &error);
// send's --json: {"ok":true,"remote","channel","src","dst","sent":N[,"reply":{message}]}.
std::string sendJson(const ChannelInfo &endpoint, std::size_t sent, std::optional<std::span<const std::uint8_t>> reply);
// "de ad be ef", "deadbeef", "DEAD beef" to bytes; EINVAL says where it is wrong.
[[nodiscard]] Result<std::vector<std::uint8_t>> parseHex(std::string_view text);
// A message's bytes from a file ("-": stdin); EMSGSIZE beyond `max` bytes.
[[nodiscard]] Result<std::vector<std::uint8_t>> readMessageFile(const std::string &path, std::size_t max);

// ---- ping ----
// Round trip `seq`'s message: seq (32 bits, little-endian) when it fits, then a pattern that moves with seq.
void pingPayload(std::uint32_t seq, std::span<std::uint8_t> out);
// The offset of the first byte where `got` differs from `want` (the shorter length when one is a prefix), nullopt when equal.
std::optional<std::size_t> firstDifference(std::span<const std::uint8_t> want, std::span<const std::uint8_t> got);
struct PingStats {
	std::uint64_t sent = 0, received = 0, corrupt = 0; // lost: sent - received - corrupt
	std::vector<std::uint32_t> rttUs;                  // of the replies received intact
	std::uint64_t lost() const { return sent - received - corrupt; }
};
struct RttSummary {
	std::uint32_t min = 0, p50 = 0, p99 = 0, max = 0; // microseconds, nearest rank
};
std::optional<RttSummary> summarizeRtt(std::vector<std::uint32_t> rttUs);
// "--- r5-0 rpmsg-raw ping statistics ---", counts, "rtt min/p50/p99/max = 80/85/120/130 us".
std::string formatPingSummary(const std::string &remote, const std::string &channel, const PingStats &stats);
std::string pingSummaryJson(const std::string &remote, const std::string &channel, bool direct, std::size_t size, const PingStats &stats);

// ---- the OpenAMP demos (docs/openamp-demos.md) ----
inline constexpr std::string_view kDemoChannel = "rpmsg-openamp-demo-channel";
// The echo test's message: {u64 num; u64 size; u8 data[size]} little-endian, data all 0xA5.
inline constexpr std::size_t kEchoHeader = 16;
inline constexpr std::size_t kEchoMaxSize = 472; // 496 - 24
inline constexpr std::uint8_t kEchoFill = 0xA5;
std::vector<std::uint8_t> echoPayload(std::uint64_t num, std::size_t size);
// What is wrong with `got` as the echo of echoPayload(num, size), nullopt when it is that:
// "488 bytes back for 489", "num 3 for 4", "size 2 for 5", "data byte 7 is 0x5a, not 0xa5".
std::optional<std::string> echoProblem(std::uint64_t num, std::size_t size, std::span<const std::uint8_t> got);
// "A..B" or "N" (data bytes, 1..472); nullopt when it is not.
std::optional<std::pair<std::size_t, std::size_t>> parseSizeRange(std::string_view text);
struct EchoStats {
	std::uint64_t rounds = 0, sent = 0, received = 0, corrupt = 0, bytes = 0; // bytes: of the messages sent
	std::size_t minSize = 0, maxSize = 0;
	std::vector<std::uint32_t> rttUs; // of the echoes received intact
	std::uint64_t lost() const { return sent - received - corrupt; }
	std::uint64_t errors() const { return sent - received; }
};
std::string formatEchoSummary(const std::string &remote, const EchoStats &stats);
struct EchoFailure {
	std::uint64_t round = 0;
	std::size_t size = 0;
	std::string error; // "corrupt: data byte 7 is 0x5a, not 0xa5", "no echo within 2 s"
};
// {"ok","remote","channel","direct","rounds","sizes":{"min","max"},"messages","bytes","errors","corrupt","lost",
//  "rtt_us":{"min","p50","p99","max"}|null,"failures":[{"round","size","error"}]}
std::string echoSummaryJson(const std::string &remote, bool direct, const EchoStats &stats, const std::vector<EchoFailure> &failures);

// Matrix multiplication: struct {u32 size; u32 el[6][6]} (148 bytes), two in one message.
inline constexpr std::size_t kMatrixN = 6;
inline constexpr std::size_t kMatrixBytes = 4 + 4 * kMatrixN * kMatrixN;
using Matrix = std::array<std::array<std::uint32_t, kMatrixN>, kMatrixN>;
// The demo's values, 0..9, from a seed (the same on every machine).
Matrix randomMatrix(std::uint64_t &state);
Matrix multiply(const Matrix &a, const Matrix &b);
std::vector<std::uint8_t> matmulRequest(const Matrix &a, const Matrix &b); // 296 bytes
// The remote's answer; EPROTO when it is not 148 bytes with size 6.
[[nodiscard]] Result<Matrix> parseMatrix(std::span<const std::uint8_t> message);
// A, B and A x B side by side, one row a line.
std::string formatMatrices(const Matrix &a, const Matrix &b, const Matrix &product);
std::string matrixJson(const Matrix &m); // [[..],..]

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
int cmdChannels(const Context &ctx, const std::optional<std::string> &remote);
struct SendArgs {
	std::string remote, channel;
	// The message: exactly one of DATA (its bytes as typed), --file (a
	// file's bytes, "-": stdin) and --hex ("de ad be ef", "deadbeef").
	std::optional<std::string> data, file, hex;
	bool reply = false; // wait for one message back and print it
	std::chrono::milliseconds timeout = kSendTimeout;
	bool direct = false;
	static constexpr std::chrono::milliseconds kSendTimeout{10000};
};
int cmdSend(const Context &ctx, const SendArgs &args);
struct ListenArgs {
	std::string remote, channel;
	std::optional<std::uint64_t> count;              // end after this many messages
	std::optional<std::chrono::milliseconds> timeout; // listen this long (none: until interrupted)
	MessageFormat format = MessageFormat::Auto;
	bool reattach = false;
	bool direct = false;
};
int cmdListen(const Context &ctx, const ListenArgs &args);
struct PingArgs {
	std::string remote, channel;
	std::optional<std::uint64_t> count; // round trips (none: until interrupted)
	std::size_t size = 16;
	std::chrono::milliseconds interval{1000}; // from one send to the next
	std::chrono::milliseconds timeout{1000};  // for each reply
	bool direct = false;
};
int cmdPing(const Context &ctx, const PingArgs &args);
int cmdFirmwareInspect(const Context &ctx, const std::string &file);
struct EchoTestArgs {
	std::string remote;
	std::uint64_t rounds = 1;
	std::size_t minSize = 1, maxSize = kEchoMaxSize;
	std::optional<std::string> firmware; // start (or restart) with it first
	std::optional<bool> stop;            // ask ampd to stop it gracefully after; default: with firmware
	std::chrono::milliseconds timeout{2000}; // for each echo
	bool direct = false;
};
int cmdEchoTest(const Context &ctx, const EchoTestArgs &args);
struct MatmulArgs {
	std::string remote;
	std::uint64_t count = 1;
	std::optional<std::uint64_t> seed; // none: from the clock, printed
	std::chrono::milliseconds timeout{2000}; // for each product
	bool direct = false;
};
int cmdMatmul(const Context &ctx, const MatmulArgs &args);


// Usage errors found after parsing: "ampctl: <message>" and a hint; 2.
int usageError(const Context &ctx, std::string_view message);
// The top-level --help text, systemctl style, exit codes included.
std::string usageText();

// Seconds as typed (--timeout 2.5) to a duration; nullopt unless > 0 and sane.
std::optional<std::chrono::milliseconds> parseSeconds(double seconds);

// Ctrl-C and SIGTERM from now on set a flag instead of ending ampctl; a
// wait they interrupt returns EINTR, and the command ends normally (0).
void catchInterrupts();
bool interrupted();

// Connects and opens a stream on `channel` of `remote` within `timeout`,
// names checked first. On failure it has reported and returns the exit code.
struct OpenedStream {
	std::optional<Stream> stream;
	int exit = kExitOk;
};
OpenedStream openStream(const Context &ctx, const std::string &remote, const std::string &channel, const OpenOptions &options,
			std::chrono::milliseconds timeout, const std::string &what);

} // namespace amp::cli
