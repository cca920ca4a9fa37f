// SPDX-License-Identifier: MIT
// ampctl proxy: the OpenAMP proxy (RPC) for one remote in the foreground, the console on the terminal.
//
// The same ProxyServer ampd runs (lib/proxy), driven by a blocking poll loop:
// the stream's messages go to handle(), stdin wakes a READ of fd 0 that
// waits for input (resumeInput()), the replies go back on the stream. What
// the remote prints is on stdout (its fds 1 and 2); ampctl's own lines are
// on stderr. For a remote ampd does not serve the proxy for itself
// (proxy.enabled): otherwise the remote answers ampd's endpoint, not ours.
#include "cmd_proxy.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "protocol/protocol.hpp"
#include "protocol/text.hpp"
#include "proxy/confine.hpp"
#include "proxy/console.hpp"
#include "proxy/server.hpp"

namespace amp::cli {

namespace {

// A reply that cannot go within this long: the remote is not reading.
constexpr std::chrono::milliseconds kReplyTimeout{10000};

// Start the remote with `firmware` and wait for the outcome; the exit code.
int startRemote(const Context &ctx, const ProxyArgs &args)
{
	if (auto problem = protocol::firmwareNameProblem(*args.firmware))
		return usageError(ctx, "firmware \"" + protocol::printable(*args.firmware, 40) + "\" " + *problem);
	const std::string what = "start " + args.remote;
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, what);
	auto reply = client->start(args.remote, StartOptions{args.firmware, false}, args.timeout);
	if (!reply)
		return reportError(ctx, reply.error(), Stage::Request, what, client->lastReplyJson());
	if (!actionSucceeded(Action::Start, reply->state)) {
		*ctx.err << "ampctl: " << what << " failed: " << formatAction(*reply) << "\n";
		return kExitFailed;
	}
	*ctx.err << "ampctl: " << formatAction(*reply) << "\n";
	return kExitOk;
}

} // namespace

int cmdProxy(const Context &ctx, const ProxyArgs &args)
{
	const std::string what = "proxy " + args.remote + " " + args.channel;
	if (args.maxOpenFiles < 1 || args.maxOpenFiles > proxy::kMaxOpenFilesLimit)
		return usageError(ctx, "--max-open-files: expected 1 to " + std::to_string(proxy::kMaxOpenFilesLimit));
	if (auto bad = badName("remote", args.remote))
		return usageError(ctx, *bad);
	if (auto bad = badName("channel", args.channel))
		return usageError(ctx, *bad);
	auto dir = proxy::ConfinedDir::open(args.directory, false);
	if (!dir) {
		Error e = dir.error();
		e.context = "--directory " + args.directory + ": " + std::strerror(e.code);
		return reportError(ctx, e, Stage::Local, what);
	}
	if (args.firmware)
		if (int code = startRemote(ctx, args); code != kExitOk)
			return code;

	// The remote talks only after init_msg, so the stream may open after the start.
	auto opened = openStream(ctx, args.remote, args.channel, OpenOptions{kAddrAny, false, false}, Client::kQueryTimeout, what);
	if (!opened.stream)
		return opened.exit;
	Stream &stream = *opened.stream;

	// The server's warnings (a refused OPEN, why) on stderr; its info
	// lines only repeat what ampctl says itself.
	log::setup(spdlog::level::warn);
	proxy::FdConsole console(STDIN_FILENO, STDOUT_FILENO);
	std::optional<Error> sendFailure;
	proxy::ProxyServer server(*dir, console,
				  [&](std::span<const std::uint8_t> message) {
					  if (sendFailure)
						  return;
					  if (auto sent = stream.send(message, kReplyTimeout); !sent)
						  sendFailure = sent.error();
				  },
				  proxy::ServerOptions{.name = args.remote, .maxOpenFiles = args.maxOpenFiles});
	*ctx.err << "ampctl: proxy " << args.remote << " " << args.channel << " (src " << hexNumber(stream.endpoint().src) << ", dst "
		 << hexNumber(stream.endpoint().dst) << "): files in " << args.directory << ", console on the terminal" << std::endl;

	std::vector<std::uint8_t> buffer(std::max<std::size_t>(stream.mtu(), kMaxRpmsgPayload));
	auto finish = [&](int code, const std::string &why) {
		server.end(why);
		*ctx.err << "ampctl: proxy " << args.remote << " ended: " << why << " (" << server.summary() << ")" << std::endl;
		return code;
	};

	catchInterrupts();
	server.start();
	while (!interrupted()) {
		if (sendFailure) {
			Error e = *sendFailure;
			if (e.code == EAGAIN)
				e = Error{ETIMEDOUT, "a reply could not go within 10 s"};
			server.end("a reply could not go");
			return reportError(ctx, e, Stage::Stream, what);
		}
		if (server.state() == proxy::ProxyServer::State::Ended)
			return finish(kExitOk, server.terminatedByRemote() ? "the remote sent TERM" : "the session ended");
		struct pollfd fds[2] = {{stream.fd(), POLLIN, 0}, {-1, POLLIN, 0}};
		// Input is read only for a READ of fd 0 that waits: at end of
		// input stdin would be readable for ever.
		if (server.state() == proxy::ProxyServer::State::WaitingForInput)
			fds[1].fd = console.inputFd();
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return reportError(ctx, Error{errno, "poll"}, Stage::Local, what);
		}
		if (fds[1].revents)
			server.resumeInput();
		if (!fds[0].revents)
			continue;
		auto item = stream.next(buffer, std::chrono::milliseconds(0));
		if (!item) {
			const Error &e = item.error();
			if (e.code == EINTR || e.code == ETIMEDOUT || e.code == EAGAIN)
				continue;
			server.end(e.context);
			if (e.code == ENOTCONN || e.code == EPIPE)
				return reportError(ctx, Error{ENOTCONN, "the stream went down: " + e.context}, Stage::Stream, what);
			return reportError(ctx, e, Stage::Stream, what);
		}
		if (const auto *m = std::get_if<Stream::Message>(&*item)) {
			server.handle({buffer.data(), m->size});
			continue;
		}
		const auto &event = std::get<StreamEvent>(*item);
		if (const auto *down = std::get_if<StreamDown>(&event)) {
			std::string why = down->reason.empty() ? "the channel went down" : down->reason;
			server.end(why);
			*ctx.err << "ampctl: proxy " << args.remote << ": " << server.summary() << std::endl;
			return reportError(ctx, Error{ENOTCONN, "the stream went down: " + why}, Stage::Stream, what);
		}
		*ctx.err << "ampctl: proxy " << args.remote << ": " << formatStreamEvent(event) << std::endl;
	}
	return finish(kExitOk, "interrupted");
}

} // namespace amp::cli
