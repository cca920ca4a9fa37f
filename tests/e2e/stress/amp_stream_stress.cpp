// SPDX-License-Identifier: MIT
// amp-stream-stress: many channel streams on one echoing remote at once,
// every message checked: it arrives once, in order, uncorrupted, on the
// stream that sent it.
//
// Plain C++ on libamp's public API (no test framework), so the same binary
// runs against ampsim in the e2e tests and against a real kernel in a VM.
// Each stream has a thread; every message's size and bytes follow from
// (seed, stream, sequence number), and a message of 6 bytes or more starts
// with its stream id and sequence number, so the receiver knows exactly
// what it should get. Special streams: flooders (send whatever the stream
// socket takes), sleepy streams (never read until the normal streams are
// done), hostile streams (refused packets mixed into their traffic), and
// with --expect-downs the remote may go away and come back: messages in
// flight at a down may be lost, nothing else.
//
// Output: one summary line on stdout (problems on stderr), optionally a
// JSON report; exit 0 only when everything checked out.
#include <amp/client.hpp>
#include <amp/stream.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1; // a check failed (or the deadline passed)
constexpr int kExitUsage = 2;
constexpr int kExitSetup = 3; // could not connect or open a stream

// A message of this many bytes or more starts with its stream id (u16 LE)
// and sequence number (u32 LE); shorter ones are told by their position.
constexpr size_t kHeader = 6;
// Problems kept per stream (the rest are only counted).
constexpr size_t kMaxProblems = 8;

const char *const kUsage = R"(amp-stream-stress [OPTIONS] --remote NAME

Opens many channel streams through ampd to an echo remote that answers each
sender (ampsim: mkfw --app echo --reply-to-sender) and checks every message:
it comes back once, in order, uncorrupted, on the stream that sent it.

