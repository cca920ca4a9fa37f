// SPDX-License-Identifier: MIT
// ampd's configuration (config/ampd.example.json): the typed model and its line-precise loader.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace amp {

// Where something was written: 1-based line and byte column.
struct ConfigPos {
	unsigned line = 0;
	unsigned column = 0;
	bool operator==(const ConfigPos &) const = default;
};

// A user or group as written (a name or a numeric id) and, once resolved, its id.
struct Principal {
	std::variant<std::uint32_t, std::string> who;
	std::optional<std::uint32_t> id; // set for numbers, and for names when a lookup was given
	ConfigPos pos;
};

struct Principals {
	std::vector<Principal> users;
	std::vector<Principal> groups;
	bool empty() const { return users.empty() && groups.empty(); }
};

struct ShutdownMessage {
	std::vector<std::uint8_t> bytes; // what is written to the channel, as is
	std::string channel;
};

struct RestartPolicy {
	enum class Mode { Never, OnFailure };
	Mode mode = Mode::Never;
	unsigned maxRestarts = 3;                     // within `window`, like StartLimitBurst=
	std::chrono::milliseconds window{60000};      // like StartLimitIntervalSec=
	std::chrono::milliseconds backoff{1000};      // first delay, like RestartSec=
	std::chrono::milliseconds backoffMax{1000};   // delays double up to this
};

struct ProxyConfig {
	enum class Console { Journal, Terminal, File };
	bool enabled = false;
	std::string channel;
	std::string directory;     // the remote's files live here and nowhere else
	unsigned maxOpenFiles = 16;
	Console console = Console::Journal;
	std::string consoleFile;   // for Console::File
	std::uint64_t consoleMaxBytes = 1024 * 1024; // Console::File: the file grows no larger
};

struct RemoteConfig {
	std::string alias;
	ConfigPos pos;
	// The remoteproc it is: its `name` attribute, or N of remoteprocN.
	std::variant<std::string, std::uint32_t> remoteproc;
	std::optional<std::string> firmware; // none: keep what the kernel has
	bool autostart = false;
	std::vector<std::string> channels;   // expected once running; empty: any
	std::optional<ShutdownMessage> shutdown;
	std::chrono::milliseconds startToChannel{5000};
	std::chrono::milliseconds shutdownDeadline{3000};
	RestartPolicy restart;
	Principals control; // may start/stop/restart; root always may
	// Who may open a channel, by channel name; "*" for any channel. A channel
	// without an entry (and no "*") is open to `control` only.
	std::map<std::string, Principals> channelAccess;
	// Messages one stream may have sent and not yet seen answered, so no
	// client holds all of the 256 TX buffers the remote's endpoints share;
	// 0: no limit (for channels whose remote does not answer every message).
	unsigned maxInFlight = 64;
	ProxyConfig proxy;
};

struct Config {
	enum class OnSigterm { Leave, StopAll };
	std::string socketPath = "/run/ampd/ampd.sock";
	unsigned socketMode = 0660;
	std::optional<Principal> socketGroup;
	std::string stateDirectory = "/var/lib/ampd";
	OnSigterm onSigterm = OnSigterm::Leave;
	std::vector<RemoteConfig> remotes; // in file order

	const RemoteConfig *findRemote(std::string_view alias) const;
};

// Name -> id, or nullopt when there is no such user or group.
using NameLookup = std::function<std::optional<std::uint32_t>(const std::string &)>;

struct ConfigOptions {
	NameLookup lookupUser;  // unset: names stay unresolved
	NameLookup lookupGroup;
};

// The passwd / group databases (getpwnam_r / getgrnam_r).
NameLookup systemUserLookup();
NameLookup systemGroupLookup();

// Parses and validates `text`. Every problem is reported, one per line, as
// "<fileName>:LINE:COL: <what is wrong> (expected ...)" in Error::context
// (code EINVAL): unknown keys (with "did you mean"), duplicate keys, wrong
// types, values out of range, unknown users or groups when lookups are given.
[[nodiscard]] Result<Config> parseConfig(std::string_view text, std::string_view fileName, const ConfigOptions &options = {});

// Reads the file (at most 1 MiB) and parses it, naming it by `path`.
[[nodiscard]] Result<Config> loadConfig(const std::string &path, const ConfigOptions &options = {});

} // namespace amp
