// SPDX-License-Identifier: MIT
// The simulated remote firmware: the OpenAMP demo remotes and misbehaving apps.
//
// echo, matmul and rpc behave byte for byte like the OpenAMP demo remotes;
// crash, hang, slow and silent/norsc are the faults tests need; rpcprobe is
// a hostile proxy remote.
//
// The demos' behaviour comes from open-amp apps/examples/{echo/rpmsg-echo.c,
// matrix_multiply/matrix_multiplyd.c, rpc_demo/rpc_demo.c}, the proxy layer
// lib/proxy/rpmsg_retarget.c, and the rpmsg core (lib/rpmsg/rpmsg.c,
// rpmsg_virtio.c). Where the real firmware would read or write out of bounds
// (short or long messages, hostile replies) the simulator does the nearest
// thing that stays in bounds, and says so in the trace.
#include "firmware_app.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <coroutine>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ampsim {
namespace {

constexpr uint32_t kAddrAny = 0xFFFFFFFFu; // RPMSG_ADDR_ANY
// A 512-byte vring buffer less the 16-byte rpmsg header: the most one
// message can carry (MAX_BUF_LEN in rpmsg_retarget.c).
constexpr size_t kMaxPayload = 496;

uint32_t getLe32(const uint8_t *p)
{
	return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void putLe32(uint8_t *p, uint32_t v)
{
	p[0] = uint8_t(v);
	p[1] = uint8_t(v >> 8);
	p[2] = uint8_t(v >> 16);
	p[3] = uint8_t(v >> 24);
}

// The demos test `*(unsigned int *)data == SHUTDOWN_MSG` whatever the length;
// below 4 bytes they would read stale buffer bytes, which we take as "not
// the shutdown word".
bool isShutdown(std::span<const uint8_t> d)
{
	return d.size() >= 4 && getLe32(d.data()) == AMPSIM_SHUTDOWN_WORD;
}

__attribute__((format(printf, 1, 2))) std::string format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = std::vsnprintf(nullptr, 0, fmt, ap);
	va_end(ap);
	std::string s(n > 0 ? size_t(n) : 0, '\0');
	if (n > 0)
		std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
	va_end(ap2);
	return s;
}

// One rpmsg endpoint as OpenAMP runs it (rpmsg_create_ept() with
// RPMSG_ADDR_ANY as destination), shared by every app that talks:
// - the name-service announcement on start;
// - messages for any other local address are dropped (no such endpoint);
// - the destination is learnt from the first message that reaches the
//   endpoint (rpmsg_virtio_rx_callback() sets ept->dest_addr when it is
//   RPMSG_ADDR_ANY) and rpmsg_send() always goes there, even when later
//   messages come from other Linux addresses;
// - rpmsg_destroy_ept() sends the NS destroy and unregisters the address,
//   so later messages are dropped.
class EndpointApp : public FirmwareApp {
public:
	explicit EndpointApp(FirmwareSpec spec) : spec_(std::move(spec)) {}
	~EndpointApp() override { *alive_ = false; }

	void start(RemoteBus &bus) override
	{
		bus_ = &bus;
		bus.log("Starting application...");
		listening_ = true;
		announced_ = true;
		bus.announce(spec_.service, spec_.announceAddr);
		onStart(bus);
	}

	void receive(RemoteBus &bus, uint32_t src, uint32_t dst, std::span<const uint8_t> data) override
	{
		bus_ = &bus;
		inbox_.push_back(Message{src, dst, std::vector<uint8_t>(data.begin(), data.end())});
		// A bus that answers from inside send() re-enters here: the real
		// remote only looks at its vring when it polls, so queue the
		// message for the loop below instead of recursing.
		if (dispatching_)
			return;
		auto alive = alive_;
		dispatching_ = true;
		while (!inbox_.empty()) {
			Message m = std::move(inbox_.front());
			inbox_.pop_front();
			deliver(bus, m);
			// reportCrash() may have destroyed this app.
			if (!*alive)
				return;
		}
		dispatching_ = false;
	}

protected:
	virtual void onStart(RemoteBus &) {}
	virtual void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) = 0;

	const FirmwareSpec &spec() const { return spec_; }
	const char *name() const { return spec_.app.c_str(); }
	uint32_t addr() const { return spec_.announceAddr; }

	// Where rpmsg_send() would put a reply to a message from `src`.
	uint32_t replyAddr(uint32_t src) const
	{
		return (spec_.flags & AMPSIM_FW_REPLY_TO_SENDER) ? src : destAddr_;
	}

	void stopListening() { listening_ = false; }

	// rpmsg_destroy_ept(): NS destroy, address unregistered.
	void destroyEndpoint(RemoteBus &bus)
	{
		listening_ = false;
		if (announced_) {
			announced_ = false;
			bus.unannounce(spec_.service, spec_.announceAddr);
		}
	}

	// bus.after(), but never calling into an app that is gone (the model
	// promises to drop timers of a stopped core; this does not rely on it).
	void later(RemoteBus &bus, std::chrono::milliseconds delay, std::function<void()> fn)
	{
		auto alive = alive_;
		bus.after(delay, [alive, fn = std::move(fn)] {
			if (*alive)
				fn();
		});
	}

	RemoteBus *bus_ = nullptr;

private:
	struct Message {
		uint32_t src, dst;
		std::vector<uint8_t> data;
	};

	void deliver(RemoteBus &bus, const Message &m)
	{
		if (!listening_) {
			bus.log(format("ampsim %s: no endpoint any more, dropping %zu-byte message from 0x%x",
				       name(), m.data.size(), m.src));
			return;
		}
		if (m.dst != spec_.announceAddr) {
			bus.log(format("ampsim %s: no endpoint at 0x%x, dropping %zu-byte message from 0x%x",
				       name(), m.dst, m.data.size(), m.src));
			return;
		}
		if (destAddr_ == kAddrAny)
			destAddr_ = m.src;
		onMessage(bus, m.src, m.data);
	}

