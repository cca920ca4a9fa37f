// SPDX-License-Identifier: MIT
// The C API (amp/amp.h) over amp::Client: negative errnos, malloc'd strings, nothing thrown across.
#include "amp/amp.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>

#include "amp/client.hpp"
#include "protocol/protocol.hpp"

struct amp_client {
	std::optional<amp::Client> client;
	std::string lastError;
};

struct amp_stream {
	explicit amp_stream(amp::Stream s) : stream(std::move(s)) {}
	amp::Stream stream;
	std::string lastError;
	// amp_stream_last_event_json() encodes the stream's last event when
	// asked, once per event, so a message costs no JSON.
	mutable std::optional<amp::StreamEvent> encodedEvent;
	mutable std::string eventJson;
};

namespace {

std::chrono::milliseconds toTimeout(int ms)
{
	return std::chrono::milliseconds(ms < 0 ? -1 : ms);
}

std::optional<std::string> optString(const char *s)
{
	if (!s)
		return std::nullopt;
	return std::string(s);
}

// The handle's last error is the failure's words; the result its -errno.
template <typename Handle> int fail(Handle *h, const amp::Error &e)
{
	h->lastError = e.message();
	return -(e.code > 0 ? e.code : EIO);
}

template <typename Handle> int failCode(Handle *h, int code, const char *what)
{
	return fail(h, amp::Error{code, what});
}

// A copy the caller owns and releases with free(), as amp.h promises.
int handOut(amp_client *c, const std::string &text, char **out)
{
	char *copy = static_cast<char *>(std::malloc(text.size() + 1));
	if (!copy)
		return failCode(c, ENOMEM, "out of memory copying a reply");
	std::memcpy(copy, text.data(), text.size() + 1);
	*out = copy;
	return 0;
}

// Every entry point: no C++ exception (std::bad_alloc from a string)
// allowed to reach C code.
template <typename Handle, typename F> int guardedCall(Handle *h, F body)
{
	if (!h)
		return -EINVAL;
	try {
		h->lastError.clear();
		return body();
	} catch (const std::bad_alloc &) {
		return failCode(h, ENOMEM, "out of memory");
	} catch (const std::exception &e) {
		return failCode(h, EIO, e.what());
	}
}

// A client entry point: a handle that is there and, when needed, connected.
template <typename F> int guarded(amp_client *c, bool needConnection, F body)
{
	if (c && needConnection && !c->client)
		return failCode(c, ENOTCONN, "not connected (amp_client_connect() first)");
	return guardedCall(c, body);
}

int finishAction(amp_client *c, const amp::Result<amp::ActionReply> &r, amp_remote_state *state)
{
	if (!r)
		return fail(c, r.error());
	if (state)
		*state = static_cast<amp_remote_state>(r->state);
	return 0;
}

// A call whose result the caller gets as the reply's JSON.
template <typename Call> int jsonCall(amp_client *c, char **out, Call call)
{
	return guarded(c, true, [&] {
		if (!out)
			return failCode(c, EINVAL, "json_out is NULL");
		auto r = call();
		if (!r)
			return fail(c, r.error());
		return handOut(c, c->client->lastReplyJson(), out);
	});
}

} // namespace

