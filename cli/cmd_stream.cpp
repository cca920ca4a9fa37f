// SPDX-License-Identifier: MIT
// ampctl send and listen: one message to a channel (and its answer), or what a channel says, through a stream of our own.
#include "ampctl.hpp"

#include <algorithm>
#include <cstdio>

namespace amp::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left(Clock::time_point deadline)
{
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
	return std::max(ms, std::chrono::milliseconds(0));
}

std::string seconds(std::chrono::milliseconds ms)
{
	char text[32];
	std::snprintf(text, sizeof(text), "%g s", static_cast<double>(ms.count()) / 1000);
	return text;
}

// Room for any message the stream may carry.
std::vector<std::uint8_t> messageBuffer(const Stream &stream)
{
	return std::vector<std::uint8_t>(std::max<std::size_t>(stream.mtu(), kMaxRpmsgPayload));
}

// The message send was asked to send, or the exit code of why not.
Result<std::vector<std::uint8_t>> messageOf(const SendArgs &args)
{
	if (args.hex) {
		auto bytes = parseHex(*args.hex);
		if (!bytes)
			return unexpected(EINVAL, "--hex: " + bytes.error().context);
		return bytes;
	}
	if (args.file)
		return readMessageFile(*args.file, kMaxRpmsgPayload);
	return std::vector<std::uint8_t>(args.data->begin(), args.data->end());
}

} // namespace

OpenedStream openStream(const Context &ctx, const std::string &remote, const std::string &channel, const OpenOptions &options,
			std::chrono::milliseconds timeout, const std::string &what)
{
	OpenedStream opened;
	for (auto [kind, name] : {std::pair{"remote", &remote}, std::pair{"channel", &channel}})
		if (auto bad = badName(kind, *name)) {
			opened.exit = usageError(ctx, *bad);
			return opened;
		}
	auto deadline = Clock::now() + timeout;
	auto client = Client::connect(ctx.socket, ctx.clientName, timeout);
	if (!client) {
		opened.exit = reportError(ctx, client.error(), Stage::Connect, what);
		return opened;
	}
	auto stream = client->open(remote, channel, options, left(deadline));
	if (!stream) {
		opened.exit = reportError(ctx, stream.error(), Stage::Request, what, client->lastReplyJson());
		return opened;
	}
	// The stream lives on without the control connection, which closes here.
	opened.stream.emplace(std::move(*stream));
	return opened;
}

int cmdSend(const Context &ctx, const SendArgs &args)
{
	const std::string what = "send " + args.remote + " " + args.channel;
	if ((args.data ? 1 : 0) + (args.file ? 1 : 0) + (args.hex ? 1 : 0) != 1)
		return usageError(ctx, "send takes the message as DATA, --file FILE or --hex BYTES: exactly one of them");
	auto message = messageOf(args);
	if (!message) {
		const Error &e = message.error();
		if (e.code == EINVAL || e.code == EMSGSIZE)
			return usageError(ctx, e.context);
		return reportError(ctx, e, Stage::Local, what);
	}
	if (message->size() > kMaxRpmsgPayload)
		return usageError(ctx, "the message is " + std::to_string(message->size()) + " bytes (one rpmsg message is at most " +
					       std::to_string(kMaxRpmsgPayload) + ")");

	auto deadline = Clock::now() + args.timeout;
	auto opened = openStream(ctx, args.remote, args.channel, OpenOptions{kAddrAny, args.direct, false}, args.timeout, what);
	if (!opened.stream)
		return opened.exit;
	Stream &stream = *opened.stream;
	if (auto sent = stream.send(*message, left(deadline)); !sent) {
		Error e = sent.error();
		if (e.code == EAGAIN) // it could not go in time: a timeout to scripts
			e = Error{ETIMEDOUT, "the message could not go within " + seconds(args.timeout)};
		return reportError(ctx, e, Stage::Stream, what);
	}
	if (!args.reply) {
		if (ctx.json)
			*ctx.out << sendJson(stream.endpoint(), message->size(), std::nullopt) << "\n";
		return kExitOk;
	}
	auto buffer = messageBuffer(stream);
	auto got = stream.receive(buffer, left(deadline));
	if (!got) {
		Error e = got.error();
		if (e.code == ETIMEDOUT)
			e.context = "no reply within " + seconds(args.timeout);
		else if (e.code == ENOTCONN)
			e.context = "the stream went down before the reply: " + e.context;
		return reportError(ctx, e, Stage::Stream, what);
	}
	std::span<const std::uint8_t> reply(buffer.data(), *got);
	*ctx.out << (ctx.json ? sendJson(stream.endpoint(), message->size(), reply) : formatMessageLine(reply, MessageFormat::Auto))
		 << "\n";
	return kExitOk;
}

int cmdListen(const Context &ctx, const ListenArgs &args)
{
	const std::string what = "listen " + args.remote + " " + args.channel;
	if (args.count && *args.count == 0)
		return usageError(ctx, "--count: expected at least 1");
	std::optional<Clock::time_point> deadline;
	if (args.timeout)
		deadline = Clock::now() + *args.timeout;
	auto opened = openStream(ctx, args.remote, args.channel, OpenOptions{kAddrAny, args.direct, args.reattach},
				 deadline ? left(*deadline) : Client::kQueryTimeout, what);
	if (!opened.stream)
		return opened.exit;
	Stream &stream = *opened.stream;
	auto buffer = messageBuffer(stream);
	std::uint64_t received = 0;

	catchInterrupts();
	while (!interrupted() && !(args.count && received >= *args.count)) {
		auto item = stream.next(buffer, deadline ? left(*deadline) : std::chrono::milliseconds(-1));
		if (!item) {
			Error e = item.error();
			if (e.code == EINTR)
				continue;
			if (e.code == ETIMEDOUT) {
				// --timeout alone is how long to listen; with --count it
				// is how long the messages may take.
				if (!args.count)
					return kExitOk;
				e.context = std::to_string(received) + " of " + std::to_string(*args.count) + " messages within " +
					    seconds(*args.timeout);
			}
			return reportError(ctx, e, Stage::Stream, what);
		}
		// Flushed line by line: the reader is often a pipe (grep, a test).
		if (const auto *m = std::get_if<Stream::Message>(&*item)) {
			std::span<const std::uint8_t> message(buffer.data(), m->size);
			*ctx.out << (ctx.json ? messageJson(message) : formatMessageLine(message, args.format)) << std::endl;
			++received;
			continue;
		}
		const auto &event = std::get<StreamEvent>(*item);
		*ctx.out << (ctx.json ? streamEventJson(event) : "-- " + formatStreamEvent(event)) << std::endl;
		if (const auto *down = std::get_if<StreamDown>(&event); down && !down->reattach)
			return reportError(ctx, Error{ENOTCONN, "the stream is over: " + (down->reason.empty() ? "the channel went down" : down->reason)},
					   Stage::Stream, what);
	}
	return kExitOk;
}

} // namespace amp::cli