	FirmwareSpec spec_;
	std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
	std::deque<Message> inbox_;
	bool dispatching_ = false;
	bool listening_ = false;
	bool announced_ = false;
	uint32_t destAddr_ = kAddrAny;
};

// ---------------------------------------------------------------- echo ----

// rpmsg-echo.c: everything back unchanged, until the shutdown word.
class EchoApp : public EndpointApp {
public:
	using EndpointApp::EndpointApp;

protected:
	void onStart(RemoteBus &bus) override
	{
		bus.log("Try to create rpmsg endpoint.");
		bus.log("Successfully created rpmsg endpoint.");
	}

	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		if (isShutdown(data)) {
			shutdown(bus);
			return;
		}
		echo(bus, src, data);
	}

	void echo(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data)
	{
		bus.send(addr(), replyAddr(src), data);
	}

	// The callback sets shutdown_req, the main loop leaves and calls
	// rpmsg_destroy_ept(): no echo of the shutdown message, NS destroy.
	void shutdown(RemoteBus &bus)
	{
		bus.log("shutdown message is received.");
		left_ = true;
		destroyEndpoint(bus);
		bus.log("Stopping application...");
	}

	bool left_ = false;
};

// --------------------------------------------------------------- matmul ---

// matrix_multiplyd.c: one message with two struct matrix, one back.
class MatmulApp : public EndpointApp {
public:
	using EndpointApp::EndpointApp;

protected:
	static constexpr size_t kDim = 6;                       // MAX_SIZE
	static constexpr size_t kMatrixBytes = 4 + 4 * kDim * kDim; // 148
	struct Matrix {
		uint32_t size = 0;
		uint32_t e[kDim][kDim] = {};
	};

	void onStart(RemoteBus &bus) override { bus.log("Waiting for events..."); }

	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		if (isShutdown(data)) {
			bus.log("shutdown message is received.");
			destroyEndpoint(bus);
			bus.log("Stopping application...");
			return;
		}
		// The demo memcpy()s `len` bytes into matrix_array[2] on its
		// stack: shorter leaves stale stack (zero here), longer smashes
		// the stack (ignored here).
		std::array<uint8_t, 2 * kMatrixBytes> raw{};
		size_t n = std::min(data.size(), raw.size());
		std::copy_n(data.begin(), n, raw.begin());
		if (data.size() != raw.size())
			bus.log(format("ampsim matmul: %zu-byte message, the demo expects %zu", data.size(),
				       raw.size()));
		Matrix m = parse(raw.data()), k = parse(raw.data() + kMatrixBytes);
		Matrix r = multiply(bus, m, k);

		std::array<uint8_t, kMatrixBytes> out{};
		putLe32(out.data(), r.size);
		for (size_t i = 0; i < kDim; i++)
			for (size_t j = 0; j < kDim; j++)
				putLe32(out.data() + 4 + 4 * (i * kDim + j), r.e[i][j]);
		bus.send(addr(), replyAddr(src), out);
	}

	static Matrix parse(const uint8_t *p)
	{
		Matrix m;
		m.size = getLe32(p);
		for (size_t i = 0; i < kDim; i++)
			for (size_t j = 0; j < kDim; j++)
				m.e[i][j] = getLe32(p + 4 + 4 * (i * kDim + j));
		return m;
	}

	// Matrix_Multiply(): r->size = m->size; i < m->size, j < n->size,
	// k < r->size; unsigned arithmetic. A size above 6 walks the real
	// demo off its arrays; the simulator stops at 6.
	static Matrix multiply(RemoteBus &bus, const Matrix &m, const Matrix &n)
	{
		Matrix r;
		r.size = m.size;
		if (m.size > kDim || n.size > kDim)
			bus.log(format("ampsim matmul: sizes %u/%u exceed %zu; the real demo would run past its arrays",
				       m.size, n.size, kDim));
		size_t im = std::min<size_t>(m.size, kDim), jn = std::min<size_t>(n.size, kDim),
		       kr = std::min<size_t>(r.size, kDim);
		for (size_t i = 0; i < im; i++)
			for (size_t j = 0; j < jn; j++)
				for (size_t k = 0; k < kr; k++)
					r.e[i][j] += m.e[i][k] * n.e[k][j];
		return r;
	}
};

// ---------------------------------------------------------------- crash ---

// Echo that faults: after crashAfterMsgs echoed messages, or crashAfterMs
// after start, whichever comes first. A crashed core does nothing more (no
// NS destroy: it never gets that far). A clean shutdown first means no crash.
class CrashApp : public EchoApp {
public:
	using EchoApp::EchoApp;

protected:
	void onStart(RemoteBus &bus) override
	{
		EchoApp::onStart(bus);
		if (spec().crashAfterMs) {
			RemoteBus *b = &bus;
			later(bus, std::chrono::milliseconds(spec().crashAfterMs), [this, b] {
				crash(*b, format("%u ms after start", spec().crashAfterMs));
			});
		}
	}

	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		if (crashed_)
			return;
		if (isShutdown(data)) {
			shutdown(bus);
			return;
		}
		echo(bus, src, data);
		if (spec().crashAfterMsgs && ++count_ >= spec().crashAfterMsgs)
			crash(bus, format("after %u messages", count_));
	}

private:
	void crash(RemoteBus &bus, const std::string &why)
	{
		if (crashed_ || left_)
			return;
		crashed_ = true;
		stopListening();
		bus.log("ampsim crash: firmware faults " + why);
		// Last: the model may tear this app down from inside.
		bus.reportCrash();
	}

	uint32_t count_ = 0;
	bool crashed_ = false;
};

