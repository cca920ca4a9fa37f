// SPDX-License-Identifier: MIT
// The per-area loggers behind amp::log.
#include "base/log.h"

#include <array>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace amp::log {

namespace {

constexpr std::array<Area, 4> kAreas = {Area::Remote, Area::Rpmsg, Area::Control, Area::Proxy};

std::mutex mutex;
std::array<std::shared_ptr<spdlog::logger>, kAreas.size()> loggers;

void setupLocked(spdlog::level::level_enum level, std::vector<spdlog::sink_ptr> sinks)
{
	if (sinks.empty())
		sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
	for (Area a : kAreas) {
		auto l = std::make_shared<spdlog::logger>(areaName(a), sinks.begin(), sinks.end());
		l->set_level(level);
		loggers[static_cast<size_t>(a)] = std::move(l);
	}
}

} // namespace

const char *areaName(Area area)
{
	switch (area) {
	case Area::Remote:
		return "remote";
	case Area::Rpmsg:
		return "rpmsg";
	case Area::Control:
		return "control";
	case Area::Proxy:
		return "proxy";
	}
	return "?";
}

void setup(spdlog::level::level_enum level, std::vector<spdlog::sink_ptr> sinks)
{
	std::lock_guard lock(mutex);
	setupLocked(level, std::move(sinks));
}

std::shared_ptr<spdlog::logger> get(Area area)
{
	std::lock_guard lock(mutex);
	if (!loggers[0])
		setupLocked(spdlog::level::info, {});
	return loggers[static_cast<size_t>(area)];
}

} // namespace amp::log
