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
  1  the operation failed, or the remote ended in another state (running-degraded)
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