// ----------------------------------------------------------------- hang ---

// Announces, then is wedged: never answers, not even the shutdown word.
class HangApp : public EndpointApp {
public:
	using EndpointApp::EndpointApp;

protected:
	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		bus.log(format("ampsim hang: ignoring %zu-byte message from 0x%x", data.size(), src));
	}
};

// ----------------------------------------------------------------- slow ---

// Echo whose every reply leaves replyDelayMs after its message arrived.
// Replies go out strictly in arrival order (our own FIFO, whatever order
// the bus runs same-deadline timers in), and a shutdown takes effect once
// the replies ahead of it are out, as it would on a serial remote.
class SlowApp : public EndpointApp {
public:
	using EndpointApp::EndpointApp;

protected:
	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		if (isShutdown(data)) {
			bus.log("shutdown message is received.");
			stopListening();
			if (pending_.empty())
				destroyEndpoint(bus);
			else
				unannounceWhenDrained_ = true;
			return;
		}
		pending_.push_back(Pending{replyAddr(src), std::vector<uint8_t>(data.begin(), data.end())});
		RemoteBus *b = &bus;
		later(bus, delay(), [this, b] { sendOne(*b); });
	}

private:
	struct Pending {
		uint32_t dst;
		std::vector<uint8_t> data;
	};

	std::chrono::milliseconds delay() const
	{
		return std::chrono::milliseconds(spec().replyDelayMs ? spec().replyDelayMs : 50);
	}

	void sendOne(RemoteBus &bus)
	{
		if (pending_.empty())
			return;
		Pending p = std::move(pending_.front());
		pending_.pop_front();
		bus.send(addr(), p.dst, p.data);
		if (pending_.empty() && unannounceWhenDrained_) {
			unannounceWhenDrained_ = false;
			destroyEndpoint(bus);
		}
	}

	std::deque<Pending> pending_;
	bool unannounceWhenDrained_ = false;
};

// -------------------------------------------------------- silent, norsc ---

// The core runs and never talks: no marker, app "silent", or no resource
// table (app "norsc") so there is no rpmsg at all.
class SilentApp : public FirmwareApp {
public:
	explicit SilentApp(std::string why) : why_(std::move(why)) {}
	void start(RemoteBus &bus) override { bus.log(why_); }
	void receive(RemoteBus &, uint32_t, uint32_t, std::span<const uint8_t>) override {}

private:
	std::string why_;
};

// ------------------------------------------------------------------ rpc ---

// A coroutine that is awaited by another one (or started by hand). The demo
// is a straight-line C program that blocks in every system call; writing it
// as coroutines keeps it straight-line here too, suspended while a request
// waits for the host's reply.
template <typename T>
class Task {
public:
	struct promise_type;
	using Handle = std::coroutine_handle<promise_type>;

	struct promise_type {
		T value{};
		std::coroutine_handle<> continuation;

		Task get_return_object() { return Task(Handle::from_promise(*this)); }
		std::suspend_always initial_suspend() noexcept { return {}; }
		struct Final {
			bool await_ready() noexcept { return false; }
			std::coroutine_handle<> await_suspend(Handle h) noexcept
			{
				if (auto c = h.promise().continuation)
					return c;
				return std::noop_coroutine();
			}
			void await_resume() noexcept {}
		};
		Final final_suspend() noexcept { return {}; }
		void return_value(T v) { value = std::move(v); }
		void unhandled_exception() { std::terminate(); }
	};

	Task() = default;
	explicit Task(Handle h) : h_(h) {}
	Task(Task &&o) noexcept : h_(std::exchange(o.h_, {})) {}
	Task &operator=(Task &&o) noexcept
	{
		if (this != &o) {
			reset();
			h_ = std::exchange(o.h_, {});
		}
		return *this;
	}
	Task(const Task &) = delete;
	Task &operator=(const Task &) = delete;
	~Task() { reset(); }

	bool await_ready() const noexcept { return false; }
	std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept
	{
		h_.promise().continuation = c;
		return h_;
	}
	T await_resume() { return std::move(h_.promise().value); }

	void start() { h_.resume(); }

private:
	void reset()
	{
		// Destroying a suspended frame destroys the child tasks it holds.
		if (h_)
			h_.destroy();
		h_ = {};
	}

	Handle h_;
};

// rpc_demo.c on top of rpmsg_retarget.c and newlib, as the remote runs it:
// - rpmsg_rpc_init() creates the endpoint (announce) and polls until it
//   knows the host's address, i.e. until any first message arrives;
// - every system call is one request, and rpmsg_rpc_send() then polls until
//   the next message arrives, whatever it is: that message is the reply,
//   copied into a zeroed buffer of the expected size (the real buffer holds
//   stale stack; fields a short reply does not reach read as 0 here);
// - a reply whose id is not the request's makes the call return -EINVAL;
// - a message whose id is TERM makes rpmsg_rpc_ept_cb() destroy the
//   endpoint (NS destroy) without waking the caller: the demo then waits
//   forever;
// - stdout and stdin are newlib FILEs: line-buffered (the BSP's isatty()
//   says 1) with BUFSIZ (1024) buffers, so a printf() becomes one WRITE per
//   completed line (flushed at each '\n'), stdin is refilled by READ(0, 1024)
//   and keeps what scanf() did not consume, and a READ that returns 0 leaves
//   stdin at a sticky EOF (newlib's __srefill_r() never reads again).
class RpcApp : public EndpointApp {
public:
	using EndpointApp::EndpointApp;

protected:
	// rpmsg_retarget.h
	static constexpr uint32_t kOpen = 1, kClose = 2, kWrite = 3, kRead = 4, kTerm = 6;
	static constexpr size_t kHeader = 16;        // struct rpmsg_rpc_syscall
	static constexpr int kEinval = EINVAL;        // 22, the same in newlib
	static constexpr size_t kStdioBuf = 1024;     // newlib BUFSIZ
	// rpc_demo.c's REDEF_O_* and S_IRUSR | S_IWUSR, Linux values.
	static constexpr int32_t kOCreat = 0100, kOWronly = 01, kOAppend = 02000, kORdonly = 0;
	static constexpr int32_t kMode0600 = 0600;
	// Console loop passes that read nothing before the simulator ends the
	// demo (see runDemo()).
	static constexpr int kMaxIdlePasses = 3;

