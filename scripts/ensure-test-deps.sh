#!/usr/bin/env bash
# Installs and starts what the test suite talks to, when missing: Debian Chromium and Xvfb (browser
# and Electron tests), iproute2, iptables and coturn (the network-namespace test's NATs and TURN),
# and the local Mosquitto / PostgreSQL / NATS services the suite expects on their standard loopback
# ports. Safe to run repeatedly; does nothing when all is present.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# iptables and ip live in /usr/sbin, which a non-root PATH may leave out.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
has ip || missing+=(iproute2)
has iptables || missing+=(iptables)
has turnserver || missing+=(coturn)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 1883; then
  echo "starting Mosquitto on 127.0.0.1:1883"
  as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf || as_root mosquitto -d
fi
if ! port_open 4222 && command -v nats-server >/dev/null 2>&1; then
  echo "starting NATS JetStream on 127.0.0.1:4222"
  mkdir -p /tmp/parley-nats
  as_root start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- -a 127.0.0.1 -p 4222 -js -sd /tmp/parley-nats
fi
for _ in $(seq 1 50); do port_open 1883 && break; sleep 0.1; done
port_open 1883 || { echo "Mosquitto is not listening on 127.0.0.1:1883; install it (apt-get install mosquitto) and start it"; exit 1; }
