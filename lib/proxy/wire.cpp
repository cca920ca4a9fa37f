// SPDX-License-Identifier: MIT
// The proxy wire format: every field of a remote's message checked against what arrived.
#include "proxy/wire.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace amp::proxy {

namespace {

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

Unexpected<Error> bad(int code, uint32_t id, const std::string &what)
{
	return unexpected(code, callName(id) + ": " + what);
}

void putHeader(Message &m, uint32_t id, int32_t f1, int32_t f2, uint32_t dataLen)
{
	putLe32(m.bytes.data(), id);
	putLe32(m.bytes.data() + 4, uint32_t(f1));
	putLe32(m.bytes.data() + 8, uint32_t(f2));
	putLe32(m.bytes.data() + 12, dataLen);
	m.size = kHeaderSize;
}

} // namespace

std::string callName(uint32_t id)
{
	switch (id) {
	case uint32_t(Call::Open): return "OPEN";
	case uint32_t(Call::Close): return "CLOSE";
	case uint32_t(Call::Write): return "WRITE";
	case uint32_t(Call::Read): return "READ";
	case uint32_t(Call::Ack): return "ACK";
	case uint32_t(Call::Term): return "TERM";
	default: return "id " + std::to_string(id);
	}
}

bool expectsReply(uint32_t id)
{
	return id >= uint32_t(Call::Open) && id <= uint32_t(Call::Read);
}

bool WriteRequest::operator==(const WriteRequest &o) const
{
	return fd == o.fd && std::equal(data.begin(), data.end(), o.data.begin(), o.data.end());
}

Result<Request> decodeRequest(std::span<const uint8_t> message, std::optional<uint32_t> *idOut)
{
	if (idOut)
		idOut->reset();
	if (message.size() < 4)
		return unexpected(EBADMSG, std::to_string(message.size()) + "-byte message, shorter than the " +
						   std::to_string(kHeaderSize) + "-byte header");
	const uint32_t id = getLe32(message.data());
	if (idOut)
		*idOut = id;
	if (message.size() > kMaxMessage)
		return bad(EMSGSIZE, id, std::to_string(message.size()) + "-byte message, more than the " +
						 std::to_string(kMaxMessage) + " one rpmsg message holds");
	if (message.size() < kHeaderSize)
		return bad(EBADMSG, id, std::to_string(message.size()) + "-byte message, shorter than the " +
						std::to_string(kHeaderSize) + "-byte header");
	if (id < uint32_t(Call::Open) || id > uint32_t(Call::Term))
		return unexpected(EPROTO, "unknown call id " + std::to_string(id));
	const int32_t f1 = int32_t(getLe32(message.data() + 4));
	const int32_t f2 = int32_t(getLe32(message.data() + 8));
	const uint32_t dataLen = getLe32(message.data() + 12);
	const size_t have = message.size() - kHeaderSize;
	const Call call = Call(id);
	// ACK and TERM carry nothing we use: their data_len does not matter.
	if (call == Call::Ack)
		return Request{AckRequest{f1}};
	if (call == Call::Term)
		return Request{TermRequest{}};
	if (dataLen > have)
		return bad(EBADMSG, id, "data_len " + std::to_string(dataLen) + " runs past the " + std::to_string(have) +
						" data bytes that came");
	std::span<const uint8_t> data = message.subspan(kHeaderSize, dataLen);
	switch (call) {
	case Call::Open: {
		if (data.empty())
			return bad(EBADMSG, id, "no path (data_len 0)");
		if (data.back() != 0)
			return bad(EBADMSG, id, "path is not NUL-terminated within data_len " + std::to_string(dataLen));
		const void *nul = std::memchr(data.data(), 0, data.size() - 1);
		if (nul)
			return bad(EBADMSG, id, "NUL inside the path at byte " +
							std::to_string(static_cast<const uint8_t *>(nul) - data.data()) + " of " +
							std::to_string(data.size() - 1));
		if (data.size() == 1)
			return bad(EBADMSG, id, "empty path");
		return Request{OpenRequest{f1, f2, {reinterpret_cast<const char *>(data.data()), data.size() - 1}}};
	}
	case Call::Close:
		return Request{CloseRequest{f1}};
	case Call::Write:
		if (f2 < 0)
			return bad(EBADMSG, id, "negative length " + std::to_string(f2));
		if (uint32_t(f2) > dataLen)
			return bad(EBADMSG, id, "length " + std::to_string(f2) + " is more than the " + std::to_string(dataLen) +
							" data bytes sent");
		return Request{WriteRequest{f1, data.first(size_t(f2))}};
	case Call::Read:
		if (f2 < 0)
			return bad(EBADMSG, id, "negative length " + std::to_string(f2));
		return Request{ReadRequest{f1, uint32_t(f2)}};
	default:
		break;
	}
	return unexpected(EPROTO, "unknown call id " + std::to_string(id)); // not reached
}