	void onStart(RemoteBus &bus) override { bus.log("Initializating I/Os redirection..."); }

	void onMessage(RemoteBus &bus, uint32_t src, std::span<const uint8_t> data) override
	{
		lastSrc_ = src;
		if (data.size() >= 4 && getLe32(data.data()) == kTerm) {
			bus.log("ampsim rpc: TERM from the host: endpoint destroyed; the demo now waits forever");
			waiter_ = nullptr;
			destroyEndpoint(bus);
			return;
		}
		if (!started_) {
			// rpmsg_rpc_init() returns: the endpoint is ready.
			started_ = true;
			demo_ = run();
			demo_.start();
			return;
		}
		if (!waiter_) {
			bus.log(format("ampsim rpc: no call outstanding, dropping %zu-byte message", data.size()));
			return;
		}
		size_t n = std::min(data.size(), resp_.size());
		std::copy_n(data.begin(), n, resp_.begin());
		respGot_ = data.size();
		std::exchange(waiter_, nullptr).resume();
	}

	// The program the remote runs once it knows the host's address.
	virtual Task<int> run() { return runDemo(); }

	struct Reply {
		std::vector<uint8_t> buf; // zero-filled to the size the caller expects
		size_t got = 0;           // bytes the host actually sent
	};

	struct ReadResult {
		int ret = 0;
		std::vector<uint8_t> data; // the bytes _read() copied into the buffer
	};

	// rpmsg_rpc_send() with a response buffer: send req_, then wait.
	// Only trivially destructible members: GCC 12 destroys non-trivial
	// members of a co_await temporary twice when the frame is destroyed
	// while suspended (a stopped core), so the request lives in req_.
	struct Call {
		RpcApp *app;
		size_t respCap;

		bool await_ready() const noexcept { return false; }
		void await_suspend(std::coroutine_handle<> h)
		{
			app->waiter_ = h;
			app->resp_.assign(respCap, 0);
			app->respGot_ = 0;
			app->sendRequest(app->req_);
		}
		Reply await_resume() { return Reply{std::move(app->resp_), app->respGot_}; }
	};

	Call call(std::vector<uint8_t> &&req, size_t respCap)
	{
		req_ = std::move(req);
		return Call{this, respCap};
	}

	// rpmsg_send(): to the learnt host address (or the sender's).
	void sendRequest(std::span<const uint8_t> req) { bus_->send(addr(), replyAddr(lastSrc_), req); }

	static std::vector<uint8_t> request(uint32_t id, int32_t f1, int32_t f2, uint32_t dataLen)
	{
		std::vector<uint8_t> r(kHeader);
		putLe32(r.data(), id);
		putLe32(r.data() + 4, uint32_t(f1));
		putLe32(r.data() + 8, uint32_t(f2));
		putLe32(r.data() + 12, dataLen);
		return r;
	}

	static const char *callName(uint32_t id)
	{
		switch (id) {
		case kOpen: return "OPEN";
		case kClose: return "CLOSE";
		case kWrite: return "WRITE";
		case kRead: return "READ";
		default: return "?";
		}
	}

	// The common tail of _open/_close/_write/_read: `resp.id == X ?
	// resp.args.int_field1 : -EINVAL`.
	int result(const Reply &r, uint32_t id)
	{
		if (r.got < kHeader)
			bus_->log(format("ampsim rpc: %s reply is %zu bytes, short of the %zu-byte header",
					 callName(id), r.got, kHeader));
		uint32_t rid = getLe32(r.buf.data());
		if (rid != id) {
			bus_->log(format("ampsim rpc: %s got a reply with id %u: -EINVAL", callName(id), rid));
			return -kEinval;
		}
		int v = int32_t(getLe32(r.buf.data() + 4));
		if (v < 0)
			bus_->log(format("ampsim rpc: %s returned %d", callName(id), v));
		return v;
	}

	// _open(): flags and mode as given, the path with its NUL.
	Task<int> sysOpen(std::string path, int32_t flags, int32_t mode)
	{
		size_t len = path.size() + 1;
		if (kHeader + len > kMaxPayload)
			co_return -kEinval;
		std::vector<uint8_t> req = request(kOpen, flags, mode, uint32_t(len));
		req.insert(req.end(), path.begin(), path.end());
		req.push_back(0);
		Reply r = co_await call(std::move(req), kHeader);
		co_return result(r, kOpen);
	}

	// _close()
	Task<int> sysClose(int32_t fd)
	{
		std::vector<uint8_t> req = request(kClose, fd, 0, 0);
		Reply r = co_await call(std::move(req), kHeader);
		co_return result(r, kClose);
	}

	// _write(): fd 1 gets a trailing NUL (data_len = len + 1), and what
	// does not fit one message is refused with -EINVAL, unsent.
	Task<int> sysWrite(int32_t fd, std::vector<uint8_t> bytes)
	{
		size_t nul = fd == 1 ? 1 : 0;
		if (bytes.size() > kMaxPayload - kHeader - nul) {
			bus_->log(format("ampsim rpc: WRITE of %zu bytes to fd %d does not fit a message: -EINVAL, not sent",
					 bytes.size(), fd));
			co_return -kEinval;
		}
		std::vector<uint8_t> req =
			request(kWrite, fd, int32_t(bytes.size()), uint32_t(bytes.size() + nul));
		req.insert(req.end(), bytes.begin(), bytes.end());
		if (nul)
			req.push_back(0);
		Reply r = co_await call(std::move(req), kHeader);
		co_return result(r, kWrite);
	}