extern "C" {

const char *amp_state_name(amp_remote_state state)
{
	if (state < AMP_STATE_OFFLINE || state > AMP_STATE_ERROR)
		return nullptr;
	// Views into the protocol's static name table, NUL-terminated literals.
	return amp::toString(static_cast<amp::RemoteState>(state)).data();
}

amp_client *amp_client_new(void)
{
	return new (std::nothrow) amp_client();
}

void amp_client_free(amp_client *client)
{
	delete client;
}

int amp_client_connect(amp_client *c, const char *socket_path, const char *client_name, int timeout_ms)
{
	return guarded(c, false, [&] {
		c->client.reset();
		std::string path = socket_path ? std::string(socket_path) : amp::Client::defaultSocketPath();
		auto r = amp::Client::connect(std::move(path), client_name ? client_name : "libamp", toTimeout(timeout_ms));
		if (!r)
			return fail(c, r.error());
		c->client.emplace(std::move(*r));
		return 0;
	});
}

const char *amp_client_last_error(const amp_client *c)
{
	return c ? c->lastError.c_str() : "";
}

int amp_client_fd(const amp_client *c)
{
	return c && c->client ? c->client->fd() : -1;
}

int amp_client_dispatch(amp_client *c)
{
	return guarded(c, true, [&] {
		auto r = c->client->dispatch();
		if (!r)
			return fail(c, r.error());
		return static_cast<int>(*r);
	});
}

int amp_client_status_json(amp_client *c, const char *remote, int timeout_ms, char **json_out)
{
	return jsonCall(c, json_out, [&] { return c->client->status(optString(remote), toTimeout(timeout_ms)); });
}

int amp_client_start(amp_client *c, const char *remote, const char *firmware, int wait, int timeout_ms, amp_remote_state *state_out)
{
	return guarded(c, true, [&] {
		if (!remote)
			return failCode(c, EINVAL, "remote is NULL");
		amp::StartOptions options{optString(firmware), wait != 0};
		return finishAction(c, c->client->start(remote, options, toTimeout(timeout_ms)), state_out);
	});
}

int amp_client_stop(amp_client *c, const char *remote, int graceful, int timeout_ms, amp_remote_state *state_out)
{
	return guarded(c, true, [&] {
		if (!remote)
			return failCode(c, EINVAL, "remote is NULL");
		return finishAction(c, c->client->stop(remote, graceful != 0, toTimeout(timeout_ms)), state_out);
	});
}

int amp_client_restart(amp_client *c, const char *remote, const char *firmware, int timeout_ms, amp_remote_state *state_out)
{
	return guarded(c, true, [&] {
		if (!remote)
			return failCode(c, EINVAL, "remote is NULL");
		return finishAction(c, c->client->restart(remote, optString(firmware), toTimeout(timeout_ms)), state_out);
	});
}

int amp_client_subscribe(amp_client *c, const char *remote, int timeout_ms)
{
	return guarded(c, true, [&] {
		auto r = c->client->subscribe(optString(remote), toTimeout(timeout_ms));
		return r ? 0 : fail(c, r.error());
	});
}

int amp_client_next_event_json(amp_client *c, int timeout_ms, char **json_out)
{
	return guarded(c, true, [&] {
		if (!json_out)
			return failCode(c, EINVAL, "json_out is NULL");
		std::string json;
		auto r = c->client->nextEvent(toTimeout(timeout_ms), &json);
		if (!r)
			return fail(c, r.error());
		return handOut(c, json, json_out);
	});
}

int amp_client_inspect_json(amp_client *c, const char *firmware, int timeout_ms, char **json_out)
{
	if (c && !firmware)
		return failCode(c, EINVAL, "firmware is NULL");
	return jsonCall(c, json_out, [&] { return c->client->inspect(firmware, toTimeout(timeout_ms)); });
}

int amp_client_channels_json(amp_client *c, const char *remote, int timeout_ms, char **json_out)
{
	return jsonCall(c, json_out, [&] { return c->client->channels(optString(remote), toTimeout(timeout_ms)); });
}

int amp_stream_open(amp_client *c, const char *remote, const char *channel, unsigned int flags, uint32_t addr, int timeout_ms,
		    amp_stream **stream_out)
{
	return guarded(c, true, [&] {
		if (!remote || !channel || !stream_out)
			return failCode(c, EINVAL, "remote, channel and stream_out must not be NULL");
		if (flags & ~(AMP_STREAM_DIRECT | AMP_STREAM_REATTACH))
			return failCode(c, EINVAL, "unknown amp_stream_open() flags");
		amp::OpenOptions options{addr, (flags & AMP_STREAM_DIRECT) != 0, (flags & AMP_STREAM_REATTACH) != 0};
		auto r = c->client->open(remote, channel, options, toTimeout(timeout_ms));
		if (!r)
			return fail(c, r.error());
		auto *s = new (std::nothrow) amp_stream(std::move(*r));
		if (!s)
			return failCode(c, ENOMEM, "out of memory"); // the Stream closes as r goes
		*stream_out = s;
		return 0;
	});
}

void amp_stream_close(amp_stream *stream)
{
	delete stream;
}

int amp_stream_send(amp_stream *s, const void *data, size_t size, int timeout_ms)
{
	return guardedCall(s, [&] {
		if (!data && size)
			return failCode(s, EINVAL, "data is NULL");
		auto r = s->stream.send(std::span(static_cast<const std::uint8_t *>(data), size), toTimeout(timeout_ms));
		return r ? 0 : fail(s, r.error());
	});
}

int amp_stream_recv(amp_stream *s, void *buf, size_t size, int timeout_ms)
{
	return guardedCall(s, [&] {
		if (!buf && size)
			return failCode(s, EINVAL, "buf is NULL");
		auto r = s->stream.receive(std::span(static_cast<std::uint8_t *>(buf), size), toTimeout(timeout_ms));
		// A message is at most the mtu (< 65536): it fits an int.
		return r ? static_cast<int>(*r) : fail(s, r.error());
	});
}

int amp_stream_next(amp_stream *s, void *buf, size_t size, int timeout_ms, int *is_event)
{
	return guardedCall(s, [&] {
		if ((!buf && size) || !is_event)
			return failCode(s, EINVAL, "buf or is_event is NULL");
		auto r = s->stream.next(std::span(static_cast<std::uint8_t *>(buf), size), toTimeout(timeout_ms));
		if (!r)
			return fail(s, r.error());
		const auto *message = std::get_if<amp::Stream::Message>(&*r);
		*is_event = message ? 0 : 1;
		return message ? static_cast<int>(message->size) : 0;
	});
}

int amp_stream_fd(const amp_stream *s)
{
	return s ? s->stream.fd() : -1;
}

int amp_stream_event_fd(const amp_stream *s)
{
	return s ? s->stream.eventFd() : -1;
}

uint32_t amp_stream_mtu(const amp_stream *s)
{
	return s ? s->stream.mtu() : 0;
}

int amp_stream_endpoint(const amp_stream *s, uint32_t *src, uint32_t *dst)
{
	if (!s)
		return -EINVAL;
	if (s->stream.over())
		return -EPIPE;
	if (!s->stream.up())
		return 0;
	if (src)
		*src = s->stream.endpoint().src;
	if (dst)
		*dst = s->stream.endpoint().dst;
	return 1;
}

const char *amp_stream_last_event_json(const amp_stream *s)
{
	if (!s)
		return "";
	const auto &last = s->stream.lastEvent();
	if (last != s->encodedEvent) {
		try {
			auto json = last ? amp::protocol::encode(*last) : amp::Result<std::string>(std::string());
			s->eventJson = json ? std::move(*json) : std::string();
			s->encodedEvent = last;
		} catch (const std::bad_alloc &) {
			return "";
		}
	}
	return s->eventJson.c_str();
}

const char *amp_stream_last_error(const amp_stream *s)
{
	return s ? s->lastError.c_str() : "";
}

} // extern "C"
