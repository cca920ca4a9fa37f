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

#ifdef __cplusplus
}
#endif