	// _read(): the reply's data is copied only when int_field1 > 0, and
	// clamped to the message (480) and to the caller's buffer; the return
	// value is int_field1 whatever was copied.
	Task<ReadResult> sysRead(int32_t fd, int32_t buflen)
	{
		std::vector<uint8_t> req = request(kRead, fd, buflen, 0);
		Reply r = co_await call(std::move(req), kMaxPayload);
		ReadResult out;
		out.ret = result(r, kRead);
		if (getLe32(r.buf.data()) == kRead && out.ret > 0) {
			size_t len = getLe32(r.buf.data() + 12);
			len = std::min(len, kMaxPayload - kHeader);
			len = std::min(len, size_t(buflen));
			if (r.got < kHeader + len)
				bus_->log(format("ampsim rpc: READ reply carries %zu of its %zu data bytes",
						 r.got > kHeader ? r.got - kHeader : 0, len));
			out.data.assign(r.buf.begin() + kHeader, r.buf.begin() + kHeader + len);
		}
		co_return out;
	}

	// newlib __sflush_r() on stdout: write until done; a result <= 0 sets
	// the error flag and drops what was buffered.
	Task<int> flushStdout()
	{
		std::string buf = std::exchange(stdout_, std::string());
		size_t off = 0;
		while (off < buf.size()) {
			std::vector<uint8_t> chunk(buf.begin() + off, buf.end());
			int t = co_await sysWrite(1, std::move(chunk));
			if (t <= 0) {
				bus_->log(format("ampsim rpc: stdout write failed (%d), %zu bytes lost", t,
						 buf.size() - off));
				co_return -1;
			}
			off += size_t(t);
		}
		co_return 0;
	}

	// printf() to a line-buffered stdout.
	Task<int> print(std::string s)
	{
		for (char c : s) {
			stdout_.push_back(c);
			if (c == '\n' || stdout_.size() >= kStdioBuf)
				(void)co_await flushStdout();
		}
		co_return 0;
	}

	// The next stdin byte without consuming it, or -1 at EOF or error.
	// newlib's __srefill_r(): sticky EOF, flush line-buffered output
	// first, then one READ of a whole buffer.
	Task<int> peekc()
	{
		while (stdin_.empty()) {
			if (stdinEof_)
				co_return -1;
			if (!stdout_.empty())
				(void)co_await flushStdout();
			ReadResult r = co_await sysRead(0, int32_t(kStdioBuf));
			if (r.ret <= 0) {
				if (r.ret == 0)
					stdinEof_ = true;
				co_return -1;
			}
			// newlib trusts the count: bytes the reply claimed but did
			// not carry are whatever the buffer held (zero here), and a
			// count past the buffer would run off it (capped here).
			size_t n = std::min(size_t(r.ret), kStdioBuf);
			r.data.resize(n, 0);
			stdin_.insert(stdin_.end(), r.data.begin(), r.data.end());
			consoleBytes_ += n;
		}
		co_return int(stdin_.front());
	}

