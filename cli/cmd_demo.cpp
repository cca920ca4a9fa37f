// SPDX-License-Identifier: MIT
// ampctl echo-test and matmul: the OpenAMP demos' masters (docs/openamp-demos.md), every byte checked.
#include "ampctl.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace amp::cli {

namespace {

using Clock = std::chrono::steady_clock;

void putLe(std::uint8_t *p, std::uint64_t v, std::size_t bytes)
{
	for (std::size_t i = 0; i < bytes; ++i)
		p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t getLe(const std::uint8_t *p, std::size_t bytes)
{
	std::uint64_t v = 0;
	for (std::size_t i = 0; i < bytes; ++i)
		v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
	return v;
}

std::string hexByte(std::uint8_t b)
{
	char text[8];
	std::snprintf(text, sizeof(text), "0x%02x", b);
	return text;
}

std::string seconds(std::chrono::milliseconds ms)
{
	char text[32];
	std::snprintf(text, sizeof(text), "%g s", static_cast<double>(ms.count()) / 1000);
	return text;
}

std::chrono::milliseconds left(Clock::time_point deadline)
{
	return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()), std::chrono::milliseconds(0));
}

std::optional<std::size_t> parseSize(std::string_view text)
{
	std::size_t v = 0;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
	if (ec != std::errc() || end != text.data() + text.size() || text.empty())
		return std::nullopt;
	return v;
}

// splitmix64: the same matrices for a seed on every machine and library.
std::uint64_t nextRandom(std::uint64_t &state)
{
	std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void putMatrix(std::uint8_t *p, const Matrix &m)
{
	putLe(p, kMatrixN, 4);
	for (std::size_t r = 0; r < kMatrixN; ++r)
		for (std::size_t c = 0; c < kMatrixN; ++c)
			putLe(p + 4 + 4 * (r * kMatrixN + c), m[r][c], 4);
}

nlohmann::json rttJson(const std::vector<std::uint32_t> &rttUs)
{
	if (auto rtt = summarizeRtt(rttUs))
		return {{"min", rtt->min}, {"p50", rtt->p50}, {"p99", rtt->p99}, {"max", rtt->max}};
	return nullptr;
}

} // namespace

// ---- echo test ----

std::vector<std::uint8_t> echoPayload(std::uint64_t num, std::size_t size)
{
	std::vector<std::uint8_t> out(kEchoHeader + size, kEchoFill);
	putLe(out.data(), num, 8);
	putLe(out.data() + 8, size, 8);
	return out;
}

std::optional<std::string> echoProblem(std::uint64_t num, std::size_t size, std::span<const std::uint8_t> got)
{
	std::size_t want = kEchoHeader + size;
	if (got.size() != want)
		return std::to_string(got.size()) + " bytes back for " + std::to_string(want);
	if (std::uint64_t n = getLe(got.data(), 8); n != num)
		return "num " + std::to_string(n) + " for " + std::to_string(num);
	if (std::uint64_t s = getLe(got.data() + 8, 8); s != size)
		return "size " + std::to_string(s) + " for " + std::to_string(size);
	for (std::size_t i = kEchoHeader; i < got.size(); ++i)
		if (got[i] != kEchoFill)
			return "data byte " + std::to_string(i - kEchoHeader) + " is " + hexByte(got[i]) + ", not " + hexByte(kEchoFill);
	return std::nullopt;
}

std::optional<std::pair<std::size_t, std::size_t>> parseSizeRange(std::string_view text)
{
	std::optional<std::size_t> a, b;
	if (auto dots = text.find(".."); dots != std::string_view::npos) {
		a = parseSize(text.substr(0, dots));
		b = parseSize(text.substr(dots + 2));
	} else {
		a = b = parseSize(text);
	}
	if (!a || !b || *a < 1 || *b > kEchoMaxSize || *a > *b)
		return std::nullopt;
	return std::pair{*a, *b};
}

