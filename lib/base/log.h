// SPDX-License-Identifier: MIT
// Logging: one spdlog logger per area ("remote", "rpmsg", "control",
// "proxy"), sharing the sinks the daemon chose (stderr or the journal),
// plus the structured KEY=value fields a journal sink attaches to each line.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

namespace amp::log {

enum class Area { Remote, Rpmsg, Control, Proxy };

const char *areaName(Area area);

// (Re)create every area's logger on `sinks` (stderr when empty) at `level`.
// Safe to call again, e.g. once the daemon knows it runs under systemd.
void setup(spdlog::level::level_enum level = spdlog::level::info, std::vector<spdlog::sink_ptr> sinks = {});

// The area's logger; set up with the defaults on first use, so library
// code and tests never meet a null logger. Shared, so a later setup()
// never leaves a caller holding a dangling logger.
std::shared_ptr<spdlog::logger> get(Area area);

inline std::shared_ptr<spdlog::logger> remote() { return get(Area::Remote); }
inline std::shared_ptr<spdlog::logger> rpmsg() { return get(Area::Rpmsg); }
inline std::shared_ptr<spdlog::logger> control() { return get(Area::Control); }
inline std::shared_ptr<spdlog::logger> proxy() { return get(Area::Proxy); }

// One structured field, written to the journal as KEY=value.
struct Field {
	std::string key;
	std::string value;
	bool operator==(const Field &) const = default;
};

// Whether `key` is a field name a client may set, by journald's own rule:
// 1-64 of A-Z 0-9 _, not starting with a digit, and not with _ (those are
// the fields journald itself vouches for, such as _PID).
bool isFieldName(std::string_view key);

// Attaches fields to every line this thread logs while the object lives:
//     log::ScopedFields fields{{"REMOTE", name}, {"STATE", "running"}};
// Scopes nest; an inner scope's value for a key hides the outer one until
// the inner scope ends. Keys that are not isFieldName() are dropped, so a
// typo costs a field, never a log line. The fields are per thread (sinks
// run on the logging thread, our loggers being synchronous), so the worker
// thread and the event loop never see each other's. Destroy it on the
// thread that made it; it cannot be copied or moved for that reason.
class ScopedFields {
public:
	[[nodiscard]] ScopedFields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
	~ScopedFields();
	ScopedFields(const ScopedFields &) = delete;
	ScopedFields &operator=(const ScopedFields &) = delete;
};

// The fields in force on this thread, each key once with its innermost
// value, in the order the keys were first attached. For sinks.
std::vector<Field> currentFields();

} // namespace amp::log