	static bool isSpace(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
	static bool isDigit(int c) { return c >= '0' && c <= '9'; }

	// Skip white space; false at EOF.
	Task<int> skipSpace()
	{
		for (;;) {
			int c = co_await peekc();
			if (c < 0)
				co_return 0;
			if (!isSpace(c))
				co_return 1;
			stdin_.pop_front();
		}
	}

	// scanf("%s", ubuff): EOF (-1) if input ends before a word, else 1.
	// ubuff is char[50]: a longer word smashes the real demo's stack; here
	// it is kept to 49 bytes, and one word stops after a buffer's worth.
	Task<int> scanWord(std::string &out)
	{
		int ok = co_await skipSpace();
		if (!ok)
			co_return -1;
		std::string word;
		for (;;) {
			int c = co_await peekc();
			if (c < 0 || isSpace(c) || word.size() >= kStdioBuf)
				break;
			word.push_back(char(c));
			stdin_.pop_front();
		}
		word.resize(std::min<size_t>(word.size(), 49));
		out.assign(word.c_str()); // what strcmp() and %s see: up to the first NUL
		co_return 1;
	}

	// scanf("%d", &idata): 1, 0 (no number; the input stays), or EOF.
	// strtol() saturates (long is 32 bits on the R5).
	Task<int> scanInt(int &out)
	{
		int ok = co_await skipSpace();
		if (!ok)
			co_return -1;
		std::string num;
		int c = co_await peekc();
		if (c == '+' || c == '-') {
			num.push_back(char(c));
			stdin_.pop_front();
		}
		bool digits = false;
		for (;;) {
			c = co_await peekc();
			if (!isDigit(c) || num.size() >= 39)
				break;
			num.push_back(char(c));
			stdin_.pop_front();
			digits = true;
		}
		if (!digits) {
			unget(num);
			co_return 0;
		}
		long long v = std::strtoll(num.c_str(), nullptr, 10);
		out = int(std::clamp<long long>(v, INT32_MIN, INT32_MAX));
		co_return 1;
	}

	// scanf("%f", &fdata): [sign] digits [. digits] [e [sign] digits],
	// at least one digit; 1, 0 (the input stays) or EOF. (newlib would
	// also take "inf" and "nan"; the demo's users type numbers.)
	Task<int> scanFloat(float &out)
	{
		int ok = co_await skipSpace();
		if (!ok)
			co_return -1;
		std::string num;
		int c = co_await peekc();
		if (c == '+' || c == '-') {
			num.push_back(char(c));
			stdin_.pop_front();
		}
		bool digits = false, dot = false;
		for (;;) {
			c = co_await peekc();
			if (num.size() >= 39)
				break;
			if (isDigit(c))
				digits = true;
			else if (c == '.' && !dot)
				dot = true;
			else
				break;
			num.push_back(char(c));
			stdin_.pop_front();
		}
		if (!digits) {
			unget(num);
			co_return 0;
		}
		c = co_await peekc();
		if (c == 'e' || c == 'E') {
			std::string exp(1, char(c));
			stdin_.pop_front();
			c = co_await peekc();
			if (c == '+' || c == '-') {
				exp.push_back(char(c));
				stdin_.pop_front();
			}
			bool expDigits = false;
			for (;;) {
				c = co_await peekc();
				if (!isDigit(c) || exp.size() >= 8)
					break;
				exp.push_back(char(c));
				stdin_.pop_front();
				expDigits = true;
			}
			if (expDigits)
				num += exp;
			else
				unget(exp); // "1e" is 1 followed by "e"
		}
		out = std::strtof(num.c_str(), nullptr);
		co_return 1;
	}

	// ungetc() of what a failed conversion looked at.
	void unget(const std::string &s) { stdin_.insert(stdin_.begin(), s.begin(), s.end()); }

	// app() of rpc_demo.c, after rpmsg_rpc_init().
	Task<int> runDemo()
	{
		bus_->log(format("ampsim rpc: host at 0x%x, demo starting", replyAddr(lastSrc_)));
		const std::string fname = "remote.file";
		std::string ubuff;
		int idata = 0;
		float fdata = 0;
		int ret = 0;

		co_await print("\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n");
		co_await print("\nRemote>***************************************************\r\n");
		co_await print("\nRemote>Rpmsg based retargetting to proxy initialized..\r\n");
		co_await print("\nRemote>FileIO demo ..\r\n");
		co_await print("\nRemote>Creating a file on master and writing to it..\r\n");
		int fd = co_await sysOpen(fname, kOCreat | kOWronly | kOAppend, kMode0600);
		co_await print(format("\nRemote>Opened file '%s' with fd = %d\r\n", fname.c_str(), fd));

		const std::string wbuff = "This is a test string being written to file..";
		std::vector<uint8_t> wbytes(wbuff.begin(), wbuff.end());
		int written = co_await sysWrite(fd, std::move(wbytes));
		co_await print(format("\nRemote>Wrote to fd = %d, size = %d, content = %s\r\n", fd, written,
				      wbuff.c_str()));
		(void)co_await sysClose(fd);
		co_await print(format("\nRemote>Closed fd = %d\r\n", fd));

		co_await print("\nRemote>Reading a file on master and displaying its contents..\r\n");
		fd = co_await sysOpen(fname, kORdonly, kMode0600);
		co_await print(format("\nRemote>Opened file '%s' with fd = %d\r\n", fname.c_str(), fd));
		// One read() of up to 1024: newlib's read() is _read(), not a loop,
		// so the demo gets at most what one reply carries (480).
		ReadResult rd = co_await sysRead(fd, 1024);
		int bytesRead = rd.ret;
		std::array<char, 1024> rbuff{};
		std::copy(rd.data.begin(), rd.data.end(), rbuff.begin());
		// `*(rbuff + bytes_read + 1) = 0`, off by one and unchecked in the
		// demo; here only when it lands inside rbuff.
		int64_t nul = int64_t(bytesRead) + 1;
		if (nul >= 0 && nul < int64_t(rbuff.size()))
			rbuff[size_t(nul)] = 0;
		std::string contents(rbuff.data(), strnlen(rbuff.data(), rbuff.size()));
		co_await print(format("\nRemote>Read from fd = %d, size = %d, printing contents below .. %s\r\n",
				      fd, bytesRead, contents.c_str()));
		(void)co_await sysClose(fd);
		co_await print(format("\nRemote>Closed fd = %d\r\n", fd));

		// The real loop has no way out but "no": once stdin is at EOF (or
		// every READ fails) it prompts forever. A pass that reads nothing
		// changes no state, so after kMaxIdlePasses such passes the
		// simulator ends the demo as "no" would, and says so.
		int idle = 0;
		for (;;) {
			size_t before = consoleBytes_;
			co_await print("\nRemote>Remote firmware using scanf and printf ..\r\n");
			co_await print("\nRemote>Scanning user input from master..\r\n");
			co_await print("\nRemote>Enter name\r\n");
			ret = co_await scanWord(ubuff);
			if (ret) {
				co_await print("\nRemote>Enter age\r\n");
				ret = co_await scanInt(idata);
				if (ret) {
					co_await print("\nRemote>Enter value for pi\r\n");
					ret = co_await scanFloat(fdata);
					if (ret) {
						co_await print(format("\nRemote>User name = '%s'\r\n", ubuff.c_str()));
						co_await print(format("\nRemote>User age = '%d'\r\n", idata));
						co_await print(format("\nRemote>User entered value of pi = '%f'\r\n",
								      double(fdata)));
					}
				}
			}
			if (!ret) {
				(void)co_await scanWord(ubuff);
				co_await print("Remote> Invalid value. Starting again....");
			} else {
				co_await print("\nRemote>Repeat demo ? (enter yes or no) \r\n");
				(void)co_await scanWord(ubuff);
				if (ubuff != "no" && ubuff != "yes") {
					co_await print("\nRemote>Invalid option. Starting again....\r\n");
				} else if (ubuff == "no") {
					co_await print("\nRemote>RPC retargetting quitting ...\r\n");
					break;
				}
			}
			if (consoleBytes_ != before) {
				idle = 0;
			} else if (++idle >= kMaxIdlePasses) {
				bus_->log(format("ampsim rpc: %d console passes without input (%s); the real demo "
						 "would prompt forever, ending it here",
						 idle, stdinEof_ ? "stdin at EOF" : "every READ failed"));
				break;
			}
		}

		co_await print("\nRemote> Firmware's rpmsg-rpc-channel going down! \r\n");
		// rpmsg_rpc_send(&rpc, &rpccall, sizeof(rpccall), NULL, 0): no
		// reply awaited. (The demo leaves the args uninitialised; zero.)
		term();
		co_return 0;
	}

	// The TERM that ends every program, then rpmsg_destroy_ept().
	void term()
	{
		std::vector<uint8_t> t = request(kTerm, 0, 0, 0);
		sendRequest(t);
		bus_->log("Release remoteproc procedure call");
		destroyEndpoint(*bus_);
		bus_->log("Stopping application...");
	}

	Task<int> demo_;
	bool started_ = false;
	uint32_t lastSrc_ = kAddrAny;
	std::coroutine_handle<> waiter_;
	std::vector<uint8_t> req_;
	std::vector<uint8_t> resp_;
	size_t respGot_ = 0;
	std::string stdout_;
	std::deque<uint8_t> stdin_;
	bool stdinEof_ = false;
	size_t consoleBytes_ = 0;
};

// ------------------------------------------------------------- rpcprobe ---

// A hostile proxy remote (not an OpenAMP demo): after the rpc demo's start
// handshake it attacks the host's proxy one request at a time, waiting for
// each reply, and prints one line per result to its console (WRITE to
// fd 1), the same lines as the QEMU driver's (amp_rpcprobe), so that the
// tests share their expectations (tests/sim/README.md has the list):
//   traversal: "../../etc/passwd", "/etc/passwd", "escape" (a symlink the
//     test plants), "sub/../../outside", flag bits and a mode no file has;
//   garbage, each answered -1 or, where the proxy protocol has no reply
//     (shorter than a call id, an unknown id), followed by a CLOSE of fd 0
//     whose answer must be the next message that comes: "no reply";
//   the cap: OPEN "probe-<n>" O_CREAT|O_WRONLY 1000 times without CLOSE,
//     then CLOSE of every fd it got;
//   a readback of "probe-ok"; "probe done"; TERM, as the rpc demo ends.
// The garbage comes before the cap so that the host's refusal log, rate
// limited, still has room for its reasons.
class ProbeApp : public RpcApp {
public:
	using RpcApp::RpcApp;

