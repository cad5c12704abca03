#!/usr/bin/env bash
# Boots (start) or stops (stop) a single-node Ceph cluster with a RADOS Gateway on 127.0.0.1, for the S3 contract
# suite and the end-to-end scenarios against a production S3 implementation. Installs Debian's Ceph packages when
# missing. One mon (no cephx), one memstore OSD, pools of size 1, beast frontend with tcp_nodelay.
# Prints the S3_TEST_* variables to use; `stop` kills exactly the processes `start` recorded.
set -euo pipefail

DIR=${CEPH_S3_DIR:-/tmp/ceph-s3}
PORT=${CEPH_S3_PORT:-7480}
ACCESS_KEY=${CEPH_S3_ACCESS_KEY:-contracttestaccess}
SECRET_KEY=${CEPH_S3_SECRET_KEY:-contracttestsecretkey0123456789}
BUCKET=${CEPH_S3_BUCKET:-contract-tests}
KMS_KEY_ID=contract-kms-key
CONF="$DIR/ceph.conf"
# RGW checks the payload hash header; curl --aws-sigv4 does not send it on its own.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

log() { printf '[ceph-s3] %s\n' "$*" >&2; }

install_packages() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then return; fi
  log "installing ceph-mon ceph-osd ceph-common radosgw from Debian"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ceph-mon ceph-osd ceph-common radosgw >/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 $((limit * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  log "timed out waiting for $what"; return 1
}

# Kills whatever a start that failed half-way left running (its pid files) and removes its data: a later start
# must not meet an old monitor on the port or an OSD directory carrying another cluster's fsid.
# After a failed start the logs stay (in $DIR/log) for whoever reads why.
clean_leftovers() {
  local f
  for f in "$DIR"/run/*.pid; do [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  if [ "${1:-}" = keep-logs ]; then find "$DIR" -mindepth 1 -maxdepth 1 ! -name log -exec rm -rf {} +; else rm -rf "$DIR"; fi
}

start() {
  install_packages
  if [ -e "$DIR/pids" ]; then
    # A run killed before its stop leaves the record behind: only a live daemon means "already started".
    local pid alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$DIR/pids"
    [ "$alive" = 1 ] && { log "already started in $DIR (run stop first)"; exit 1; }
    log "a stopped run's record in $DIR (no daemon alive): starting afresh"
  fi
  clean_leftovers
  # A monitor of another cluster still listening on 6789 would answer our commands with its own fsid ("wrong fsid").
  if (exec 3<>/dev/tcp/127.0.0.1/6789) 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    log "port 6789 or $PORT is already in use (another Ceph?); stop it first"; exit 1
  fi
  trap 'log "start failed; cleaning up (logs kept in $DIR/log)"; clean_leftovers keep-logs' ERR
  local t0=$SECONDS fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mkdir -p "$DIR"/{mon,osd/ceph-0,run,log,rgw}
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:6789
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
mon allow pool size one = true
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
[mon.a]
mon data = $DIR/mon/ceph-a
[osd.0]
osd data = $DIR/osd/ceph-0
# The OSD's own mon commands at boot (crush location, device class) are what at times go out with a zeroed fsid
# ("wrong fsid") and leave it down; the script places the OSD in the crush map itself, so they are turned off.
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
# Pacific's RGW implements server-side encryption as SSE-KMS only (AES256, i.e. SSE-S3, arrived in later
# releases): the suites run against it with S3_SSE=aws:kms and RGW's built-in test key store. Test key, test only.
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = $KMS_KEY_ID=$(head -c 32 /dev/urandom | base64)
CONF
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:6789]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring /dev/null 2>"$DIR/log/mkfs.log"
  ceph-mon -c "$CONF" -i a
  wait_for 30 "the monitor" ceph -c "$CONF" mon stat
  local id; id=$(ceph -c "$CONF" osd create)
  ceph -c "$CONF" osd crush add-bucket localhost host >/dev/null
  ceph -c "$CONF" osd crush move localhost root=default >/dev/null
  ceph -c "$CONF" osd crush add "osd.$id" 1.0 host=localhost >/dev/null
  ceph-osd -c "$CONF" -i "$id" --mkfs 2>"$DIR/log/osd-mkfs.log"
  # In the foreground under our own `&`: daemonized, Pacific's OSD at times sends its first mon command with a
  # zeroed fsid ("wrong fsid") and exits; the foreground one boots every time.
  # Even in the foreground, a first boot now and then still meets "wrong fsid" and never comes up: give it three
  # tries of 30 s (a healthy boot takes a few seconds) before failing the start.
  local attempt
  for attempt in 1 2 3; do
    nohup ceph-osd -c "$CONF" -i "$id" -f >>"$DIR/log/osd-stdout.log" 2>&1 &
    echo $! >"$DIR/run/osd.$id.pid"
    if wait_for 30 "the OSD (attempt $attempt)" bash -c "ceph -c '$CONF' osd stat | grep -q '1 up'"; then break; fi
    kill -9 "$(cat "$DIR/run/osd.$id.pid")" 2>/dev/null || true
    if [ "$attempt" = 3 ]; then log "the OSD did not come up in 3 attempts"; false; fi
  done
  radosgw -c "$CONF" -n client.rgw.a
  wait_for 90 "the RADOS Gateway" curl -sf "http://127.0.0.1:$PORT/"
  radosgw-admin -c "$CONF" user create --uid=contract --display-name="contract tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  wait_for 30 "the bucket" curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" -X PUT "http://127.0.0.1:$PORT/$BUCKET"
  for name in client.rgw.a "osd.$id" mon.a; do cat "$DIR/run/$name.pid"; echo; done | grep -E '^[0-9]+$' >"$DIR/pids"
  trap - ERR
  log "ready in $((SECONDS - t0)) s"
  cat <<ENV
export S3_TEST_ENDPOINT=http://127.0.0.1:$PORT
export S3_TEST_ACCESS_KEY=$ACCESS_KEY
export S3_TEST_SECRET_KEY=$SECRET_KEY
export S3_TEST_REGION=us-east-1
export S3_TEST_BUCKET=$BUCKET
export S3_TEST_SSE=aws:kms
export S3_TEST_SSE_KMS_KEY_ID=$KMS_KEY_ID
ENV
}

stop() {
  [ -e "$DIR/pids" ] || { log "nothing recorded in $DIR/pids"; return 0; }
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$DIR/pids"
  for _ in $(seq 1 40); do
    alive=0; while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$DIR/pids"
    [ $alive = 0 ] && break; sleep 0.25
  done
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$DIR/pids"
  rm -rf "$DIR"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
