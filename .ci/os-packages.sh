#!/usr/bin/env bash
# Installs the OS packages the local topology and the tests run for real: nginx, HAProxy, Chromium, nftables and
# openssl.
# With --bench also wrk, the benchmark's load generator, and valgrind, which counts the instructions figure
# (`npm run setup` and `npm run bench` ask for them; `npm test` does not, so the tests never depend on them: the
# one test that runs callgrind is skipped without it). Does nothing when they are already there; uses sudo when
# not root.
set -euo pipefail
bench=false
case "${1:-}" in
  '') ;;
  --bench) bench=true ;;
  *) echo "os-packages.sh: unknown option ${1} (only --bench)" >&2; exit 2 ;;
esac
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# nft: the black-hole tests drop packets inside a network namespace of their own.
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
# openssl: the local topology makes its TLS certificate at start (Node's crypto cannot issue one).
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if $bench; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sticky-edge: missing ${missing[*]}; install them with your package manager (the tests use nginx, haproxy, chromium, nftables and openssl; the benchmark also wrk and valgrind)" >&2
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
