// SPDX-License-Identifier: MIT
// The OpenAMP proxy (RPC) wire format: requests decoded and replies encoded, pure and bounded.
//
// ../shared/docs/openamp-demos.md "Proxy (RPC) demo": each message is
//     struct rpc { u32 id; i32 f1; i32 f2; u32 data_len; u8 data[]; }
// little-endian, in one rpmsg message of at most 496 bytes. Nothing here does
// I/O or trusts the remote: data_len and f2 are checked against what arrived,
// every failure is an amp::Error whose context says what was wrong, and the
// decoded request views the caller's buffer (no allocation per message).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "amp/result.hpp"

namespace amp::proxy {

inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kMaxMessage = 496;                         // one rpmsg payload
inline constexpr std::size_t kMaxData = kMaxMessage - kHeaderSize;      // 480
inline constexpr std::size_t kMaxReadReply = kMaxData;                  // what one READ reply carries
// Linux's first message, so the remote learns its address: "init_msg" and its NUL.
inline constexpr std::string_view kInitMessage{"init_msg\0", 9};
// The first fd an OPEN hands out: 0, 1 and 2 are the console.
inline constexpr int32_t kFirstFileFd = 3;

// The request ids (rpmsg_retarget.h).
enum class Call : uint32_t { Open = 1, Close = 2, Write = 3, Read = 4, Ack = 5, Term = 6 };
// "OPEN", "CLOSE"...; "id N" for anything else.
std::string callName(uint32_t id);
// OPEN, CLOSE, WRITE and READ: the calls a remote waits for an answer to.
bool expectsReply(uint32_t id);

// f1 = flags, f2 = mode, data = the path and one NUL.
struct OpenRequest {
	int32_t flags = 0;
	int32_t mode = 0;
	std::string_view path; // without its NUL; never empty, never holds a NUL
	bool operator==(const OpenRequest &) const = default;
};
// f1 = fd.
struct CloseRequest {
	int32_t fd = 0;
	bool operator==(const CloseRequest &) const = default;
};
// f1 = fd, f2 = length, data = the bytes. data_len may exceed the length
// (the remote's _write() adds a NUL for fd 1); only `length` bytes count.
struct WriteRequest {
	int32_t fd = 0;
	std::span<const uint8_t> data;
	bool operator==(const WriteRequest &o) const;
};
// f1 = fd, f2 = length wanted (the reply carries at most kMaxReadReply).
struct ReadRequest {
	int32_t fd = 0;
	uint32_t length = 0;
	bool operator==(const ReadRequest &) const = default;
};
// A status the remote sends; no reply is defined for it.
struct AckRequest {
	int32_t status = 0;
	bool operator==(const AckRequest &) const = default;
};
// The remote is done; no reply.
struct TermRequest {
	bool operator==(const TermRequest &) const = default;
};

using Request = std::variant<OpenRequest, CloseRequest, WriteRequest, ReadRequest, AckRequest, TermRequest>;

// Decode one message. Errors: EMSGSIZE (more than kMaxMessage bytes),
// EBADMSG (shorter than its header, data_len past the message, a length
// outside the data, a path that is not one NUL-terminated string), EPROTO
// (an id no call has). `id` gets the message's id whenever it has one (4
// bytes or more), so the caller can answer a malformed call with -1.
[[nodiscard]] Result<Request> decodeRequest(std::span<const uint8_t> message, std::optional<uint32_t> *id = nullptr);

// One encoded message, in place: no allocation.
struct Message {
	std::array<uint8_t, kMaxMessage> bytes{};
	std::size_t size = 0;
	std::span<const uint8_t> span() const { return {bytes.data(), size}; }
};

// A reply: {call, result, 0, data.size(), data}. `data` beyond kMaxData
// is cut (only READ replies carry data).
Message encodeReply(uint32_t call, int32_t result, std::span<const uint8_t> data = {});
// A request as a remote sends it (tests, the fuzz target, a simulated
// remote): OPEN's path gets its NUL. EMSGSIZE when it does not fit.
[[nodiscard]] Result<Message> encodeRequest(const Request &request);

// A reply as the remote reads it.
struct Reply {
	uint32_t call = 0;
	int32_t result = 0;
	std::span<const uint8_t> data;
};
// EBADMSG when shorter than the header or data_len runs past the message.
[[nodiscard]] Result<Reply> decodeReply(std::span<const uint8_t> message);

} // namespace amp::proxy
