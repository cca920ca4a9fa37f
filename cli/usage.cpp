// SPDX-License-Identifier: MIT
// ampctl --help: the commands, options and exit codes in systemctl's layout.
#include "ampctl.hpp"

namespace amp::cli {

std::string usageText()
{
	return R"(ampctl [OPTIONS...] COMMAND ...

Control the remote cores (remoteproc) managed by ampd.

Remote Commands:
  list                            List remotes: REMOTE INDEX STATE FIRMWARE CHANNELS
  status [REMOTE]                 Show the detailed state of one or all remotes
  start REMOTE                    Load firmware and boot a remote; waits for the
                                  outcome (running, running-degraded, failed)
        --firmware NAME             Firmware under the search path (default: configured)
        --wait                      Join a start in progress; already running is fine
        --timeout S                 Give up after S seconds (default 60)
  stop REMOTE                     Stop a remote (shutdown message first)
        --force                     Stop at once, without the shutdown message
        --timeout S                 Give up after S seconds (default 60)
  restart REMOTE                  Stop and start a remote
        --firmware NAME             Start this firmware instead
        --timeout S                 Give up after S seconds (default 60)
  wait REMOTE STATE               Wait until a remote is in STATE
  wait REMOTE --channel NAME      Wait until a remote offers channel NAME
        --timeout S                 Give up after S seconds (default 60)
  events [REMOTE]                 Follow state and channel events until interrupted

Channel Commands:
  channels [REMOTE]               List the channels that are up: REMOTE CHANNEL SRC DST
  send REMOTE CHANNEL DATA        Send one message (DATA's bytes as typed)
  send REMOTE CHANNEL --file F    ... the bytes of file F (at most 496; - is stdin)
  send REMOTE CHANNEL --hex H     ... hex bytes ("de ad be ef" or "deadbeef")
        --reply                     Wait for one message back and print it
        --timeout S                 Give up after S seconds (default 10)
        --direct                    Hold the kernel endpoint (no relay through ampd)
  listen REMOTE CHANNEL           Print messages as they come ("[5] hello"; hex
                                  unless text) and down/up events ("-- down: ...")
        --count N                   End after N messages
        --timeout S                 Listen S seconds (with --count: N messages in S s)
        --hex | --text              Every message in hex / as text (\xNN escapes)
        --reattach                  Stay through the remote going away and back
        --direct                    Hold the kernel endpoint (no relay through ampd)
  ping REMOTE CHANNEL             Round trips against an echoing remote, each reply
                                  checked byte for byte; times in microseconds
        --count N                   N round trips (default: until interrupted)
        --size B                    B bytes a message (default 16, at most 496)
        --interval S                S seconds from one send to the next (default 1)
        --timeout S                 Wait S seconds for each reply (default 1)
        --direct                    Hold the kernel endpoint (no relay through ampd)
  proxy REMOTE                    The OpenAMP proxy (RPC) in the foreground: the
                                  remote's files beneath DIR, its console here
        --directory DIR             Files beneath DIR (default: the current directory)
        --channel C                 Channel (default rpmsg-openamp-demo-channel)
        --max-open-files N          Files open at once (default 16)
        --firmware NAME             Start the remote with NAME first
        --timeout S                 Give up on that start after S seconds (default 60)

Demo Commands (the OpenAMP demos, channel rpmsg-openamp-demo-channel):
  echo-test REMOTE                Echo every payload size (16-byte header + 1..472
                                  bytes of 0xA5), each echo checked byte for byte
        --rounds N                  N passes over the sizes (default 1)
        --sizes A..B                Payload sizes A to B (default 1..472)
        --firmware NAME             Start (or restart) the remote with NAME first
        --stop | --no-stop          Then have ampd stop it with its shutdown
                                    message (default: with --firmware)
        --timeout S                 Wait S seconds for each echo (default 2)
        --direct                    Hold the kernel endpoint (no relay through ampd)
  matmul REMOTE                   Multiply two random 6x6 matrices (0..9) remotely
                                  and check the product against a local one
        --count N                   N multiplications (default 1)
        --seed S                    The matrices' seed (default: from the clock)
        --timeout S                 Wait S seconds for each product (default 2)
        --direct                    Hold the kernel endpoint (no relay through ampd)

Firmware Commands:
  firmware inspect FILE           What the kernel would do with an image (no daemon
                                  needed): program headers, resource table, verdict

Options:
  -h --help                       Show this help
     --socket PATH                ampd's control socket (default $AMPD_SOCKET,
                                  else /run/ampd/ampd.sock)
     --json                       Print replies and errors as JSON on stdout
                                  (one object a line for events)

States: offline loading starting running running-degraded stopping crashed
        attached detached error

Exit status:
  0  success (start/restart: the remote is running or attached)
  1  the operation failed, or the remote ended in another state (running-degraded);
     a stream that ended (the remote went away); ping: a reply lost or corrupt;
     echo-test: an echo lost or corrupt; matmul: a product wrong or missing
  2  usage error
  3  not found: unknown remote, firmware or file
  4  permission denied (by ampd, or by the socket's permissions)
  5  timed out
  6  ampd unreachable (no socket, nobody listening, connection lost)
  7  busy: the remote is in a state that does not allow this now

See docs/ampctl.md for more.
)";
}

} // namespace amp::cli
