#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# ampd as systemd runs it, without systemd as PID 1: socket activation by
# systemd-socket-activate (the first ampctl call starts ampd on the passed
# socket), READY=1 and STATUS= on NOTIFY_SOCKET, and WATCHDOG=1 pings that
# come from the event loop, so they stop while ampd is frozen (SIGSTOP)
# and resume after: what lets WatchdogSec= kill a hung daemon.
# Usage: activation.py AMPD AMPCTL
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ampd, ampctl = sys.argv[1], sys.argv[2]
WATCHDOG_USEC = 400_000  # sd-event pings at half of it: every 200 ms


def fail(why):
    print("activation: FAIL: " + why)
    sys.exit(1)


def messages(sock, seconds):
    """Every notify datagram received within `seconds`."""
    out, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            out.append(sock.recv(4096).decode())
        except socket.timeout:
            break
    return out


with tempfile.TemporaryDirectory(prefix="ampd-activation-") as tmp:
    path = os.path.join(tmp, "ampd.sock")
    root = os.path.join(tmp, "root")  # no cores: discovery finds none, quickly
    os.makedirs(os.path.join(root, "sys/class/remoteproc"))
    os.makedirs(os.path.join(root, "dev"))
    config = os.path.join(tmp, "ampd.json")
    with open(config, "w") as f:
        f.write('{"remotes": {}}\n')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = "ampd-activation-%d" % os.getpid()
    notify.bind("\0" + name)

    env = dict(os.environ, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    log = open(os.path.join(tmp, "ampd.log"), "w+")
    # systemd-socket-activate gives the program a fresh environment: only
    # what -E names (with values from ours) besides LISTEN_FDS and LISTEN_PID.
    passed = [a for v in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PATH")
              if v in env for a in ("-E", v)]
    activator = subprocess.Popen(
        ["systemd-socket-activate", "--seqpacket", "-l", path] + passed + [
         ampd, "--root", root, "--config", config, "--log-level", "debug"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        # systemd-socket-activate says nothing when it listens (it logs to
        # the same pipe as ampd): the socket file appearing is the only sign.
        while not os.path.exists(path):
            if time.monotonic() > deadline or activator.poll() is not None:
                fail("systemd-socket-activate did not listen")
            time.sleep(0.02)
        # Listening, but ampd is not running yet: nothing was notified.
        if messages(notify, 0.3):
            fail("notified before any client connected")

        # The first client starts ampd and is answered by it.
        r = subprocess.run([ampctl, "--socket", path, "list"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            fail("ampctl list exited %d: %s" % (r.returncode, r.stderr.strip()))
        got = messages(notify, 1.0)
        ready = [m for m in got if "READY=1" in m.split("\n")]
        if not ready:
            fail("no READY=1 after the first call (got %r)" % got)
        if not any(l.startswith("STATUS=") for m in got for l in m.split("\n")):
            fail("no STATUS= (got %r)" % got)
        log.flush()
        log.seek(0)
        text = log.read()
        if "(socket activation)" not in text:
            fail("ampd did not serve the passed socket:\n" + text)
        print("activation: first ampctl call started ampd, READY=1 received")

        # The watchdog: pings while the loop runs, none while it is frozen.
        pings = sum(m.split("\n").count("WATCHDOG=1") for m in messages(notify, 1.0))
        if pings < 3:
            fail("%d WATCHDOG=1 in 1 s with WatchdogSec=%d ms" % (pings, WATCHDOG_USEC // 1000))
        os.kill(activator.pid, signal.SIGSTOP)  # the activator exec'd into ampd: same pid
        messages(notify, 0.1)  # what was already queued
        frozen = sum(m.split("\n").count("WATCHDOG=1") for m in messages(notify, 1.0))
        os.kill(activator.pid, signal.SIGCONT)
        resumed = sum(m.split("\n").count("WATCHDOG=1") for m in messages(notify, 1.0))
        if frozen != 0 or resumed < 3:
            fail("watchdog pings: %d while frozen, %d after" % (frozen, resumed))
        print("activation: %d pings/s running, %d frozen, %d after SIGCONT" % (pings, frozen, resumed))

        # A second client is served by the same ampd; SIGTERM exits 0 and
        # leaves the socket, which belongs to the activator, in place.
        r = subprocess.run([ampctl, "--socket", path, "list"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            fail("second ampctl list exited %d" % r.returncode)
        activator.send_signal(signal.SIGTERM)
        if activator.wait(timeout=10) != 0:
            fail("ampd exited %d on SIGTERM" % activator.returncode)
        if not os.path.exists(path):
            fail("ampd removed the socket systemd owns")
        print("activation: ok")
    finally:
        if activator.poll() is None:
            activator.kill()
            activator.wait()
