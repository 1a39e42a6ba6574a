#!/usr/bin/env bash
# ceph-rgw-start.sh - bring up a throw-away, single-node Ceph cluster + RADOS Gateway
# (a real S3 server with Object Lock) for automated tests, without systemd.
# The test suite starts it once per session (tests/s3server.py: start_rgw_server, on free ports
# in a temporary CEPH_DIR); scripts/system-deps.sh test installs the packages.
#
#   1 x ceph-mon   (v2 messenger only, on 127.0.0.1:$MON_PORT)
#   1 x ceph-osd   (objectstore = memstore: all object data lives in RAM)
#   1 x radosgw    (beast frontend on 127.0.0.1:$RGW_PORT, optional TLS on $RGW_SSL_PORT)
#   no ceph-mgr    (not needed by RGW; saves ~100 MB and a pile of Python deps)
#   auth = none    (cephx off; S3 requests are still SigV4-authenticated by RGW)
#
# Everything (config, mon store, logs, pid files, admin sockets) lives under
# $CEPH_DIR, which is wiped on every start: each run is a fresh cluster.
#
# Requires (Debian 12 bookworm, Ceph 16.2.15 "pacific"):
#   apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common
# Set INSTALL=1 to let this script run that apt-get command when binaries are missing.
#
# Usage:   scripts/ceph-rgw-start.sh            (prints + writes $CEPH_DIR/s3.env)
#          source $CEPH_DIR/s3.env   (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, ...)
#          scripts/ceph-rgw-stop.sh
# Env knobs: CEPH_DIR, MON_PORT, RGW_PORT, RGW_SSL_PORT (empty = no TLS),
#            S3_ACCESS_KEY, S3_SECRET_KEY, READY_TIMEOUT, INSTALL
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-$PWD/var/rgw}
MON_PORT=${MON_PORT:-13300}
RGW_PORT=${RGW_PORT:-17480}
RGW_SSL_PORT=${RGW_SSL_PORT:-}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-TESTACCESSKEY}
S3_SECRET_KEY=${S3_SECRET_KEY:-TESTSECRETKEY}
READY_TIMEOUT=${READY_TIMEOUT:-90}     # seconds, per step
T0=$(date +%s%N)

log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[ceph-rgw-start %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }
die() { echo "ceph-rgw-start: ERROR: $*" >&2; exit 1; }

# --- 0. prerequisites ---------------------------------------------------------
need="ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool"
missing=""; for b in $need; do command -v "$b" >/dev/null || missing="$missing $b"; done
if [ -n "$missing" ]; then
  if [ "${INSTALL:-0}" = 1 ]; then
    log "installing Ceph packages (missing:$missing)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      radosgw ceph-mon ceph-osd ceph-common >/dev/null
  else
    die "missing:$missing -- apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common (or INSTALL=1)"
  fi