std::string formatEchoSummary(const std::string &remote, const EchoStats &stats)
{
	std::string out = "--- " + remote + " echo-test statistics ---\n";
	out += std::to_string(stats.rounds) + " round" + (stats.rounds == 1 ? "" : "s") + ", sizes " + std::to_string(stats.minSize) +
	       ".." + std::to_string(stats.maxSize) + ", " + std::to_string(stats.sent) + " messages, " + std::to_string(stats.bytes) +
	       " bytes, " + std::to_string(stats.errors()) + " errors (" + std::to_string(stats.corrupt) + " corrupt, " +
	       std::to_string(stats.lost()) + " lost)\n";
	if (auto rtt = summarizeRtt(stats.rttUs))
		out += "rtt min/p50/p99/max = " + std::to_string(rtt->min) + "/" + std::to_string(rtt->p50) + "/" + std::to_string(rtt->p99) +
		       "/" + std::to_string(rtt->max) + " us\n";
	return out;
}

std::string echoSummaryJson(const std::string &remote, bool direct, const EchoStats &stats, const std::vector<EchoFailure> &failures)
{
	nlohmann::json f = nlohmann::json::array();
	for (const auto &x : failures)
		f.push_back({{"round", x.round}, {"size", x.size}, {"error", x.error}});
	nlohmann::json j = {{"ok", stats.errors() == 0 && stats.sent > 0},
			    {"remote", remote},
			    {"channel", kDemoChannel},
			    {"direct", direct},
			    {"rounds", stats.rounds},
			    {"sizes", {{"min", stats.minSize}, {"max", stats.maxSize}}},
			    {"messages", stats.sent},
			    {"bytes", stats.bytes},
			    {"errors", stats.errors()},
			    {"corrupt", stats.corrupt},
			    {"lost", stats.lost()},
			    {"rtt_us", rttJson(stats.rttUs)},
			    {"failures", f}};
	return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---- matrix multiplication ----

Matrix randomMatrix(std::uint64_t &state)
{
	Matrix m{};
	for (auto &row : m)
		for (auto &v : row)
			v = static_cast<std::uint32_t>(nextRandom(state) % 10);
	return m;
}

Matrix multiply(const Matrix &a, const Matrix &b)
{
	Matrix p{};
	for (std::size_t r = 0; r < kMatrixN; ++r)
		for (std::size_t c = 0; c < kMatrixN; ++c) {
			std::uint32_t sum = 0;
			for (std::size_t k = 0; k < kMatrixN; ++k)
				sum += a[r][k] * b[k][c];
			p[r][c] = sum;
		}
	return p;
}

std::vector<std::uint8_t> matmulRequest(const Matrix &a, const Matrix &b)
{
	std::vector<std::uint8_t> out(2 * kMatrixBytes);
	putMatrix(out.data(), a);
	putMatrix(out.data() + kMatrixBytes, b);
	return out;
}

Result<Matrix> parseMatrix(std::span<const std::uint8_t> message)
{
	if (message.size() != kMatrixBytes)
		return unexpected(EPROTO, std::to_string(message.size()) + " bytes back for " + std::to_string(kMatrixBytes));
	if (auto size = getLe(message.data(), 4); size != kMatrixN)
		return unexpected(EPROTO, "size " + std::to_string(size) + " for " + std::to_string(kMatrixN));
	Matrix m{};
	for (std::size_t r = 0; r < kMatrixN; ++r)
		for (std::size_t c = 0; c < kMatrixN; ++c)
			m[r][c] = static_cast<std::uint32_t>(getLe(message.data() + 4 + 4 * (r * kMatrixN + c), 4));
	return m;
}

std::string formatMatrices(const Matrix &a, const Matrix &b, const Matrix &product)
{
	auto row = [](const Matrix &m, std::size_t r, int width) {
		std::string out;
		for (std::size_t c = 0; c < kMatrixN; ++c) {
			char cell[16];
			std::snprintf(cell, sizeof(cell), "%*u", width, m[r][c]);
			out += cell;
		}
		return out;
	};
	// Inputs are 0..9 (2 columns a cell), a product at most 486 (4 columns),
	// wider when the remote sent something else: then it takes 11.
	std::uint32_t biggest = 0;
	for (const auto &r : product)
		for (auto v : r)
			biggest = std::max(biggest, v);
	int pw = biggest < 1000 ? 4 : 11;
	std::uint32_t inBiggest = 0;
	for (const Matrix *m : {&a, &b})
		for (const auto &r : *m)
			for (auto v : r)
				inBiggest = std::max(inBiggest, v);
	int iw = inBiggest < 10 ? 2 : 11;
	auto pad = [](std::string s, std::size_t width) {
		s.resize(std::max(s.size(), width), ' ');
		return s;
	};
	std::size_t aw = static_cast<std::size_t>(iw) * kMatrixN, bw = aw;
	std::string out = pad("A", aw) + "   " + pad("B", bw) + "   A x B\n";
	for (std::size_t r = 0; r < kMatrixN; ++r)
		out += row(a, r, iw) + "   " + row(b, r, iw) + "   " + row(product, r, pw) + "\n";
	return out;
}

std::string matrixJson(const Matrix &m)
{
	nlohmann::json j = nlohmann::json::array();
	for (const auto &r : m)
		j.push_back(nlohmann::json(std::vector<std::uint32_t>(r.begin(), r.end())));
	return j.dump();
}

// ---- the commands ----

namespace {

// The result of starting the remote with the demo's firmware: the exit code
// when it failed (reported), else 0.
int bootFirmware(const Context &ctx, const std::string &remote, const std::string &firmware, std::chrono::milliseconds timeout,
		 const std::string &what)
{
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client)
		return reportError(ctx, client.error(), Stage::Connect, what);
	auto info = client->status(remote);
	if (!info)
		return reportError(ctx, info.error(), Stage::Request, what, client->lastReplyJson());
	RemoteState now = info->empty() ? RemoteState::Offline : info->front().state;
	bool running = now == RemoteState::Running || now == RemoteState::RunningDegraded || now == RemoteState::Attached;
	Action action = running ? Action::Restart : Action::Start;
	auto reply = running ? client->restart(remote, firmware, timeout) : client->start(remote, StartOptions{firmware, true}, timeout);
	if (!reply)
		return reportError(ctx, reply.error(), Stage::Request, what + ": " + std::string(actionName(action)), client->lastReplyJson());
	if (!actionSucceeded(action, reply->state)) {
		*ctx.err << "ampctl: " << what << ": " << actionName(action) << " failed: " << formatAction(*reply) << "\n";
		return kExitFailed;
	}
	if (!ctx.json)
		*ctx.out << formatAction(*reply) << "\n";
	return kExitOk;
}

struct StopOutcome {
	int exit = kExitOk;
	nlohmann::json json; // {"ok","state","detail"} or the error
};

// The shutdown word goes out through ampd: sent by us, ampd would see the
// channel vanish under a running remote and might restart it.
StopOutcome gracefulStop(const Context &ctx, const std::string &remote, std::chrono::milliseconds timeout, const std::string &what)
{
	StopOutcome o;
	auto client = Client::connect(ctx.socket, ctx.clientName);
	if (!client) {
		*ctx.err << "ampctl: " << errorText(client.error(), Stage::Connect, what + ": stop", ctx.socket) << "\n";
		o.exit = exitCodeFor(client.error().code, Stage::Connect);
		o.json = {{"ok", false}, {"error", client.error().message()}};
		return o;
	}
	auto reply = client->stop(remote, true, timeout);
	if (!reply) {
		*ctx.err << "ampctl: " << errorText(reply.error(), Stage::Request, what + ": stop", ctx.socket) << "\n";
		o.exit = exitCodeFor(reply.error().code, Stage::Request);
		o.json = {{"ok", false}, {"error", reply.error().message()}};
		return o;
	}
	bool ok = actionSucceeded(Action::Stop, reply->state);
	bool without = reply->detail.find("no shutdown message") != std::string::npos ||
		       reply->detail.find("without the shutdown message") != std::string::npos;
	o.json = {{"ok", ok}, {"state", std::string(toString(reply->state))}, {"detail", reply->detail}, {"shutdown_message", !without}};
	if (!ok) {
		*ctx.err << "ampctl: " << what << ": stop failed: " << formatAction(*reply) << "\n";
		o.exit = kExitFailed;
	} else if (!ctx.json) {
		*ctx.out << "stop: " << formatAction(*reply) << "\n";
		if (without)
			*ctx.out << "stop: ampd stopped " << remote << " without a shutdown message (none configured, or the channel was not up)\n";
	}
	return o;
}

class EchoTester {
public:
	EchoTester(const Context &ctx, const EchoTestArgs &args, Stream &stream)
		: ctx_(ctx), args_(args), stream_(stream), in_(std::max<std::size_t>(stream.mtu(), kMaxRpmsgPayload))
	{
		stats_.minSize = args.minSize;
		stats_.maxSize = args.maxSize;
	}

	// Runs every round; the stream error that ended it early, if any.
	std::optional<Error> run()
	{
		line("ECHO " + args_.remote + " " + std::string(kDemoChannel) + " (src " + hexNumber(stream_.endpoint().src) + ", dst " +
		     hexNumber(stream_.endpoint().dst) + ", " + (stream_.direct() ? "direct" : "relay") + "): sizes " +
		     std::to_string(args_.minSize) + ".." + std::to_string(args_.maxSize) + " (+" + std::to_string(kEchoHeader) +
		     " header), " + std::to_string(args_.rounds) + " round" + (args_.rounds == 1 ? "" : "s"));
		catchInterrupts();
		std::uint64_t num = 0;
		for (std::uint64_t round = 1; round <= args_.rounds && !interrupted(); ++round) {
			++stats_.rounds;
			std::uint64_t errorsBefore = stats_.errors();
			for (std::size_t size = args_.minSize; size <= args_.maxSize; ++size) {
				if (interrupted())
					break;
				if (!echo(round, size, ++num))
					return failure_;
			}
			line("round " + std::to_string(round) + ": sizes " + std::to_string(args_.minSize) + ".." +
			     std::to_string(args_.maxSize) + ": " + std::to_string(stats_.errors() - errorsBefore) + " errors");
		}
		return std::nullopt;
	}

	const EchoStats &stats() const { return stats_; }
	const std::vector<EchoFailure> &failures() const { return failures_; }

private:
	void line(const std::string &text)
	{
		if (!ctx_.json)
			*ctx_.out << text << std::endl;
	}

	void failed(std::uint64_t round, std::size_t size, std::string error)
	{
		line("round " + std::to_string(round) + ", size " + std::to_string(size) + ": " + error);
		failures_.push_back({round, size, std::move(error)});
	}

	// An echo of an earlier message that timed out: already counted lost.
	bool late(std::span<const std::uint8_t> reply, std::uint64_t num) const
	{
		if (reply.size() < kEchoHeader)
			return false;
		std::uint64_t was = getLe(reply.data(), 8), size = getLe(reply.data() + 8, 8);
		return was >= 1 && was < num && size >= 1 && size <= kEchoMaxSize && !echoProblem(was, size, reply);
	}

	// false when the test cannot go on (stream gone, interrupted).
	bool echo(std::uint64_t round, std::size_t size, std::uint64_t num)
	{
		auto out = echoPayload(num, size);
		auto start = Clock::now();
		auto deadline = start + args_.timeout;
		++stats_.sent;
		stats_.bytes += out.size();
		if (auto sent = stream_.send(out, args_.timeout); !sent) {
			const Error &e = sent.error();
			if (e.code == EINTR) {
				--stats_.sent;
				return false;
			}
			if (e.code != EAGAIN)
				return fail(e);
			failed(round, size, "lost: not sent within " + seconds(args_.timeout));
			return true;
		}
		for (;;) {
			auto got = stream_.receive(in_, left(deadline));
			auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
			if (!got) {
				const Error &e = got.error();
				if (e.code == ETIMEDOUT) {
					failed(round, size, "lost: no echo within " + seconds(args_.timeout));
					return true;
				}
				if (e.code == EINTR) {
					--stats_.sent;
					return false;
				}
				if (e.code == ENOTCONN || e.code == EPIPE)
					return fail(e);
				failed(round, size, "lost: refused: " + e.message());
				return true;
			}
			std::span<const std::uint8_t> reply(in_.data(), *got);
			if (late(reply, num))
				continue;
			if (auto problem = echoProblem(num, size, reply)) {
				++stats_.corrupt;
				failed(round, size, "corrupt: " + *problem);
				return true;
			}
			++stats_.received;
			stats_.rttUs.push_back(static_cast<std::uint32_t>(std::min<long long>(rtt, UINT32_MAX)));
			return true;
		}
	}

	bool fail(const Error &e)
	{
		failure_ = streamFailure(ctx_, e);
		return false;
	}

	const Context &ctx_;
	const EchoTestArgs &args_;
	Stream &stream_;
	std::vector<std::uint8_t> in_;
	EchoStats stats_;
	std::vector<EchoFailure> failures_;
	std::optional<Error> failure_;
};

} // namespace