Streams:
  --streams N          normal streams (default 4)
  --messages M         messages in all over the normal streams (default 10000)
  --min-size B         smallest message (default 1; 0 works on real kernels only:
                       ampsim never sees a zero-byte write)
  --max-size B         largest message (default 496, at most the channel's mtu)
  --window W           messages in flight per normal stream (default 16)
  --seed S             sizes and contents follow from it (default 1)
  --direct[=K]         K (default: all) of the normal streams in direct mode
  --reattach[=K]       K (default: all) of the normal streams open with reattach
                       (spread evenly: --streams 4 --direct=2 --reattach=2 makes
                       direct, direct+reattach, relay, relay+reattach)
  --flooders K         relay streams that send whatever their socket takes, never
                       waiting for answers, until the normal streams are done
  --sleepy K           relay streams that send until ampd stops reading them and
                       read nothing until the normal streams are done
  --sleepy-cap N       a sleepy stream that got this many messages accepted means
                       ampd never stopped reading it: a failure (default 5000)
  --hostile K          normal-like streams that also put packets ampd must refuse
                       on their stream socket (empty, unknown kind, oversize; and
                       on a direct stream, where every other one is, any packet)
                       and expect an error event for each, in order
  --expect-downs K     the remote goes away K times meanwhile: each normal stream
                       sends until it saw K down events (reattach: and came back);
                       messages in flight at a down may be lost, nothing else
  --until-signal       normal streams go on until SIGINT, SIGTERM or SIGUSR1, then
                       drain and report

Connection:
  --socket PATH        ampd's socket (default $AMPD_SOCKET, else /run/ampd/ampd.sock)
  --remote NAME        the remote (required)
  --channel NAME       the channel (default rpmsg-openamp-demo-channel)
  --shared-client      open every stream through one Client (default: one each)
  --timeout S          give up after S seconds (default 300)

Output:
  --events             a line on stdout per stream event ("down stream=3 ...", "up
                       stream=3", "error stream=3 code=EMSGSIZE") and when a sleepy
                       stream's socket is first full ("asleep stream=5 accepted=N")
  --json FILE          the report as JSON to FILE ("-": stdout, after the summary)
  -h, --help

stdout also gets "started streams=N" once every normal stream had its first
answer. Exit status: 0 everything checked out, 1 a check failed or the
deadline passed, 2 usage, 3 could not connect or open a stream.
)";

struct Options {
	std::string socket = amp::Client::defaultSocketPath();
	std::string remote;
	std::string channel = "rpmsg-openamp-demo-channel";
	unsigned streams = 4;
	uint64_t messages = 10000;
	unsigned minSize = 1;
	unsigned maxSize = amp::kMaxRpmsgPayload;
	unsigned window = 16;
	uint64_t seed = 1;
	std::optional<unsigned> direct;   // how many normal streams; nullopt: none
	std::optional<unsigned> reattach; // likewise
	unsigned flooders = 0;
	unsigned sleepy = 0;
	uint64_t sleepyCap = 5000;
	unsigned hostile = 0;
	unsigned expectDowns = 0;
	bool untilSignal = false;
	bool sharedClient = false;
	double timeout = 300;
	bool events = false;
	std::optional<std::string> json;
};

enum class Kind { Normal, Flooder, Sleepy, Hostile };

const char *kindName(Kind k)
{
	switch (k) {
	case Kind::Normal:
		return "normal";
	case Kind::Flooder:
		return "flooder";
	case Kind::Sleepy:
		return "sleepy";
	case Kind::Hostile:
		return "hostile";
	}
	return "?";
}

// ---- payloads ------------------------------------------------------------------

uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

class Payloads {
public:
	Payloads(uint64_t seed, unsigned minSize, unsigned maxSize) : seed_(seed), min_(minSize), max_(maxSize) {}

	size_t size(uint32_t stream, uint64_t seq) const
	{
		uint64_t h = splitmix(seed_ ^ splitmix((uint64_t(stream) << 40) ^ seq ^ 0x5157A7E5ull));
		return min_ + h % (uint64_t(max_) - min_ + 1);
	}

	// The message `seq` of `stream`: its size and bytes.
	size_t fill(uint32_t stream, uint64_t seq, uint8_t *out) const
	{
		size_t n = size(stream, seq);
		uint64_t state = splitmix(seed_ * 0x2545F4914F6CDD1Dull ^ (uint64_t(stream) << 32) ^ seq);
		for (size_t i = 0; i < n; i += 8) {
			state = splitmix(state);
			size_t k = std::min<size_t>(8, n - i);
			std::memcpy(out + i, &state, k);
		}
		if (n >= kHeader) {
			out[0] = uint8_t(stream);
			out[1] = uint8_t(stream >> 8);
			for (int b = 0; b < 4; ++b)
				out[2 + b] = uint8_t(seq >> (8 * b));
		}
		return n;
	}

private:
	uint64_t seed_;
	unsigned min_, max_;
};

// ---- shared run state ----------------------------------------------------------

struct Shared {
	Shared(const Options &o) : opt(o), payloads(o.seed, o.minSize, o.maxSize) {}
	const Options &opt;
	Payloads payloads;
	Clock::time_point start, deadline;
	int stopFd = -1;  // readable once a signal asked the run to end
	int drainFd = -1; // readable once the normal streams are done
	std::atomic<bool> stop{false};
	std::atomic<bool> drain{false};
	std::atomic<unsigned> answered{0}; // normal streams that had their first answer
	unsigned normals = 0;
	std::mutex outMutex;

	void say(const std::string &line)
	{
		std::lock_guard lock(outMutex);
		std::fputs((line + "\n").c_str(), stdout);
		std::fflush(stdout);
	}
};

std::atomic<int> gStopFd{-1};
std::atomic<bool> *gStop = nullptr;

extern "C" void onSignal(int)
{
	if (gStop)
		gStop->store(true);
	uint64_t one = 1;
	int fd = gStopFd.load();
	if (fd >= 0)
		(void)!::write(fd, &one, sizeof one);
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return buf;
}

std::string quoted(const std::string &s)
{
	std::string out = "\"";
	for (unsigned char c : s) {
		if (c == '"' || c == '\\')
			out += '\\', out += char(c);
		else if (c == '\n')
			out += "\\n";
		else if (c < 0x20)
			out += format("\\u%04x", c);
		else
			out += char(c);
	}
	return out + "\"";
}

// ---- one stream ---------------------------------------------------------------

class Worker {
	Shared &sh_;
	const Options &opt_;

public:
	Worker(Shared &sh, uint32_t id, Kind kind, bool direct, bool reattach, uint64_t share, amp::Stream stream)
		: sh_(sh), opt_(sh.opt), id_(id), kind_(kind), direct_(direct), reattach_(reattach), share_(share),
		  stream_(std::move(stream))
	{
	}

	void run();
	void closeStream() { stream_ = std::nullopt; }

	// Results.
	uint32_t id_;
	Kind kind_;
	bool direct_, reattach_;
	uint64_t share_;
	uint64_t sent_ = 0, nextExpected_ = 0, received_ = 0, bytesSent_ = 0, bytesReceived_ = 0;
	uint64_t lost_ = 0, missing_ = 0, corrupt_ = 0, duplicates_ = 0, misdelivered_ = 0;
	uint64_t hostileSent_ = 0, errorsMatched_ = 0;
	unsigned downs_ = 0, ups_ = 0;
	bool ended_ = false; // down without reattach: the stream is over
	std::optional<bool> eof_;
	bool done_ = false;
	double seconds_ = 0;
	uint64_t problemCount_ = 0;
	std::vector<std::string> problems_;
	uint64_t sleepyAccepted_ = 0; // sleepy: what ampd had taken when the normal streams were done

private:
	std::optional<amp::Stream> stream_;
	std::vector<uint8_t> in_ = std::vector<uint8_t>(1024);
	std::vector<uint8_t> out_ = std::vector<uint8_t>(1024);
	std::vector<uint8_t> expect_ = std::vector<uint8_t>(1024);
	uint64_t forgiveMark_ = 0; // sent_ at the last down: what was before may be lost
	uint64_t sentSinceUp_ = 0, receivedSinceUp_ = 0;
	unsigned downsAtLastReceive_ = 0;
	std::deque<int> expectedErrors_;
	bool firstAnswer_ = false;
	bool blocked_ = false; // the last send found no room
	bool busy_ = false;    // a batch ended with more to send: do not wait
	bool saidAsleep_ = false;

	amp::Stream &s() { return *stream_; }
	const amp::Stream &s() const { return *stream_; }
	void problem(const std::string &what)
	{
		if (problems_.size() < kMaxProblems)
			problems_.push_back(what);
		++problemCount_;
	}
	bool stopped() const { return sh_.stop.load(std::memory_order_relaxed); }
	bool draining() const { return sh_.drain.load(std::memory_order_relaxed); }
	bool reads() const { return kind_ != Kind::Sleepy || draining(); }
	uint64_t outstanding() const { return sent_ - nextExpected_; }
	uint64_t windowUsed() const { return sent_ - std::max(nextExpected_, forgiveMark_); }
	// A normal (or hostile) stream still has messages to send.
	bool wantMore() const
	{
		if (ended_ || stopped())
			return false;
		return sent_ < share_ || opt_.untilSignal || downs_ < opt_.expectDowns ||
		       (reattach_ && downs_ > 0 && receivedSinceUp_ == 0);
	}
	bool canSend() const;
	bool finished();
	void sendSome();
	bool sendHostile();
	void receiveAll();
	void onMessage(size_t size);
	void onEvent(const amp::StreamEvent &event);
	void wait();
	std::string where() const
	{
		return format("sent %" PRIu64 ", received %" PRIu64 ", next expected %" PRIu64 ", downs %u, ups %u, up %s",
			      sent_, received_, nextExpected_, downs_, ups_, stream_ && s().up() ? "yes" : "no");
	}
};

bool Worker::canSend() const
{
	if (ended_ || !stream_->up())
		return false;
	switch (kind_) {
	case Kind::Normal:
	case Kind::Hostile:
		if (wantMore())
			return windowUsed() < opt_.window;
		// After a down, what was in flight may be lost: one message sent
		// after the return tells, as everything before it comes first.
		return reattach_ && downs_ > 0 && outstanding() > 0 && sentSinceUp_ == 0;
	case Kind::Flooder:
		return !draining() && !stopped();
	case Kind::Sleepy:
		return !draining() && !stopped() && sent_ < opt_.sleepyCap;
	}
	return false;
}

bool Worker::sendHostile()
{
	// Packets ampd must refuse, each with its error event, in this order of
	// its checks: empty, of an unknown kind, longer than a message can be
	// (just over, and far over); on a direct stream also a well-formed
	// message, as its socket carries events only.
	std::vector<uint8_t> packet;
	int code = 0;
	switch (hostileSent_ % (direct_ ? 5 : 4)) {
	case 0:
		code = EBADMSG;
		break;
	case 1:
		packet = {7, 'h', 'o', 's', 't'};
		code = EPROTO;
		break;
	case 2:
		packet.assign(1 + amp::kMaxRpmsgPayload + 1, 0x55);
		packet[0] = 0;
		code = EMSGSIZE;
		break;
	case 3:
		packet.assign(3000, 0xAA);
		packet[0] = 0;
		code = EMSGSIZE;
		break;
	default:
		packet = {0, 'd', 'i', 'r'};
		code = EPROTO;
		break;
	}
	ssize_t n = ::send(s().eventFd(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			blocked_ = true;
			return false;
		}
		if (errno != EINTR)
			problem(format("send a hostile packet: %s", std::strerror(errno)));
		return false;
	}
	++hostileSent_;
	expectedErrors_.push_back(code);
	return true;
}

void Worker::sendSome()
{
	blocked_ = busy_ = false;
	for (unsigned batch = 0; canSend(); ++batch) {
		if (batch == 64) {
			busy_ = true; // let the answers in, then go on
			return;
		}
		if (kind_ == Kind::Hostile && wantMore() && (sent_ + hostileSent_) % 8 == 7) {
			if (!sendHostile())
				return;
			continue;
		}
		size_t n = sh_.payloads.fill(id_, sent_, out_.data());
		auto r = s().send(std::span<const uint8_t>(out_.data(), n), 0ms);
		if (r) {
			++sent_;
			++sentSinceUp_;
			bytesSent_ += n;
			if (kind_ == Kind::Sleepy)
				sleepyAccepted_ = sent_;
			continue;
		}
		int code = r.error().code;
		if (code == EAGAIN) {
			blocked_ = true;
			if (kind_ == Kind::Sleepy && !saidAsleep_ && opt_.events) {
				// Its socket is full: ampd has stopped reading it (for now).
				saidAsleep_ = true;
				sh_.say(format("asleep stream=%u accepted=%" PRIu64, id_, sent_));
			}
			return;
		}
		if (code == EINTR)
			continue;
		if (code == ENOTCONN) // down: the event is there for next()
			return;
		if (code == EPIPE) // over: the down (or end-of-file) is there for next()
			return;
		problem(format("send of message %" PRIu64 " (%zu bytes): %s", sent_, n, r.error().message().c_str()));
		ended_ = true;
		return;
	}
	if (kind_ == Kind::Sleepy && sent_ >= opt_.sleepyCap && !draining())
		blocked_ = true;
}

void Worker::onMessage(size_t size)
{
	++received_;
	++receivedSinceUp_;
	bytesReceived_ += size;
	if (!firstAnswer_ && (kind_ == Kind::Normal || kind_ == Kind::Hostile)) {
		firstAnswer_ = true;
		if (sh_.answered.fetch_add(1) + 1 == sh_.normals)
			sh_.say(format("started streams=%u", sh_.normals));
	}
	const uint8_t *m = in_.data();
	uint64_t seq = nextExpected_;
	bool lossy = downs_ > downsAtLastReceive_;
	if (size >= kHeader) {
		uint32_t sid = m[0] | uint32_t(m[1]) << 8;
		uint32_t s32 = m[2] | uint32_t(m[3]) << 8 | uint32_t(m[4]) << 16 | uint32_t(m[5]) << 24;
		if (sid != (id_ & 0xFFFF)) {
			++misdelivered_;
			problem(format("got a message of stream %u (seq %u, %zu bytes) while expecting seq %" PRIu64, sid, s32, size,
				       nextExpected_));
			return;
		}
		// The full sequence number nearest to what we expect.
		seq = (nextExpected_ & ~uint64_t(0xFFFFFFFF)) | s32;
	}
	if (seq >= sent_) {
		++corrupt_;
		problem(format("message seq %" PRIu64 " (%zu bytes) was never sent (%" PRIu64 " sent)", seq, size, sent_));
		return;
	}
	if (seq < nextExpected_) {
		++duplicates_;
		problem(format("message seq %" PRIu64 " again or out of order (expected %" PRIu64 ")", seq, nextExpected_));
		return;
	}
	auto matches = [&](uint64_t q) {
		size_t n = sh_.payloads.fill(id_, q, expect_.data());
		return n == size && std::memcmp(expect_.data(), m, size) == 0;
	};
	if (!matches(seq)) {
		bool found = false;
		if (size < kHeader && lossy) {
			// A short message after a down: the first one it can be.
			for (uint64_t q = seq + 1; q < sent_ && q < seq + 4096 && !found; ++q)
				if (matches(q))
					seq = q, found = true;
		}
		if (!found) {
			++corrupt_;
			size_t want = sh_.payloads.fill(id_, seq, expect_.data());
			size_t at = 0;
			while (at < std::min(want, size) && expect_[at] == m[at])
				++at;
			problem(format("message seq %" PRIu64 " corrupt: %zu bytes (expected %zu), first difference at byte %zu", seq,
				       size, want, at));
		}
	}
	if (seq > nextExpected_) {
		uint64_t gap = seq - nextExpected_;
		if (lossy) {
			lost_ += gap;
		} else {
			missing_ += gap;
			problem(format("messages %" PRIu64 "..%" PRIu64 " missing, with no down event between", nextExpected_,
				       seq - 1));
		}
	}
	nextExpected_ = seq + 1;
	downsAtLastReceive_ = downs_;
}

void Worker::onEvent(const amp::StreamEvent &event)
{
	if (const auto *down = std::get_if<amp::StreamDown>(&event)) {
		++downs_;
		if (opt_.events)
			sh_.say(format("down stream=%u reason=%s reattach=%d", id_, quoted(down->reason).c_str(), down->reattach ? 1 : 0));
		if (opt_.expectDowns == 0)
			problem("went down: " + down->reason);
		if (!down->reattach) {
			// What was in flight never comes back; the stream is over.
			lost_ += outstanding();
			ended_ = true;
			expectedErrors_.clear();
		} else {
			forgiveMark_ = sent_;
			sentSinceUp_ = receivedSinceUp_ = 0;
		}
		return;
	}
	if (std::get_if<amp::StreamUp>(&event)) {
		++ups_;
		sentSinceUp_ = receivedSinceUp_ = 0;
		if (opt_.events)
			sh_.say(format("up stream=%u", id_));
		return;
	}
	const auto &error = std::get<amp::StreamError>(event);
	if (opt_.events)
		sh_.say(format("error stream=%u code=%s", id_, error.code.c_str()));
	if (!expectedErrors_.empty() && expectedErrors_.front() == error.errnum) {
		expectedErrors_.pop_front();
		++errorsMatched_;
		return;
	}
	problem(format("unexpected error event %s (%d): %s%s", error.code.c_str(), error.errnum, error.message.c_str(),
		       expectedErrors_.empty() ? "" : format(" (expected errno %d)", expectedErrors_.front()).c_str()));
	if (!expectedErrors_.empty())
		expectedErrors_.pop_front();
}

void Worker::receiveAll()
{
	for (unsigned i = 0; i < 256 && !ended_; ++i) {
		auto item = s().next(std::span<uint8_t>(in_.data(), in_.size()), 0ms);
		if (!item) {
			int code = item.error().code;
			if (code == ETIMEDOUT)
				return;
			if (code == EINTR)
				continue;
			if (code == EMSGSIZE) {
				++corrupt_;
				problem("a message longer than " + std::to_string(in_.size()) + " bytes: " + item.error().context);
				continue;
			}
			if (code == EPIPE && !ended_) {
				problem("the stream ended without a down event: " + item.error().message());
				ended_ = true;
				eof_ = true;
				return;
			}
			problem("next(): " + item.error().message());
			ended_ = true;
			return;
		}
		if (const auto *msg = std::get_if<amp::Stream::Message>(&*item))
			onMessage(msg->size);
		else
			onEvent(std::get<amp::StreamEvent>(*item));
	}
}

bool Worker::finished()
{
	if (ended_) {
		if (!eof_) {
			// After a final down ampd closes its end: end-of-file and nothing else.
			char byte;
			ssize_t n = ::recv(s().eventFd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n == 0) {
				eof_ = true;
			} else if (n > 0) {
				eof_ = false;
				problem("a packet after the final down event");
				return true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				eof_ = errno == ECONNRESET;
				if (!*eof_)
					problem(format("waiting for end-of-file: %s", std::strerror(errno)));
				return true;
			}
		}
		return eof_.has_value();
	}
	switch (kind_) {
	case Kind::Normal:
	case Kind::Hostile:
		return !wantMore() && outstanding() == 0 && expectedErrors_.empty() && s().up();
	case Kind::Flooder:
	case Kind::Sleepy:
		return (draining() || stopped()) && outstanding() == 0;
	}
	return true;
}

void Worker::wait()
{
	pollfd p[4];
	nfds_t n = 0;
	short ev = 0;
	if (reads() || ended_)
		ev |= POLLIN | POLLRDHUP;
	if (blocked_ && !direct_)
		ev |= POLLOUT;
	p[n++] = {s().eventFd(), ev, 0};
	if (direct_ && s().fd() >= 0 && reads())
		p[n++] = {s().fd(), POLLIN, 0};
	// Wake-ups that change what this stream does.
	if (!stopped())
		p[n++] = {sh_.stopFd, POLLIN, 0};
	if (!draining() && (kind_ == Kind::Flooder || kind_ == Kind::Sleepy))
		p[n++] = {sh_.drainFd, POLLIN, 0};
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(sh_.deadline - Clock::now()).count();
	int timeout = int(std::clamp<long long>(left, 0, 1000));
	// A direct endpoint without a free TX buffer never says POLLOUT: retry soon.
	if (blocked_ && direct_)
		timeout = std::min(timeout, 1);
	// Answers read since the last send may have opened the window.
	if (busy_ || (canSend() && !blocked_))
		timeout = 0;
	(void)::poll(p, n, timeout);
}

void Worker::run()
{
	// Signals are the main thread's business.
	sigset_t set;
	sigemptyset(&set);
	for (int sig : {SIGINT, SIGTERM, SIGUSR1})
		sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);

	bool sleptNoted = false;
	for (;;) {
		if (Clock::now() >= sh_.deadline) {
			problem(format("timed out after %.0f s: %s", opt_.timeout, where().c_str()));
			break;
		}
		if (reads())
			receiveAll();
		if (finished())
			break;
		sendSome();
		if (reads())
			receiveAll();
		if (finished())
			break;
		if (kind_ == Kind::Sleepy && draining() && !sleptNoted) {
			sleptNoted = true;
			if (sleepyAccepted_ >= opt_.sleepyCap)
				problem(format("ampd took all %" PRIu64 " messages of a stream that reads nothing: it never stopped reading it",
					       sleepyAccepted_));
		}
		wait();
	}
	done_ = true;
	seconds_ = std::chrono::duration<double>(Clock::now() - sh_.start).count();
	if (kind_ == Kind::Sleepy && !sleptNoted && sleepyAccepted_ >= opt_.sleepyCap)
		problem(format("ampd took all %" PRIu64 " messages of a stream that reads nothing: it never stopped reading it",
			       sleepyAccepted_));
}