fi
for p in $MON_PORT $RGW_PORT $RGW_SSL_PORT; do   # bash /dev/tcp: no ss/netstat needed
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p already in use (set MON_PORT/RGW_PORT)"; fi
done
if [ -f "$CEPH_DIR/run/mon.a.pid" ] || [ -f "$CEPH_DIR/run/client.rgw.pid" ]; then
  for f in "$CEPH_DIR"/run/*.pid; do
    if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
      die "a cluster is still running in $CEPH_DIR (run scripts/ceph-rgw-stop.sh first)"
    fi
  done
fi

# --- 1. fresh directory + config ---------------------------------------------
rm -rf "$CEPH_DIR"
mkdir -p "$CEPH_DIR"/{run,log,mon,osd}
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$CEPH_DIR/ceph.conf
SSL_FRONTEND=""
if [ -n "$RGW_SSL_PORT" ]; then
  # self-signed cert for 127.0.0.1 / localhost (client must use verify=False or the CA file)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$CEPH_DIR/rgw.key" -out "$CEPH_DIR/rgw.crt" 2>/dev/null
  SSL_FRONTEND=" ssl_endpoint=127.0.0.1:$RGW_SSL_PORT ssl_certificate=$CEPH_DIR/rgw.crt ssl_private_key=$CEPH_DIR/rgw.key"
fi
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
# --- no cephx: simplest for a private, loopback-only test cluster
auth cluster required = none
auth service required = none
auth client required = none
# daemons (radosgw!) default to ms_mon_client_mode=secure, which is impossible
# without cephx -> "get_initial_auth_request returned -13" and a 300 s hang.
ms mon client mode = crc
ms bind msgr1 = false
# fail fast instead of the 300 s default if the mon is unreachable
client mount timeout = 30
rados mon op timeout = 60
# everything private under $CEPH_DIR
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
# one OSD: size-1 pools, small PG counts, no host-level failure domain
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
# the mon refuses to run (and shuts down) below mon_data_avail_crit=5% free disk;
# CI disks can be fuller than that, and this is throw-away data.
mon data avail warn = 1
mon data avail crit = 0
# every pool create / "application enable" RGW issues is an OSDMap change that the
# mon batches for paxos_propose_interval (1 s default) -> ~1 s per step at startup.
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $CEPH_DIR/mon/\$name
mon cluster log file = $CEPH_DIR/log/cluster.log

[osd]
osd data = $CEPH_DIR/osd/\$name
# RAM-only object store: object data never hits the disk and is gone on stop
# (memstore only dumps to osd data on a clean umount, which osd_fast_shutdown
# skips; ceph-rgw-start.sh wipes the dir anyway). device_bytes is only the advertised
# capacity; RAM is used on demand.  Mon store + logs (~1 MB) are on disk.
osd objectstore = memstore
memstore device bytes = 4294967296

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT$SSL_FRONTEND
rgw thread pool size = 32
EOF

# --- 2. monitor -------------------------------------------------------------------
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" \
  "$CEPH_DIR/run/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/run/monmap" >"$CEPH_DIR/log/mkfs-mon.out" 2>&1 \
  || die "ceph-mon --mkfs failed: $(cat "$CEPH_DIR/log/mkfs-mon.out")"
ceph-mon -c "$CONF" -i a                     # daemonizes, writes run/mon.a.pid
CEPH="ceph -c $CONF --connect-timeout 10"
end=$((SECONDS + READY_TIMEOUT))
until $CEPH mon stat >/dev/null 2>&1; do
  [ $SECONDS -lt $end ] || die "mon not up; see $CEPH_DIR/log/mon.a.log"; sleep 0.3
done
log "mon up (pid $(cat "$CEPH_DIR/run/mon.a.pid"))"

# --- 3. OSD (memstore) -----------------------------------------------------------
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$($CEPH osd new "$OSD_UUID")          # -> 0
mkdir -p "$CEPH_DIR/osd/osd.$OSD_ID"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$CEPH_DIR/log/mkfs-osd.out" 2>&1 \
  || die "ceph-osd --mkfs failed: $(cat "$CEPH_DIR/log/mkfs-osd.out")"
ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$CEPH_DIR/log/osd.stderr"   # daemonizes
end=$((SECONDS + READY_TIMEOUT))
until [ "$($CEPH osd stat -f json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])' 2>/dev/null)" = 1 ]; do
  [ $SECONDS -lt $end ] || die "osd not up; see $CEPH_DIR/log/osd.$OSD_ID.log"; sleep 0.3
done
log "osd.$OSD_ID up (pid $(cat "$CEPH_DIR/run/osd.$OSD_ID.pid"))"

# --- 4. RADOS Gateway ----------------------------------------------------------------
# On first start RGW creates its pools (.rgw.root, default.rgw.*) -- that is most
# of the ~8 s it takes before the HTTP port answers.
radosgw -c "$CONF" -n client.rgw            # daemonizes, writes run/client.rgw.pid
end=$((SECONDS + READY_TIMEOUT))
until curl -fsS -o /dev/null "http://127.0.0.1:$RGW_PORT/" 2>/dev/null; do
  [ $SECONDS -lt $end ] || die "radosgw not answering; see $CEPH_DIR/log/client.rgw.log"; sleep 0.3
done
log "radosgw up on http://127.0.0.1:$RGW_PORT (pid $(cat "$CEPH_DIR/run/client.rgw.pid"))"

# --- 5. S3 user with fixed keys --------------------------------------------------------
# (use client.admin, not client.rgw, so radosgw-admin doesn't fight over the rgw asok)
radosgw-admin -c "$CONF" user create --uid=tester --display-name="S3 tester" \
  --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >"$CEPH_DIR/log/user.json" 2>"$CEPH_DIR/log/user.err" \
  || die "radosgw-admin user create failed: $(cat "$CEPH_DIR/log/user.err")"

# --- 6. signed smoke test + warm-up ---------------------------------------------------------
# Proves the keys work end-to-end and makes RGW create its lazily-created
# buckets.index / buckets.data pools now rather than inside the first test.
# (curl >= 7.75 signs SigV4; RGW insists on an x-amz-content-sha256 header.)
S3CURL="curl -sS -o /dev/null -w %{http_code} --aws-sigv4 aws:amz:us-east-1:s3 --user $S3_ACCESS_KEY:$S3_SECRET_KEY -H x-amz-content-sha256:UNSIGNED-PAYLOAD"
EP=http://127.0.0.1:$RGW_PORT
codes="$($S3CURL "$EP/") $($S3CURL -X PUT "$EP/warmup-$FSID") $($S3CURL -X PUT --data-binary x "$EP/warmup-$FSID/o")"
codes="$codes $($S3CURL -X DELETE "$EP/warmup-$FSID/o") $($S3CURL -X DELETE "$EP/warmup-$FSID")"
[ "$codes" = "200 200 200 204 204" ] || die "signed smoke test failed (HTTP codes: $codes); see $CEPH_DIR/log/client.rgw.log"
log "signed smoke test passed (list/create/put/delete)"

cat > "$CEPH_DIR/s3.env" <<EOF
export S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export S3_ACCESS_KEY=$S3_ACCESS_KEY
export S3_SECRET_KEY=$S3_SECRET_KEY
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export CEPH_CONF=$CONF
EOF
if [ -n "$RGW_SSL_PORT" ]; then
  echo "export S3_ENDPOINT_TLS=https://127.0.0.1:$RGW_SSL_PORT" >> "$CEPH_DIR/s3.env"
  echo "export S3_CA_BUNDLE=$CEPH_DIR/rgw.crt" >> "$CEPH_DIR/s3.env"
fi
log "ready: S3 user 'tester' created; env in $CEPH_DIR/s3.env"
cat "$CEPH_DIR/s3.env"