Message encodeReply(uint32_t call, int32_t result, std::span<const uint8_t> data)
{
	Message m;
	size_t n = std::min(data.size(), kMaxData);
	// f2 is not used in replies: 0, as OpenAMP's proxy_app sends it.
	putHeader(m, call, result, 0, uint32_t(n));
	std::copy_n(data.begin(), n, m.bytes.begin() + kHeaderSize);
	m.size = kHeaderSize + n;
	return m;
}

Result<Message> encodeRequest(const Request &request)
{
	Message m;
	if (const auto *o = std::get_if<OpenRequest>(&request)) {
		if (o->path.size() + 1 > kMaxData)
			return unexpected(EMSGSIZE, "OPEN: a " + std::to_string(o->path.size()) + "-byte path does not fit");
		putHeader(m, uint32_t(Call::Open), o->flags, o->mode, uint32_t(o->path.size() + 1));
		std::copy(o->path.begin(), o->path.end(), m.bytes.begin() + kHeaderSize);
		m.bytes[kHeaderSize + o->path.size()] = 0;
		m.size = kHeaderSize + o->path.size() + 1;
	} else if (const auto *c = std::get_if<CloseRequest>(&request)) {
		putHeader(m, uint32_t(Call::Close), c->fd, 0, 0);
	} else if (const auto *w = std::get_if<WriteRequest>(&request)) {
		if (w->data.size() > kMaxData)
			return unexpected(EMSGSIZE, "WRITE: " + std::to_string(w->data.size()) + " bytes do not fit");
		putHeader(m, uint32_t(Call::Write), w->fd, int32_t(w->data.size()), uint32_t(w->data.size()));
		std::copy(w->data.begin(), w->data.end(), m.bytes.begin() + kHeaderSize);
		m.size = kHeaderSize + w->data.size();
	} else if (const auto *r = std::get_if<ReadRequest>(&request)) {
		if (r->length > uint32_t(INT32_MAX))
			return unexpected(EINVAL, "READ: length " + std::to_string(r->length) + " is not an i32");
		putHeader(m, uint32_t(Call::Read), r->fd, int32_t(r->length), 0);
	} else if (const auto *a = std::get_if<AckRequest>(&request)) {
		putHeader(m, uint32_t(Call::Ack), a->status, 0, 0);
	} else {
		putHeader(m, uint32_t(Call::Term), 0, 0, 0);
	}
	return m;
}

Result<Reply> decodeReply(std::span<const uint8_t> message)
{
	if (message.size() < kHeaderSize)
		return unexpected(EBADMSG, std::to_string(message.size()) + "-byte reply, shorter than the header");
	if (message.size() > kMaxMessage)
		return unexpected(EMSGSIZE, std::to_string(message.size()) + "-byte reply, more than one rpmsg message");
	Reply r;
	r.call = getLe32(message.data());
	r.result = int32_t(getLe32(message.data() + 4));
	uint32_t dataLen = getLe32(message.data() + 12);
	if (dataLen > message.size() - kHeaderSize)
		return unexpected(EBADMSG, "reply data_len " + std::to_string(dataLen) + " runs past the message");
	r.data = message.subspan(kHeaderSize, dataLen);
	return r;
}

} // namespace amp::proxy