int cmdEchoTest(const Context &ctx, const EchoTestArgs &args)
{
	const std::string what = "echo-test " + args.remote;
	if (args.rounds == 0)
		return usageError(ctx, "--rounds: expected at least 1");
	if (args.minSize < 1 || args.maxSize > kEchoMaxSize || args.minSize > args.maxSize)
		return usageError(ctx, "--sizes: expected A..B with 1 <= A <= B <= " + std::to_string(kEchoMaxSize));
	if (auto bad = badName("remote", args.remote))
		return usageError(ctx, *bad);
	if (args.firmware)
		if (int e = bootFirmware(ctx, args.remote, *args.firmware, Client::kActionTimeout, what); e != kExitOk)
			return e;
	bool stop = args.stop.value_or(args.firmware.has_value());

	EchoStats stats;
	std::vector<EchoFailure> failures;
	bool direct = args.direct;
	int exit = kExitOk;
	{
		// The stock echo answers the first Linux address it hears from:
		// this stream is opened before anything else talks on the channel.
		auto opened = openStream(ctx, args.remote, std::string(kDemoChannel), OpenOptions{kAddrAny, args.direct, false},
					 Client::kQueryTimeout, what);
		if (!opened.stream)
			return opened.exit;
		if (kEchoHeader + args.maxSize > opened.stream->mtu())
			return usageError(ctx, "--sizes: " + args.remote + " " + std::string(kDemoChannel) + " takes at most " +
						       std::to_string(opened.stream->mtu()) + " bytes (" +
						       std::to_string(opened.stream->mtu() - kEchoHeader) + " after the header)");
		EchoTester tester(ctx, args, *opened.stream);
		auto failure = tester.run();
		stats = tester.stats();
		failures = tester.failures();
		direct = opened.stream->direct();
		if (!ctx.json)
			*ctx.out << "\n" << formatEchoSummary(args.remote, stats) << std::flush;
		if (failure) {
			*ctx.err << "ampctl: " << errorText(*failure, Stage::Stream, what, ctx.socket) << "\n";
			exit = exitCodeFor(failure->code, Stage::Stream);
		} else if (stats.errors() || stats.sent == 0) {
			exit = kExitFailed;
		}
		// The stream closes here: our endpoint is gone before the shutdown.
	}
	nlohmann::json report = nlohmann::json::parse(echoSummaryJson(args.remote, direct, stats, failures));
	if (stop) {
		auto outcome = gracefulStop(ctx, args.remote, Client::kActionTimeout, what);
		report["stop"] = outcome.json;
		if (exit == kExitOk)
			exit = outcome.exit;
	}
	if (ctx.json) {
		report["ok"] = exit == kExitOk;
		*ctx.out << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
	}
	if (exit == kExitFailed && stats.errors())
		*ctx.err << "ampctl: " << what << ": " << stats.errors() << " of " << stats.sent << " echoes failed (" << stats.corrupt
			 << " corrupt, " << stats.lost() << " lost)\n";
	return exit;
}

