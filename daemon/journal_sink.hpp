// SPDX-License-Identifier: MIT
// ampd's log destination: the journal with structured fields under systemd, stderr otherwise.
#pragma once

#include <sys/uio.h>

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

#include "base/log.h"

namespace amp::log {

// The syslog priority (LOG_DEBUG..LOG_CRIT) the journal files a level under.
int syslogPriority(spdlog::level::level_enum level);

// The KEY=value items of one journal entry: MESSAGE=, PRIORITY=,
// SYSLOG_IDENTIFIER=, AMP_AREA= (the logger's name), CODE_FILE=,
// CODE_LINE=, CODE_FUNC= when the record carries a source location, TID=,
// then `fields`. A field the entry already has, or one that is not
// isFieldName(), is left out: scoped fields add to a record, never forge
// its priority or message. Pure, so tests need no journal.
std::vector<std::string> journalFields(const spdlog::details::log_msg &msg, std::span<const Field> fields,
                                       std::string_view identifier = "ampd");

// The iovecs sd_journal_sendv() takes, pointing into `items`: valid only
// while `items` lives unchanged.
std::vector<iovec> journalIovecs(const std::vector<std::string> &items);

// Sends each record to the journal with the calling thread's currentFields().
// If the journal refuses one (journald restarting, say), the line goes to
// stderr instead of vanishing.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
	// Gets the iovecs of one entry; returns 0 or a negative errno, like
	// sd_journal_sendv(), which it is unless a test substitutes it.
	using Send = std::function<int(std::span<const iovec>)>;

	explicit JournalSink(std::string identifier = "ampd", Send send = {});

protected:
	void sink_it_(const spdlog::details::log_msg &msg) override;
	void flush_() override {}

private:
	std::string identifier_;
	Send send_;
};

// Whether `fd` is the stream $JOURNAL_STREAM ("<st_dev>:<st_ino>", set by
// systemd for StandardError=journal) names. Merely inheriting the variable
// from a parent proves nothing; the fd's identity must match.
bool fdIsJournalStream(int fd, const char *journalStream);

// fdIsJournalStream(STDERR_FILENO, getenv("JOURNAL_STREAM")).
bool stderrIsJournal();

// The stderr formatter: "[area] level: message". Off the journal each line
// starts with the local time; on it, journald stamps lines itself, so
// instead a "<N>" prefix hands it the priority.
std::unique_ptr<spdlog::formatter> stderrFormatter(bool toJournal);

enum class LogTarget { Journal, Stderr };

// Points every area's logger at the journal when stderr is connected to it
// (the daemon runs under systemd), else at stderr; `forceStderr` (a command
// line switch) picks stderr regardless. Returns what it chose, for the
// daemon to say so once.
LogTarget setupDaemonLogging(spdlog::level::level_enum level, bool forceStderr = false);

} // namespace amp::log
