// SPDX-License-Identifier: MIT
// ampctl ping: round trips against an echoing remote, each reply checked byte for byte, times in microseconds.
#include "ampctl.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>

namespace amp::cli {

void pingPayload(std::uint32_t seq, std::span<std::uint8_t> out)
{
	std::size_t i = 0;
	if (out.size() >= 4)
		for (; i < 4; ++i)
			out[i] = static_cast<std::uint8_t>(seq >> (8 * i));
	for (; i < out.size(); ++i)
		out[i] = static_cast<std::uint8_t>(seq + i);
}

std::optional<std::size_t> firstDifference(std::span<const std::uint8_t> want, std::span<const std::uint8_t> got)
{
	auto [w, g] = std::mismatch(want.begin(), want.end(), got.begin(), got.end());
	if (w == want.end() && g == got.end())
		return std::nullopt;
	return static_cast<std::size_t>(w - want.begin());
}

std::optional<RttSummary> summarizeRtt(std::vector<std::uint32_t> rttUs)
{
	if (rttUs.empty())
		return std::nullopt;
	std::sort(rttUs.begin(), rttUs.end());
	// Nearest rank: the smallest value with at least p% of them at or below it.
	auto rank = [&](unsigned p) { return rttUs[(rttUs.size() * p + 99) / 100 - 1]; };
	return RttSummary{rttUs.front(), rank(50), rank(99), rttUs.back()};
}

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds(std::chrono::milliseconds ms)
{
	char text[32];
	std::snprintf(text, sizeof(text), "%g s", static_cast<double>(ms.count()) / 1000);
	return text;
}

// false when a signal cut the sleep short.
bool sleepUntil(Clock::time_point when)
{
	auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when - Clock::now()).count();
	if (ns <= 0)
		return true;
	struct timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
	return ::nanosleep(&ts, nullptr) == 0;
}

// The round a message of 4 bytes or more says it is (pingPayload()).
std::uint32_t seqOf(std::span<const std::uint8_t> message)
{
	std::uint32_t seq = 0;
	for (std::size_t i = 0; i < 4; ++i)
		seq |= static_cast<std::uint32_t>(message[i]) << (8 * i);
	return seq;
}

// A reply that is an earlier round's (it came after that one timed out):
// that round is already counted lost, and this round's reply may follow.
bool lateReply(std::span<const std::uint8_t> reply, std::uint32_t seq, std::vector<std::uint8_t> &scratch)
{
	if (reply.size() != scratch.size() || reply.size() < 4)
		return false;
	std::uint32_t was = seqOf(reply);
	if (was == 0 || was >= seq)
		return false;
	pingPayload(was, scratch);
	return std::equal(reply.begin(), reply.end(), scratch.begin());
}

class Pinger {
public:
	Pinger(const Context &ctx, const PingArgs &args, Stream &stream)
		: ctx_(ctx), args_(args), stream_(stream), out_(args.size), scratch_(args.size),
		  in_(std::max<std::size_t>(stream.mtu(), kMaxRpmsgPayload)), what_("ping " + args.remote + " " + args.channel)
	{
		if (args.count)
			stats_.rttUs.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*args.count, 1u << 20)));
	}

	int run()
	{
		line("PING " + args_.remote + " " + args_.channel + " (src " + hexNumber(stream_.endpoint().src) + ", dst " +
		     hexNumber(stream_.endpoint().dst) + ", " + (stream_.direct() ? "direct" : "relay") + "): " + std::to_string(args_.size) +
		     " bytes");
		catchInterrupts();
		auto nextSend = Clock::now();
		for (std::uint32_t seq = 1; !interrupted() && !(args_.count && stats_.sent >= *args_.count); ++seq) {
			if (seq > 1 && !sleepUntil(nextSend))
				continue; // interrupted: the loop condition ends it
			auto start = Clock::now();
			nextSend = start + args_.interval;
			if (!roundTrip(seq, start))
				break;
		}
		if (ctx_.json)
			*ctx_.out << pingSummaryJson(args_.remote, args_.channel, stream_.direct(), args_.size, stats_) << std::endl;
		else
			*ctx_.out << "\n" << formatPingSummary(args_.remote, args_.channel, stats_) << std::flush;
		if (failure_) {
			*ctx_.err << "ampctl: " << errorText(*failure_, Stage::Stream, what_, ctx_.socket) << "\n";
			return exitCodeFor(failure_->code, Stage::Stream);
		}
		return stats_.lost() || stats_.corrupt ? kExitFailed : kExitOk;
	}

