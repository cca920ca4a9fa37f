// SPDX-License-Identifier: MIT
// Logging: one spdlog logger per area ("remote", "rpmsg", "control",
// "proxy"), sharing the sinks the daemon chose (stderr or the journal).
#pragma once

#include <memory>
#include <string_view>
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

} // namespace amp::log
