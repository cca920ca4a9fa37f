// SPDX-License-Identifier: MIT
// The journal sink (sd_journal_sendv with structured fields) and the choice between it and stderr.
#include "journal_sink.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemd/sd-journal.h>

namespace amp::log {

namespace {

// The fields journalFields() writes itself; scoped fields may not repeat them.
constexpr std::array<std::string_view, 8> kOwnKeys = {"MESSAGE",  "PRIORITY",  "SYSLOG_IDENTIFIER", "AMP_AREA",
                                                      "CODE_FILE", "CODE_LINE", "CODE_FUNC",         "TID"};

std::string item(std::string_view key, std::string_view value)
{
	std::string s;
	s.reserve(key.size() + 1 + value.size());
	s.append(key).append("=").append(value);
	return s;
}

// Parses all of [first, last) as a decimal number; systemd writes both
// halves of JOURNAL_STREAM as unsigned decimals.
bool parseU64(const char *first, const char *last, std::uint64_t &out)
{
	if (first == last)
		return false;
	auto [end, ec] = std::from_chars(first, last, out);
	return ec == std::errc() && end == last;
}

// "%*" in the journal pattern: the syslog priority digit journald reads
// from a "<N>" line prefix.
class PriorityFlag final : public spdlog::custom_flag_formatter {
public:
	void format(const spdlog::details::log_msg &msg, const std::tm &, spdlog::memory_buf_t &dest) override
	{
		const char digit = static_cast<char>('0' + syslogPriority(msg.level));
		dest.append(&digit, &digit + 1);
	}
	std::unique_ptr<spdlog::custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

} // namespace

int syslogPriority(spdlog::level::level_enum level)
{
	switch (level) {
	case spdlog::level::trace:
	case spdlog::level::debug:
		return LOG_DEBUG;
	case spdlog::level::info:
		return LOG_INFO;
	case spdlog::level::warn:
		return LOG_WARNING;
	case spdlog::level::err:
		return LOG_ERR;
	case spdlog::level::critical:
		return LOG_CRIT;
	case spdlog::level::off:
	case spdlog::level::n_levels:
		break;
	}
	return LOG_INFO;
}

std::vector<std::string> journalFields(const spdlog::details::log_msg &msg, std::span<const Field> fields,
                                       std::string_view identifier)
{
	std::vector<std::string> out;
	out.reserve(8 + fields.size());
	out.push_back(item("MESSAGE", {msg.payload.data(), msg.payload.size()}));
	out.push_back(item("PRIORITY", std::to_string(syslogPriority(msg.level))));
	out.push_back(item("SYSLOG_IDENTIFIER", identifier));
	if (msg.logger_name.size() != 0)
		out.push_back(item("AMP_AREA", {msg.logger_name.data(), msg.logger_name.size()}));
	if (!msg.source.empty()) {
		out.push_back(item("CODE_FILE", msg.source.filename));
		out.push_back(item("CODE_LINE", std::to_string(msg.source.line)));
		if (msg.source.funcname)
			out.push_back(item("CODE_FUNC", msg.source.funcname));
	}
	out.push_back(item("TID", std::to_string(msg.thread_id)));
	for (const Field &f : fields) {
		if (!isFieldName(f.key) || std::find(kOwnKeys.begin(), kOwnKeys.end(), f.key) != kOwnKeys.end())
			continue;
		out.push_back(item(f.key, f.value));
	}
	return out;
}

std::vector<iovec> journalIovecs(const std::vector<std::string> &items)
{
	std::vector<iovec> iov;
	iov.reserve(items.size());
	for (const std::string &s : items)
		iov.push_back({const_cast<char *>(s.data()), s.size()});
	return iov;
}

JournalSink::JournalSink(std::string identifier, Send send)
    : identifier_(std::move(identifier)), send_(std::move(send))
{
	if (!send_)
		send_ = [](std::span<const iovec> iov) { return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())); };
}

void JournalSink::sink_it_(const spdlog::details::log_msg &msg)
{
	// base_sink calls this on the logging thread, so these are its fields.
	const std::vector<Field> fields = currentFields();
	const std::vector<std::string> items = journalFields(msg, fields, identifier_);
	const std::vector<iovec> iov = journalIovecs(items);
	if (send_(iov) >= 0)
		return;
	// Nowhere to report the failure but the line itself; a write that
	// fails too has nowhere left to go.
	spdlog::memory_buf_t line;
	formatter_->format(msg, line);
	[[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

bool fdIsJournalStream(int fd, const char *journalStream)
{
	if (!journalStream)
		return false;
	const char *end = journalStream + std::strlen(journalStream);
	const char *colon = std::find(journalStream, end, ':');
	std::uint64_t dev = 0, ino = 0;
	if (colon == end || !parseU64(journalStream, colon, dev) || !parseU64(colon + 1, end, ino))
		return false;
	struct stat st {};
	if (::fstat(fd, &st) < 0)
		return false;
	return static_cast<std::uint64_t>(st.st_dev) == dev && static_cast<std::uint64_t>(st.st_ino) == ino;
}

bool stderrIsJournal()
{
	return fdIsJournalStream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
}

std::unique_ptr<spdlog::formatter> stderrFormatter(bool toJournal)
{
	auto f = std::make_unique<spdlog::pattern_formatter>();
	if (toJournal)
		f->add_flag<PriorityFlag>('*').set_pattern("<%*>[%n] %l: %v");
	else
		f->set_pattern("%Y-%m-%d %H:%M:%S.%e [%n] %^%l%$: %v");
	return f;
}

LogTarget setupDaemonLogging(spdlog::level::level_enum level, bool forceStderr)
{
	const bool toJournal = stderrIsJournal();
	if (toJournal && !forceStderr) {
		// Its stderr fallback then still reaches journald, priority and all.
		auto sink = std::make_shared<JournalSink>();
		sink->set_formatter(stderrFormatter(true));
		setup(level, {sink});
		return LogTarget::Journal;
	}
	// Colour only when stderr is a terminal, which the sink checks itself.
	auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
	sink->set_formatter(stderrFormatter(toJournal));
	setup(level, {sink});
	return LogTarget::Stderr;
}

} // namespace amp::log
