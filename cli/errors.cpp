// SPDX-License-Identifier: MIT
// ampctl's exit codes and error reports: one errno, one meaning per stage, worded once.
#include "ampctl.hpp"

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp::cli {

int exitCodeFor(int errnum, Stage stage)
{
	if (errnum == EACCES || errnum == EPERM)
		return kExitDenied;
	if (errnum == ETIMEDOUT)
		return kExitTimeout;
	switch (stage) {
	case Stage::Connect:
		// Whatever stops the hello from being answered: no daemon to talk to.
		return kExitUnreachable;
	case Stage::Request:
		switch (errnum) {
		case ENOENT:
		case ENODEV:
		case ENXIO:
			return kExitNotFound;
		case EBUSY:
		case EALREADY:
			return kExitBusy;
		// ampd went away in the middle of the call.
		case ECONNREFUSED:
		case ECONNRESET:
		case EPIPE:
		case ENOTCONN:
			return kExitUnreachable;
		default:
			return kExitFailed;
		}
	case Stage::Stream:
		// An open stream fails because the remote went away (ENOTCONN,
		// EPIPE), a message was refused or did not fit: the operation
		// failed, whoever was reachable.
		return kExitFailed;
	case Stage::Local:
		if (errnum == ENOENT || errnum == ENOTDIR)
			return kExitNotFound;
		return kExitFailed;
	}
	return kExitFailed;
}

bool actionSucceeded(Action action, RemoteState state)
{
	switch (action) {
	case Action::Start:
	case Action::Restart:
		// running-degraded is up but without the channel it was expected to
		// offer: for a script that wanted the remote usable, a failure.
		return state == RemoteState::Running || state == RemoteState::Attached;
	case Action::Stop:
		return state == RemoteState::Offline || state == RemoteState::Detached;
	}
	return false;
}

std::string_view actionName(Action action)
{
	switch (action) {
	case Action::Start: return "start";
	case Action::Stop: return "stop";
	case Action::Restart: return "restart";
	}
	return "?";
}

std::string errorText(const Error &error, Stage stage, std::string_view what, std::string_view socket)
{
	std::string reason = error.context.empty() ? std::string(::strerror(error.code)) : error.context;
	if (stage == Stage::Connect) {
		std::string text = "cannot connect to ampd at " + std::string(socket) + ": ";
		// connect()'s own context only repeats the path: say the errno instead.
		if (error.context.rfind("connect to ", 0) == 0)
			text += ::strerror(error.code);
		else
			text += reason;
		if (error.code == ENOENT || error.code == ECONNREFUSED)
			text += " (is ampd running?)";
		else if (error.code == EACCES || error.code == EPERM)
			text += " (the socket's group may talk to ampd; ask for membership or use sudo)";
		return text;
	}
	if (what.empty())
		return reason;
	return std::string(what) + ": " + reason;
}

std::string errorJson(const Error &error)
{
	nlohmann::json j = {{"ok", false},
			    {"error", {{"code", error.name()}, {"errno", error.code}, {"message", error.context}}}};
	return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int reportError(const Context &ctx, const Error &error, Stage stage, std::string_view what, std::string_view replyJson)
{
	*ctx.err << "ampctl: " << errorText(error, stage, what, ctx.socket) << "\n";
	if (ctx.json)
		*ctx.out << (replyJson.empty() ? errorJson(error) : std::string(replyJson)) << "\n";
	return exitCodeFor(error.code, stage);
}

std::optional<std::string> badName(std::string_view what, std::string_view name)
{
	auto problem = protocol::nameProblem(name);
	if (!problem)
		return std::nullopt;
	return std::string(what) + " \"" + protocol::printable(name, 40) + "\" " + *problem;
}

int usageError(const Context &ctx, std::string_view message)
{
	*ctx.err << "ampctl: " << message << "\nTry 'ampctl --help' for more information.\n";
	return kExitUsage;
}

std::optional<std::chrono::milliseconds> parseSeconds(double seconds)
{
	// Up to a day: a longer wait is a typo, and the product must fit poll()'s int.
	if (!(seconds > 0) || seconds > 86400)
		return std::nullopt;
	auto ms = static_cast<long long>(seconds * 1000 + 0.5);
	return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

} // namespace amp::cli
