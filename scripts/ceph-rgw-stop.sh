#!/usr/bin/env bash
# ceph-rgw-stop.sh - stop the daemons started by ceph-rgw-start.sh, by the PIDs in their
# pid files (never by process name), then remove the data dir unless KEEP=1.
#   SIGTERM to radosgw, then the osd, then the mon; SIGKILL whatever is still
#   alive after $STOP_TIMEOUT s.
#   FAST=1: SIGKILL straight away.
# A killed daemon stays a zombie until PID 1 reaps it (up to ~1 s in a
# container whose init is slow to reap), so a zombie counts as stopped.
set -u
CEPH_DIR=${CEPH_DIR:-$PWD/var/rgw}
STOP_TIMEOUT=${STOP_TIMEOUT:-15}
sig=TERM; [ "${FAST:-0}" = 1 ] && sig=KILL

alive() {  # running and not a zombie
  local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

[ -d "$CEPH_DIR/run" ] || { echo "ceph-rgw-stop: nothing in $CEPH_DIR"; exit 0; }
# stop_group FILE... : signal every daemon in the group, wait for all of them
stop_group() {
  local -A pids=(); local f pid name left n
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); name=$(basename "$f" .pid)
    if alive "$pid"; then kill -"$sig" "$pid" && pids[$name]=$pid; fi
    rm -f "$f"
  done
  for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
    left=0; for n in "${!pids[@]}"; do alive "${pids[$n]}" && left=1; done
    [ $left = 0 ] && break; sleep 0.1
  done
  for n in "${!pids[@]}"; do
    if alive "${pids[$n]}"; then
      echo "ceph-rgw-stop: $n (pid ${pids[$n]}) ignored SIG$sig for ${STOP_TIMEOUT}s, SIGKILL"; kill -KILL "${pids[$n]}"
    fi
    echo "ceph-rgw-stop: stopped $n (pid ${pids[$n]})"
  done
}
# Strictly one after the other: radosgw's clean shutdown needs the OSD (it hangs
# >15 s if the OSD is stopped alongside), and an OSD told to stop waits for the
# mon's ack (osd_mon_shutdown_timeout, 5 s) if the mon is already gone.
stop_group "$CEPH_DIR"/run/client.rgw.pid
stop_group "$CEPH_DIR"/run/osd.*.pid
stop_group "$CEPH_DIR"/run/mon.*.pid
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$CEPH_DIR"; echo "ceph-rgw-stop: removed $CEPH_DIR"; fi
