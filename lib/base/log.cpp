// SPDX-License-Identifier: MIT
// The per-area loggers behind amp::log and the per-thread stack of structured fields.
#include "base/log.h"

#include <algorithm>
#include <array>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace amp::log {

namespace {

constexpr std::array<Area, 4> kAreas = {Area::Remote, Area::Rpmsg, Area::Control, Area::Proxy};

std::mutex mutex;
std::array<std::shared_ptr<spdlog::logger>, kAreas.size()> loggers;

// One entry per field a live ScopedFields attached on this thread, tagged
// with its owner so that each scope removes exactly what it added.
struct StackEntry {
	const ScopedFields *owner;
	Field field;
};

thread_local std::vector<StackEntry> fieldStack;

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

bool isFieldName(std::string_view key)
{
	if (key.empty() || key.size() > 64 || key[0] == '_' || (key[0] >= '0' && key[0] <= '9'))
		return false;
	return std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

ScopedFields::ScopedFields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields)
{
	for (const auto &[key, value] : fields) {
		if (isFieldName(key))
			fieldStack.push_back({this, {std::string(key), std::string(value)}});
	}
}

ScopedFields::~ScopedFields()
{
	// By owner rather than by depth: a scope held in a unique_ptr may end
	// out of order, and must not take a still-living scope's fields along.
	std::erase_if(fieldStack, [this](const StackEntry &e) { return e.owner == this; });
}

std::vector<Field> currentFields()
{
	std::vector<Field> out;
	out.reserve(fieldStack.size());
	for (const StackEntry &e : fieldStack) {
		auto same = std::find_if(out.begin(), out.end(), [&](const Field &f) { return f.key == e.field.key; });
		if (same != out.end())
			same->value = e.field.value;
		else
			out.push_back(e.field);
	}
	return out;
}

} // namespace amp::log
