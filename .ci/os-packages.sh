#!/usr/bin/env bash
# Installs the OS packages the local topology and the tests run for real: nginx, HAProxy and Chromium.
# Does nothing when they are already there; uses sudo when not root.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sticky-edge: missing ${missing[*]}; install them with your package manager (the tests use nginx, haproxy and chromium)" >&2
  exit 1
fi
sudo=''
[ "$(id -u)" -eq 0 ] || sudo='sudo'
echo "installing ${missing[*]} from the OS packages" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged nginx on :80; the project runs its own nginx processes, so stop the service.
if [[ " ${missing[*]} " == *" nginx "* ]] && command -v service >/dev/null 2>&1; then
  $sudo service nginx stop >/dev/null 2>&1 || true
fi
