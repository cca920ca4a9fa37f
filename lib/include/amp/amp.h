/* SPDX-License-Identifier: MIT */
/* libamp's C API: a small wrapper over amp::Client for C programs and other languages' FFI.
 *
 * Conventions:
 * - Functions that can fail return 0 (or a count, where said) on success and
 *   a negative errno on failure: -ECONNREFUSED, -ETIMEDOUT, or the errno
 *   ampd refused a request with (-EBUSY, -ENOENT, ...).
 * - After a failure, amp_client_last_error() says what went wrong in words
 *   (the daemon's message for a refused request). The string belongs to the
 *   handle and stays valid until the next call on it.
 * - Strings returned through `char **` out-parameters are malloc'd; the
 *   caller frees them with free(). They are set only on success.
 * - JSON results are the daemon's messages as sent (docs/protocol.md).
 * - timeout_ms: milliseconds to wait for the reply; negative waits forever.
 * - A handle is not thread-safe: use it from one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct amp_client amp_client;

/* The remote's state, numbered as the wire format lists them. */
typedef enum amp_remote_state {
	AMP_STATE_OFFLINE = 0,
	AMP_STATE_LOADING,
	AMP_STATE_STARTING,
	AMP_STATE_RUNNING,
	AMP_STATE_RUNNING_DEGRADED,
	AMP_STATE_STOPPING,
	AMP_STATE_CRASHED,
	AMP_STATE_ATTACHED,
	AMP_STATE_DETACHED,
	AMP_STATE_ERROR,
} amp_remote_state;

/* "running-degraded"; NULL for a value that is no state. Static storage. */
const char *amp_state_name(amp_remote_state state);

/* A handle, not yet connected; NULL when out of memory. */
amp_client *amp_client_new(void);
/* Closes the connection and frees the handle; NULL is fine. */
void amp_client_free(amp_client *client);

/* Connects to socket_path (NULL: $AMPD_SOCKET, else /run/ampd/ampd.sock)
 * and says hello as client_name (NULL: "libamp"). A connected handle is
 * disconnected first. -ENOENT / -ECONNREFUSED: no daemon; -EACCES: the
 * socket's permissions; -EPROTONOSUPPORT: another protocol version. */
int amp_client_connect(amp_client *client, const char *socket_path, const char *client_name, int timeout_ms);

/* The text of the last failure on this handle; "" when none. */
const char *amp_client_last_error(const amp_client *client);

/* The connection's fd, to poll for POLLIN in another event loop; -1 when
 * not connected. Do not read from it or close it. */
int amp_client_fd(const amp_client *client);

/* Reads every message already waiting without blocking, queueing events;
 * returns how many it read (>= 0). -ECONNRESET once ampd has gone. */
int amp_client_dispatch(amp_client *client);

/* The status reply: {"remotes": [...]} of one remote or, when remote is
 * NULL, of all. *json_out is malloc'd, free() it. */
int amp_client_status_json(amp_client *client, const char *remote, int timeout_ms, char **json_out);

/* Start, stop, restart: answered once the remote got where it was going.
 * *state_out (may be NULL) receives the state it ended in; 0 is returned
 * even when that is not running (e.g. running-degraded): look at it. */
int amp_client_start(amp_client *client, const char *remote, const char *firmware /* NULL: configured */, int wait,
		     int timeout_ms, amp_remote_state *state_out);
int amp_client_stop(amp_client *client, const char *remote, int graceful, int timeout_ms, amp_remote_state *state_out);
int amp_client_restart(amp_client *client, const char *remote, const char *firmware, int timeout_ms, amp_remote_state *state_out);

/* From now on, events of remote (NULL: all remotes) are queued. */
int amp_client_subscribe(amp_client *client, const char *remote, int timeout_ms);

/* The next event as JSON ({"type":"event","event":"state",...}); -ETIMEDOUT
 * when none came within timeout_ms (0: only what is already there),
 * -EINTR when a signal interrupted the wait. *json_out is malloc'd. */