	static constexpr int32_t kRdwr = 02, kTrunc = 01000;
	static constexpr int kCapOpens = 1000;
	static constexpr const char *kReadback = "rpcprobe readback: the proxy kept this intact";

protected:
	void onStart(RemoteBus &bus) override { bus.log("ampsim rpcprobe: a hostile proxy remote"); }

	// One line on the console.
	Task<int> say(std::string line)
	{
		line += '\n';
		(void)co_await sysWrite(1, std::vector<uint8_t>(line.begin(), line.end()));
		co_return 0;
	}

	// A message as it is, its reply's result (-EINVAL: a reply of another id).
	Task<int> rawCall(std::vector<uint8_t> msg, uint32_t id)
	{
		Reply r = co_await call(std::move(msg), kHeader);
		co_return result(r, id);
	}

	// A message the protocol has no reply to; then CLOSE of fd 0, which is
	// 0: anything else first means the host answered the garbage.
	Task<std::string> noReply(std::vector<uint8_t> msg)
	{
		sendRequest(msg);
		Reply r = co_await call(request(kClose, 0, 0, 0), kHeader);
		uint32_t id = getLe32(r.buf.data());
		int32_t v = int32_t(getLe32(r.buf.data() + 4));
		if (id == kClose && v == 0)
			co_return "no reply";
		co_return format("reply id %u result %d", id, v);
	}