private:
	// Per round trip lines are for people; --json prints the summary only.
	void line(const std::string &text)
	{
		if (!ctx_.json)
			*ctx_.out << text << std::endl;
	}

	std::string from(std::size_t size, std::uint32_t seq) const
	{
		return std::to_string(size) + " bytes from " + args_.remote + " " + args_.channel + ": seq=" + std::to_string(seq);
	}

	// One round; false when the ping is over (interrupted, the stream gone).
	bool roundTrip(std::uint32_t seq, Clock::time_point start)
	{
		pingPayload(seq, out_);
		if (auto sent = stream_.send(out_, args_.timeout); !sent) {
			const Error &e = sent.error();
			if (e.code == EINTR)
				return false;
			if (e.code != EAGAIN)
				return fail(e);
			++stats_.sent; // it could not go: lost as much as a reply that does not come
			line("seq=" + std::to_string(seq) + ": not sent within " + seconds(args_.timeout));
			return true;
		}
		++stats_.sent;
		auto deadline = start + args_.timeout;
		for (;;) {
			auto waitFor = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
						std::chrono::milliseconds(0));
			auto got = stream_.receive(in_, waitFor);
			auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
			if (!got) {
				const Error &e = got.error();
				if (e.code == ETIMEDOUT) {
					line("seq=" + std::to_string(seq) + ": no reply within " + seconds(args_.timeout));
					return true;
				}
				if (e.code == EINTR) {
					--stats_.sent; // cut short by Ctrl-C: neither answered nor lost
					return false;
				}
				if (e.code == ENOTCONN || e.code == EPIPE)
					return fail(e);
				// An error event: ampd refused what we sent.
				line("seq=" + std::to_string(seq) + ": refused: " + e.message());
				return true;
			}
			std::span<const std::uint8_t> reply(in_.data(), *got);
			auto time = " time=" + std::to_string(rtt) + " us";
			if (lateReply(reply, seq, scratch_)) {
				line(from(reply.size(), seqOf(reply)) + time +
				     " (late, counted lost)");
				continue;
			}
			if (auto diff = firstDifference(out_, reply)) {
				++stats_.corrupt;
				std::string why = reply.size() != out_.size()
							  ? std::to_string(reply.size()) + " bytes back for " + std::to_string(out_.size())
							  : "first difference at byte " + std::to_string(*diff);
				line(from(reply.size(), seq) + time + " CORRUPT (" + why + ")");
				return true;
			}
			++stats_.received;
			stats_.rttUs.push_back(static_cast<std::uint32_t>(std::min<long long>(rtt, UINT32_MAX)));
			line(from(reply.size(), seq) + time);
			return true;
		}
	}

	bool fail(const Error &e)
	{
		failure_ = streamFailure(ctx_, e);
		return false;
	}

	const Context &ctx_;
	const PingArgs &args_;
	Stream &stream_;
	std::vector<std::uint8_t> out_, scratch_, in_;
	std::string what_;
	PingStats stats_;
	std::optional<Error> failure_;
};

} // namespace

int cmdPing(const Context &ctx, const PingArgs &args)
{
	const std::string what = "ping " + args.remote + " " + args.channel;
	if (args.count && *args.count == 0)
		return usageError(ctx, "--count: expected at least 1");
	if (args.size > kMaxRpmsgPayload)
		return usageError(ctx, "--size: at most " + std::to_string(kMaxRpmsgPayload) + " bytes (one rpmsg message)");
	auto opened = openStream(ctx, args.remote, args.channel, OpenOptions{kAddrAny, args.direct, false}, Client::kQueryTimeout, what);
	if (!opened.stream)
		return opened.exit;
	if (args.size > opened.stream->mtu())
		return usageError(ctx, "--size: " + args.remote + " " + args.channel + " takes at most " +
					       std::to_string(opened.stream->mtu()) + " bytes");
	return Pinger(ctx, args, *opened.stream).run();
}

} // namespace amp::cli