int amp_client_next_event_json(amp_client *client, int timeout_ms, char **json_out);

/* The daemon's inspection of a firmware name or absolute path, as JSON. */
int amp_client_inspect_json(amp_client *client, const char *firmware, int timeout_ms, char **json_out);

/* The channels that are up ({"channels": [...]}), of remote or all. */
int amp_client_channels_json(amp_client *client, const char *remote, int timeout_ms, char **json_out);

/* ---- Channel streams (docs/protocol.md "Streams") ----
 * A stream is an rpmsg endpoint of our own on a remote's channel: one
 * amp_stream_send() is one rpmsg message (0..mtu bytes), one
 * amp_stream_recv() returns one. The handle does not need its client once
 * open (freeing the client keeps it), and has its own last error. */
typedef struct amp_stream amp_stream;

/* amp_stream_open() flags. */
#define AMP_STREAM_DIRECT 0x1u   /* hold the kernel endpoint itself: no relay hop through ampd */
#define AMP_STREAM_REATTACH 0x2u /* survive the remote going away; also waits for a channel not up yet */
/* addr: let the kernel pick our endpoint's address. */
#define AMP_ADDR_ANY 0xFFFFFFFFu

/* Opens a stream on channel of remote; *stream_out is set only on success.
 * Failures are the client's (amp_client_last_error): -ENODEV (no such
 * remote), -ENOENT (channel not up; with AMP_STREAM_REATTACH the open
 * succeeds and waits for it), -EACCES, -EMFILE, -EINVAL (unknown flags). */
int amp_stream_open(amp_client *client, const char *remote, const char *channel, unsigned int flags, uint32_t addr,
		    int timeout_ms, amp_stream **stream_out);
/* Closes the stream (ampd destroys the endpoint) and frees the handle; NULL is fine. */
void amp_stream_close(amp_stream *stream);

/* Sends one message of size bytes (0 is a message too). 0 or: -EMSGSIZE
 * (more than the mtu, nothing sent), -EAGAIN (could not go within
 * timeout_ms; 0: do not wait), -ENOTCONN (down, a reattach stream: try
 * again after the up event), -EPIPE (the stream is over), -EINTR. */
int amp_stream_send(amp_stream *stream, const void *data, size_t size, int timeout_ms);
/* The next message into buf: its size (>= 0), or -ETIMEDOUT, -EINTR,
 * -EMSGSIZE (longer than size: lost), -ENOTCONN (the stream went down, once:
 * amp_stream_last_event_json() says why), -EPIPE (over), or the errno of an
 * error event (a message ampd refused). Up events are passed over. */
int amp_stream_recv(amp_stream *stream, void *buf, size_t size, int timeout_ms);
/* Like amp_stream_recv(), but an event is returned too: then 0 with
 * *is_event set to 1 and the event in amp_stream_last_event_json();
 * *is_event is 0 for a message. */
int amp_stream_next(amp_stream *stream, void *buf, size_t size, int timeout_ms, int *is_event);

/* Poll both for POLLIN in another event loop (the same fd unless direct),
 * then call amp_stream_next() with timeout 0; do not read them. A direct
 * stream's message fd is -1 while down and changes with an up event. */
int amp_stream_fd(const amp_stream *stream);
int amp_stream_event_fd(const amp_stream *stream);
/* The largest message (496 with the usual 512-byte rpmsg buffers). */
uint32_t amp_stream_mtu(const amp_stream *stream);
/* 1 when up (*src: our address, *dst: the remote's; either may be NULL),
 * 0 while down (waiting for the channel), -EPIPE once over. */
int amp_stream_endpoint(const amp_stream *stream, uint32_t *src, uint32_t *dst);
/* The last event ({"event":"down","reason":...,"reattach":false}, "up",
 * "error"), "" before the first. Belongs to the handle: valid until the
 * next call on it. */
const char *amp_stream_last_event_json(const amp_stream *stream);
/* The text of the last failure on this stream; "" when none. */
const char *amp_stream_last_error(const amp_stream *stream);

#ifdef __cplusplus
}
#endif