	// (No braced lists in the coroutine: GCC 12 cannot keep their arrays in a frame.)
	static std::vector<uint8_t> bytes(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

	static std::vector<uint8_t> withData(std::vector<uint8_t> req, const std::string &data)
	{
		req.insert(req.end(), data.begin(), data.end());
		return req;
	}

	Task<int> run() override
	{
		bus_->log(format("ampsim rpcprobe: host at 0x%x, probe starting", replyAddr(lastSrc_)));
		co_await say("probe start");

		// ---- traversal, flags, mode
		int r = co_await sysOpen("../../etc/passwd", kORdonly, 0);
		co_await say(format("probe open ../../etc/passwd = %d", r));
		r = co_await sysOpen("/etc/passwd", kORdonly, 0);
		co_await say(format("probe open /etc/passwd = %d", r));
		r = co_await sysOpen("escape", kOWronly | kOCreat | kTrunc, 0644);
		co_await say(format("probe open escape = %d", r));
		r = co_await sysOpen("sub/../../outside", kOWronly | kOCreat, 0644);
		co_await say(format("probe open sub/../../outside = %d", r));
		r = co_await sysOpen("probe-flags", 0x7ff00000 | kOCreat | kOWronly, 0600);
		co_await say(format("probe open flags 0x7ff00041 = %d", r));
		r = co_await sysOpen("probe-mode", kOCreat | kOWronly, 0x7fffffff);
		co_await say(format("probe open mode 0x7fffffff = %d", r));

		// ---- garbage
		int g = co_await sysOpen("probe-garbage", kRdwr | kOCreat | kTrunc, 0600);
		int w = co_await sysWrite(g, bytes("0123456789"));
		int rd = co_await sysOpen("probe-garbage", kORdonly, 0);
		if (g >= 3 && w == 10 && rd >= 3)
			co_await say("probe garbage setup = ok");
		else
			co_await say(format("probe garbage setup = FAIL fd %d write %d fd %d", g, w, rd));

		std::string nr = co_await noReply(std::vector<uint8_t>());
		co_await say("probe garbage empty = " + nr);
		nr = co_await noReply(bytes(std::string("\x01\0\0", 3)));
		co_await say("probe garbage short-3 = " + nr);
		r = co_await rawCall(bytes(std::string("\x01\0\0\0\0\0\0\0", 8)), kOpen);
		co_await say(format("probe garbage truncated-header = %d", r));
		nr = co_await noReply(request(99, 0, 0, 0));
		co_await say("probe garbage unknown-id = " + nr);
		r = co_await rawCall(withData(request(kOpen, kORdonly, 0, 400), std::string("probe-ok\0", 9)), kOpen);
		co_await say(format("probe garbage open-datalen = %d", r));
		r = co_await rawCall(withData(request(kOpen, kORdonly, 0, kMaxPayload - kHeader),
					      std::string(kMaxPayload - kHeader, 'A')),
				     kOpen);
		co_await say(format("probe garbage open-max-size = %d", r));
		{
			// READ of 2^31-1 bytes: at most one message comes back.
			Reply rep = co_await call(request(kRead, rd, INT32_MAX, 0), kMaxPayload);
			r = result(rep, kRead);
			uint32_t dataLen = getLe32(rep.buf.data() + 12);
			size_t have = rep.got > kHeader ? std::min(rep.got, kMaxPayload) - kHeader : 0;
			std::string data(rep.buf.begin() + kHeader, rep.buf.begin() + kHeader + std::min<size_t>(have, dataLen));
			co_await say(format("probe garbage read-huge = %d data_len %u message %zu data %s", r, dataLen,
					    rep.got, data.c_str()));
		}
		r = co_await rawCall(request(kRead, rd, -1, 0), kRead);
		co_await say(format("probe garbage read-negative = %d", r));
		r = co_await rawCall(withData(request(kWrite, g, 100, 10), "ABCDEFGHIJ"), kWrite);
		co_await say(format("probe garbage write-length = %d", r));
		r = co_await rawCall(withData(request(kWrite, g, 10, 1000), "ABCDEFGHIJ"), kWrite);
		co_await say(format("probe garbage write-datalen = %d", r));
		r = co_await sysClose(77);
		co_await say(format("probe garbage close-unopened = %d", r));
		r = co_await rawCall(request(kRead, 1000, 16, 0), kRead);
		co_await say(format("probe garbage read-unopened = %d", r));
		int c1 = co_await sysClose(rd);
		int c2 = co_await sysClose(g);
		co_await say(format("probe garbage cleanup = %s", c1 == 0 && c2 == 0 ? "ok" : "FAIL"));

		// ---- the cap
		fds_.clear();
		int refused = 0, other = 0;
		for (int n = 0; n < kCapOpens; n++) {
			int fd = co_await sysOpen(format("probe-%d", n), kOCreat | kOWronly, 0600);
			if (fd >= 0)
				fds_.push_back(fd);
			else if (fd == -1)
				refused++;
			else
				other++;
		}
		int closed = 0;
		for (int fd : fds_)
			if (co_await sysClose(fd) == 0)
				closed++;
		co_await say(format("probe cap opened=%zu refused=%d closed=%d", fds_.size(), refused, closed));
		if (other)
			co_await say(format("probe cap other=%d", other));

		// ---- a normal session still works
		const std::string text = kReadback;
		int fd = co_await sysOpen("probe-ok", kOWronly | kOCreat | kTrunc, 0600);
		w = co_await sysWrite(fd, std::vector<uint8_t>(text.begin(), text.end()));
		c1 = co_await sysClose(fd);
		int fd2 = co_await sysOpen("probe-ok", kORdonly, 0);
		ReadResult back = co_await sysRead(fd2, 480);
		c2 = co_await sysClose(fd2);
		std::string got(back.data.begin(), back.data.end());
		if (fd >= 3 && w == int(text.size()) && c1 == 0 && fd2 >= 3 && back.ret == int(text.size()) && got == text &&
		    c2 == 0)
			co_await say("probe readback ok");
		else
			co_await say(format("probe readback FAIL fd %d write %d close %d fd %d read %d close %d", fd, w, c1,
					    fd2, back.ret, c2));
		co_await say("probe done");
		term();
		co_return 0;
	}

private:
	std::vector<int> fds_;
};

} // namespace

std::unique_ptr<FirmwareApp> makeFirmwareApp(const std::optional<FirmwareSpec> &spec)
{
	if (!spec)
		return std::make_unique<SilentApp>("ampsim: no ampsim marker; the core runs and never talks");
	const std::string &app = spec->app;
	if (app == "echo")
		return std::make_unique<EchoApp>(*spec);
	if (app == "matmul")
		return std::make_unique<MatmulApp>(*spec);
	if (app == "rpc")
		return std::make_unique<RpcApp>(*spec);
	if (app == "rpcprobe")
		return std::make_unique<ProbeApp>(*spec);
	if (app == "crash")
		return std::make_unique<CrashApp>(*spec);
	if (app == "hang")
		return std::make_unique<HangApp>(*spec);
	if (app == "slow")
		return std::make_unique<SlowApp>(*spec);
	if (app == "silent")
		return std::make_unique<SilentApp>("ampsim silent: the core runs and never talks");
	if (app == "norsc")
		return std::make_unique<SilentApp>("ampsim norsc: no resource table, no rpmsg");
	return std::make_unique<SilentApp>("ampsim: unknown app '" + app + "'; the core runs and never talks");
}

} // namespace ampsim