// ---- options -------------------------------------------------------------------

bool parseUnsigned(const char *text, uint64_t max, uint64_t &out)
{
	if (!text || !*text)
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long long v = std::strtoull(text, &end, 10);
	if (errno || *end || v > max || text[0] == '-')
		return false;
	out = v;
	return true;
}

int usage(const std::string &why)
{
	std::fprintf(stderr, "amp-stream-stress: %s (--help for usage)\n", why.c_str());
	return kExitUsage;
}

std::optional<int> parse(int argc, char **argv, Options &o)
{
	enum {
		kSocket = 256, kRemote, kChannel, kStreams, kMessages, kMinSize, kMaxSize, kWindow, kSeed, kDirect, kReattach,
		kFlooders, kSleepy, kSleepyCap, kHostile, kExpectDowns, kUntilSignal, kShared, kTimeout, kEvents, kJson
	};
	static const option longs[] = {
		{"socket", required_argument, nullptr, kSocket},
		{"remote", required_argument, nullptr, kRemote},
		{"channel", required_argument, nullptr, kChannel},
		{"streams", required_argument, nullptr, kStreams},
		{"messages", required_argument, nullptr, kMessages},
		{"min-size", required_argument, nullptr, kMinSize},
		{"max-size", required_argument, nullptr, kMaxSize},
		{"window", required_argument, nullptr, kWindow},
		{"seed", required_argument, nullptr, kSeed},
		{"direct", optional_argument, nullptr, kDirect},
		{"reattach", optional_argument, nullptr, kReattach},
		{"flooders", required_argument, nullptr, kFlooders},
		{"sleepy", required_argument, nullptr, kSleepy},
		{"sleepy-cap", required_argument, nullptr, kSleepyCap},
		{"hostile", required_argument, nullptr, kHostile},
		{"expect-downs", required_argument, nullptr, kExpectDowns},
		{"until-signal", no_argument, nullptr, kUntilSignal},
		{"shared-client", no_argument, nullptr, kShared},
		{"timeout", required_argument, nullptr, kTimeout},
		{"events", no_argument, nullptr, kEvents},
		{"json", required_argument, nullptr, kJson},
		{"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, nullptr)) != -1) {
		uint64_t v = 0;
		std::string name = c >= 256 ? longs[c - 256].name : "";
		auto number = [&](uint64_t max) {
			if (!parseUnsigned(optarg, max, v))
				throw std::runtime_error("--" + name + ": expected a number from 0 to " + std::to_string(max) +
							 ", got '" + (optarg ? optarg : "") + "'");
			return v;
		};
		try {
			switch (c) {
			case 'h':
				std::fputs(kUsage, stdout);
				return kExitOk;
			case kSocket:
				o.socket = optarg;
				break;
			case kRemote:
				o.remote = optarg;
				break;
			case kChannel:
				o.channel = optarg;
				break;
			case kStreams:
				o.streams = unsigned(number(4096));
				break;
			case kMessages:
				o.messages = number(uint64_t(1) << 40);
				break;
			case kMinSize:
				o.minSize = unsigned(number(amp::kMaxRpmsgPayload));
				break;
			case kMaxSize:
				o.maxSize = unsigned(number(amp::kMaxRpmsgPayload));
				break;
			case kWindow:
				o.window = unsigned(number(1 << 20));
				break;
			case kSeed:
				o.seed = number(UINT64_MAX);
				break;
			case kDirect:
				o.direct = optarg ? unsigned(number(4096)) : UINT32_MAX;
				break;
			case kReattach:
				o.reattach = optarg ? unsigned(number(4096)) : UINT32_MAX;
				break;
			case kFlooders:
				o.flooders = unsigned(number(1024));
				break;
			case kSleepy:
				o.sleepy = unsigned(number(1024));
				break;
			case kSleepyCap:
				o.sleepyCap = number(uint64_t(1) << 40);
				break;
			case kHostile:
				o.hostile = unsigned(number(1024));
				break;
			case kExpectDowns:
				o.expectDowns = unsigned(number(1 << 20));
				break;
			case kUntilSignal:
				o.untilSignal = true;
				break;
			case kShared:
				o.sharedClient = true;
				break;
			case kTimeout: {
				char *end = nullptr;
				o.timeout = std::strtod(optarg, &end);
				if (*end || !(o.timeout > 0))
					throw std::runtime_error("--timeout: expected seconds, got '" + std::string(optarg) + "'");
				break;
			}
			case kEvents:
				o.events = true;
				break;
			case kJson:
				o.json = optarg;
				break;
			default:
				return usage(std::string("unknown option '") + argv[optind - 1] + "'");
			}
		} catch (const std::exception &e) {
			return usage(e.what());
		}
	}
	if (optind < argc)
		return usage(std::string("unexpected argument '") + argv[optind] + "'");
	if (o.remote.empty())
		return usage("--remote is required");
	if (o.minSize > o.maxSize)
		return usage("--min-size is larger than --max-size");
	if (o.window == 0)
		return usage("--window: at least 1");
	if (o.streams + o.flooders + o.sleepy + o.hostile == 0)
		return usage("no streams to run");
	if (o.streams > 0xFFFF || o.streams + o.flooders + o.sleepy + o.hostile > 0xFFFF)
		return usage("at most 65535 streams");
	if (o.direct)
		o.direct = std::min(*o.direct, o.streams);
	if (o.reattach)
		o.reattach = std::min(*o.reattach, o.streams);
	return std::nullopt;
}

// ---- the run -------------------------------------------------------------------

double rate(uint64_t n, double seconds)
{
	return seconds > 0 ? double(n) / seconds : 0;
}

std::string report(const Options &o, const std::vector<std::unique_ptr<Worker>> &workers, double normalSeconds, bool ok,
		   uint64_t problems)
{
	uint64_t messages = 0, bytes = 0, lost = 0, flooded = 0, downs = 0, ups = 0, sleepyMax = 0, errors = 0;
	for (const auto &w : workers) {
		if (w->kind_ == Kind::Normal || w->kind_ == Kind::Hostile)
			messages += w->received_, bytes += w->bytesReceived_;
		if (w->kind_ == Kind::Flooder)
			flooded += w->received_;
		if (w->kind_ == Kind::Sleepy)
			sleepyMax = std::max(sleepyMax, w->sleepyAccepted_);
		lost += w->lost_;
		downs += w->downs_;
		ups += w->ups_;
		errors += w->errorsMatched_;
	}
	std::ostringstream j;
	j.setf(std::ios::fixed);
	j.precision(3);
	j << "{\"ok\":" << (ok ? "true" : "false") << ",\"remote\":" << quoted(o.remote) << ",\"channel\":" << quoted(o.channel)
	  << ",\"normal\":" << o.streams << ",\"flooders\":" << o.flooders << ",\"sleepy\":" << o.sleepy
	  << ",\"hostile\":" << o.hostile << ",\"window\":" << o.window << ",\"min_size\":" << o.minSize
	  << ",\"max_size\":" << o.maxSize << ",\"seed\":" << o.seed << ",\"messages\":" << messages << ",\"bytes\":" << bytes
	  << ",\"normal_seconds\":" << normalSeconds << ",\"normal_rate\":" << rate(messages, normalSeconds)
	  << ",\"flooded\":" << flooded << ",\"sleepy_accepted\":" << sleepyMax << ",\"error_events\":" << errors
	  << ",\"lost\":" << lost << ",\"downs\":" << downs << ",\"ups\":" << ups << ",\"problems\":" << problems
	  << ",\"streams\":[";
	for (size_t i = 0; i < workers.size(); ++i) {
		const Worker &w = *workers[i];
		j << (i ? "," : "") << "{\"id\":" << w.id_ << ",\"kind\":\"" << kindName(w.kind_) << "\",\"direct\":"
		  << (w.direct_ ? "true" : "false") << ",\"reattach\":" << (w.reattach_ ? "true" : "false") << ",\"sent\":" << w.sent_
		  << ",\"received\":" << w.received_ << ",\"bytes_sent\":" << w.bytesSent_ << ",\"bytes_received\":"
		  << w.bytesReceived_ << ",\"lost\":" << w.lost_ << ",\"missing\":" << w.missing_ << ",\"corrupt\":" << w.corrupt_
		  << ",\"duplicates\":" << w.duplicates_ << ",\"misdelivered\":" << w.misdelivered_ << ",\"downs\":" << w.downs_
		  << ",\"ups\":" << w.ups_ << ",\"hostile_sent\":" << w.hostileSent_ << ",\"error_events\":" << w.errorsMatched_
		  << ",\"eof\":" << (w.eof_ ? (*w.eof_ ? "true" : "false") : "null") << ",\"seconds\":" << w.seconds_
		  << ",\"rate\":" << rate(w.received_, w.seconds_);
		if (w.kind_ == Kind::Sleepy)
			j << ",\"accepted_while_asleep\":" << w.sleepyAccepted_;
		j << ",\"problems\":[";
		for (size_t k = 0; k < w.problems_.size(); ++k)
			j << (k ? "," : "") << quoted(w.problems_[k]);
		j << "]}";
	}
	j << "]}";
	return j.str();
}

int runStress(const Options &o)
{
	Shared sh(o);
	sh.stopFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sh.drainFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sh.stopFd < 0 || sh.drainFd < 0) {
		std::fprintf(stderr, "amp-stream-stress: eventfd: %s\n", std::strerror(errno));
		return kExitSetup;
	}
	gStop = &sh.stop;
	gStopFd = sh.stopFd;
	struct sigaction sa = {};
	sa.sa_handler = onSignal;
	sigemptyset(&sa.sa_mask);
	for (int sig : {SIGINT, SIGTERM, SIGUSR1})
		sigaction(sig, &sa, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	// Who is who: normal streams first (the first `direct` of them direct,
	// the reattaching ones spread evenly, so that with both options every
	// combination occurs), then hostile (every other one direct), flooders,
	// sleepy (relay: they are about ampd's relay).
	struct Plan {
		Kind kind;
		bool direct, reattach;
		uint64_t share;
	};
	std::vector<Plan> plans;
	unsigned direct = o.direct.value_or(0), reattach = o.reattach.value_or(0);
	for (unsigned i = 0; i < o.streams; ++i)
		plans.push_back({Kind::Normal, i < direct, (i + 1) * reattach / o.streams > i * reattach / o.streams,
				 o.messages / o.streams + (i < o.messages % o.streams ? 1 : 0)});
	for (unsigned i = 0; i < o.hostile; ++i)
		plans.push_back({Kind::Hostile, i % 2 == 1, false, std::max<uint64_t>(64, o.streams ? o.messages / o.streams : 1000)});
	for (unsigned i = 0; i < o.flooders; ++i)
		plans.push_back({Kind::Flooder, false, false, 0});
	for (unsigned i = 0; i < o.sleepy; ++i)
		plans.push_back({Kind::Sleepy, false, false, 0});
	sh.normals = o.streams + o.hostile;

	std::vector<amp::Client> clients;
	std::vector<std::unique_ptr<Worker>> workers;
	for (uint32_t id = 0; id < plans.size(); ++id) {
		if (clients.empty() || !o.sharedClient) {
			auto c = amp::Client::connect(o.socket, "amp-stream-stress");
			if (!c) {
				std::fprintf(stderr, "amp-stream-stress: connect to %s: %s\n", o.socket.c_str(), c.error().message().c_str());
				return kExitSetup;
			}
			if (!o.sharedClient)
				clients.clear(); // the stream does not need its Client once open
			clients.push_back(std::move(*c));
		}
		const Plan &p = plans[id];
		amp::OpenOptions oo;
		oo.direct = p.direct;
		oo.reattach = p.reattach;
		auto st = clients.back().open(o.remote, o.channel, oo);
		if (!st) {
			std::fprintf(stderr, "amp-stream-stress: open stream %u (%s%s%s) on %s %s: %s\n", id, kindName(p.kind),
				     p.direct ? ", direct" : "", p.reattach ? ", reattach" : "", o.remote.c_str(), o.channel.c_str(),
				     st.error().message().c_str());
			return kExitSetup;
		}
		if (st->mtu() < o.maxSize) {
			std::fprintf(stderr, "amp-stream-stress: the channel's mtu is %u, less than --max-size %u\n", st->mtu(), o.maxSize);
			return kExitUsage;
		}
		workers.push_back(std::make_unique<Worker>(sh, id, p.kind, p.direct, p.reattach, p.share, std::move(*st)));
	}
	clients.clear();

	sh.start = Clock::now();
	sh.deadline = sh.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout));
	if (sh.normals == 0)
		sh.say("started streams=0");
	std::vector<std::thread> threads;
	for (auto &w : workers)
		threads.emplace_back([&w] { w->run(); });
	// The normal streams first: their time is what the others must not spoil.
	double normalSeconds = 0;
	for (size_t i = 0; i < workers.size(); ++i) {
		if (workers[i]->kind_ != Kind::Normal && workers[i]->kind_ != Kind::Hostile)
			continue;
		threads[i].join();
		normalSeconds = std::max(normalSeconds, workers[i]->seconds_);
	}
	sh.drain = true;
	uint64_t one = 1;
	(void)!::write(sh.drainFd, &one, sizeof one);
	for (auto &t : threads)
		if (t.joinable())
			t.join();
	for (auto &w : workers)
		w->closeStream();

	uint64_t problems = 0;
	for (const auto &w : workers) {
		problems += w->problemCount_;
		for (const auto &p : w->problems_)
			std::fprintf(stderr, "amp-stream-stress: stream %u (%s%s%s): %s\n", w->id_, kindName(w->kind_),
				     w->direct_ ? ", direct" : "", w->reattach_ ? ", reattach" : "", p.c_str());
		if (w->problemCount_ > w->problems_.size())
			std::fprintf(stderr, "amp-stream-stress: stream %u: %" PRIu64 " more problems\n", w->id_,
				     w->problemCount_ - w->problems_.size());
	}
	bool ok = problems == 0;
	std::string json = report(o, workers, normalSeconds, ok, problems);

	uint64_t messages = 0, bytes = 0, lost = 0, downs = 0, flooded = 0, sleepyMax = 0;
	for (const auto &w : workers) {
		if (w->kind_ == Kind::Normal || w->kind_ == Kind::Hostile)
			messages += w->received_, bytes += w->bytesReceived_;
		flooded += w->kind_ == Kind::Flooder ? w->received_ : 0;
		if (w->kind_ == Kind::Sleepy)
			sleepyMax = std::max(sleepyMax, w->sleepyAccepted_);
		lost += w->lost_;
		downs += w->downs_;
	}
	std::string summary = format("amp-stream-stress: %s: %u streams, %" PRIu64 " messages (%.1f MB) in %.3f s (%.0f msg/s); "
				     "flooders %u (%" PRIu64 " messages), sleepy %u (%" PRIu64 " accepted asleep), hostile %u, "
				     "lost %" PRIu64 ", downs %" PRIu64 ", problems %" PRIu64,
				     ok ? "ok" : "FAILED", o.streams, messages, double(bytes) / 1e6, normalSeconds,
				     rate(messages, normalSeconds), o.flooders, flooded, o.sleepy, sleepyMax, o.hostile, lost, downs,
				     problems);
	sh.say(summary);
	if (o.json) {
		if (*o.json == "-") {
			sh.say(json);
		} else {
			std::ofstream f(*o.json);
			f << json << "\n";
			if (!f) {
				std::fprintf(stderr, "amp-stream-stress: cannot write %s\n", o.json->c_str());
				ok = false;
			}
		}
	}
	gStopFd = -1;
	return ok ? kExitOk : kExitFailed;
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	if (auto exit = parse(argc, argv, o))
		return *exit;
	return runStress(o);
}
