#!/usr/bin/env bash
# What the docker provider's tests need on a machine without a Docker engine (Debian, as root):
# Podman and its Docker-compatible API, and the test image, built from Debian's own packages
# because no registry image can be pulled here. Idempotent: the image stays in Podman's store
# between runs, and a running API service is left as it is.
set -euo pipefail

IMAGE=localhost/firedrill-db:bookworm
SOCKET=/run/podman/podman.sock

if [ "$(id -u)" -ne 0 ]; then
  echo "firedrill test-containers: needs root (it configures Podman and starts its API service)" >&2
  exit 2
fi

# crun fails on these machines (hybrid cgroups, setrlimit): runc, cgroupfs, no default ulimits.
# An exec session's monitor process lingers for exit_command_delay after it ends; the default
# (5 min) piles up hundreds of them over a test run.
mkdir -p /etc/containers
if ! grep -q 'firedrill' /etc/containers/containers.conf 2>/dev/null; then
  cat > /etc/containers/containers.conf <<'CONF'
# written by firedrill's scripts/test-containers.sh
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
exit_command_delay = 30
CONF
fi

if ! podman image exists "$IMAGE"; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  if [ -z "$mirror" ]; then
    echo "firedrill test-containers: no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    exit 2
  fi
  echo "firedrill test-containers: building $IMAGE from $mirror (about a minute and a half, once per machine)"
  rootfs=$(mktemp -d /var/tmp/firedrill-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=postgresql-15,mariadb-server,mariadb-backup,procps,ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
fi

ping() { curl -sf --max-time 2 --unix-socket "$SOCKET" http://podman/_ping >/dev/null 2>&1; }
# A service started in a directory since removed (an earlier clone) still answers the ping, but
# every container it starts fails ("write child: broken pipe": conmon cannot get its working
# directory). Such a service is stopped and started again, from /.
pid=$(pgrep -f "podman system service .*unix://$SOCKET" | head -n 1 || true)
if [ -n "$pid" ] && [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == *" (deleted)" ]]; then
  echo "firedrill test-containers: Podman's API service runs in a removed directory; restarting it"
  kill "$pid"
  for _ in $(seq 1 50); do ping || break; sleep 0.1; done
fi
if ! ping; then
  mkdir -p "$(dirname "$SOCKET")"
  (cd / && setsid nohup podman system service --time=0 "unix://$SOCKET" >/var/log/firedrill-podman-service.log 2>&1 </dev/null &)
  for _ in $(seq 1 100); do ping && break; sleep 0.1; done
  ping || { echo "firedrill test-containers: Podman's API did not start; see /var/log/firedrill-podman-service.log" >&2; exit 2; }
fi