int cmdMatmul(const Context &ctx, const MatmulArgs &args)
{
	const std::string what = "matmul " + args.remote;
	if (args.count == 0)
		return usageError(ctx, "--count: expected at least 1");
	std::uint64_t seed = args.seed ? *args.seed
				       : static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
	auto opened = openStream(ctx, args.remote, std::string(kDemoChannel), OpenOptions{kAddrAny, args.direct, false},
				 Client::kQueryTimeout, what);
	if (!opened.stream)
		return opened.exit;
	Stream &stream = *opened.stream;
	if (stream.mtu() < 2 * kMatrixBytes)
		return reportError(ctx, Error{EMSGSIZE, "the channel takes " + std::to_string(stream.mtu()) + " bytes, the two matrices are " +
							     std::to_string(2 * kMatrixBytes)},
				   Stage::Local, what);
	catchInterrupts();
	std::vector<std::uint8_t> in(std::max<std::size_t>(stream.mtu(), kMaxRpmsgPayload));
	std::uint64_t state = seed;
	nlohmann::json results = nlohmann::json::array();
	std::uint64_t wrong = 0, done = 0;
	std::optional<Error> failure;
	if (!ctx.json)
		*ctx.out << "MATMUL " << args.remote << " " << kDemoChannel << " (src " << hexNumber(stream.endpoint().src) << ", dst "
			 << hexNumber(stream.endpoint().dst) << ", " << (stream.direct() ? "direct" : "relay") << "): seed " << seed << "\n";
	for (std::uint64_t i = 1; i <= args.count && !interrupted(); ++i) {
		Matrix a = randomMatrix(state), b = randomMatrix(state);
		Matrix want = multiply(a, b);
		auto deadline = Clock::now() + args.timeout;
		auto start = Clock::now();
		nlohmann::json r = {{"n", i},
				    {"a", nlohmann::json::parse(matrixJson(a))},
				    {"b", nlohmann::json::parse(matrixJson(b))},
				    {"expected", nlohmann::json::parse(matrixJson(want))}};
		std::string error;
		std::optional<Matrix> got;
		if (auto sent = stream.send(matmulRequest(a, b), args.timeout); !sent) {
			if (sent.error().code == EINTR)
				break;
			if (sent.error().code != EAGAIN) {
				failure = sent.error();
				break;
			}
			error = "not sent within " + seconds(args.timeout);
		} else if (auto n = stream.receive(in, left(deadline)); !n) {
			const Error &e = n.error();
			if (e.code == EINTR)
				break;
			if (e.code == ENOTCONN || e.code == EPIPE) {
				failure = e;
				break;
			}
			error = e.code == ETIMEDOUT ? "no product within " + seconds(args.timeout) : "refused: " + e.message();
		} else if (auto m = parseMatrix(std::span<const std::uint8_t>(in.data(), *n)); !m) {
			error = "bad reply: " + m.error().context;
		} else {
			got = *m;
			r["product"] = nlohmann::json::parse(matrixJson(*m));
			if (*m != want) {
				for (std::size_t row = 0; row < kMatrixN && error.empty(); ++row)
					for (std::size_t c = 0; c < kMatrixN && error.empty(); ++c)
						if ((*m)[row][c] != want[row][c])
							error = "wrong product: [" + std::to_string(row) + "][" + std::to_string(c) + "] is " +
								std::to_string((*m)[row][c]) + ", not " + std::to_string(want[row][c]);
			}
		}
		auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
		++done;
		r["ok"] = error.empty();
		r["rtt_us"] = rtt;
		if (!error.empty()) {
			r["error"] = error;
			++wrong;
		}
		if (!ctx.json) {
			*ctx.out << "\nmultiplication " << i << ": " << (error.empty() ? "ok" : "FAILED: " + error) << " (" << rtt << " us)\n";
			*ctx.out << formatMatrices(a, b, got ? *got : want);
			if (!got)
				*ctx.out << "(A x B computed here: no product came back)\n";
		}
		results.push_back(std::move(r));
	}
	int exit = wrong ? kExitFailed : kExitOk;
	if (failure)
		exit = exitCodeFor(failure->code, Stage::Stream);
	if (ctx.json) {
		nlohmann::json j = {{"ok", exit == kExitOk},
				    {"remote", args.remote},
				    {"channel", kDemoChannel},
				    {"direct", stream.direct()},
				    {"seed", seed},
				    {"count", done},
				    {"errors", wrong},
				    {"results", results}};
		*ctx.out << j.dump() << std::endl;
	} else {
		*ctx.out << "\n--- " << args.remote << " matmul: " << done << " multiplications, " << wrong << " wrong ---\n";
	}
	if (failure)
		*ctx.err << "ampctl: " << errorText(*failure, Stage::Stream, what, ctx.socket) << "\n";
	else if (wrong)
		*ctx.err << "ampctl: " << what << ": " << wrong << " of " << done << " products wrong or missing\n";
	return exit;
}

} // namespace amp::cli
