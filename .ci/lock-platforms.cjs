#!/usr/bin/env node
// Usage: node .ci/lock-platforms.cjs package-lock.json  (run after any `npm install` that rewrites the lock)
// Why: the registry mirror this project is built against serves only the packages for this platform, so npm
// writes a lock without the other platforms' optional native packages, and `npm ci` then calls the lock out
// of sync.
// This adds lock entries for other platforms' optional native packages the local registry mirror does not serve,
// so `npm ci` finds the lock in sync; npm skips them by os/cpu without fetching.
const fs = require('fs');
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(
    entry.optionalDependencies || {},
  )) {
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    const parts = name.split('/').pop().split('-');
    const osList = [
      'darwin',
      'linux',
      'win32',
      'android',
      'freebsd',
      'openharmony',
      'sunos',
      'aix',
      'netbsd',
      'openbsd',
    ];
    const cpuList = [
      'arm64',
      'x64',
      'arm',
      'ia32',
      'ppc64',
      's390x',
      'loong64',
      'riscv64',
      'wasm32',
    ];
    const os = parts.find((p) => osList.includes(p));
    const cpu = parts.find((p) => cpuList.includes(p));
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${name}`);
    const e = {
      version,
      dev: entry.dev || undefined,
      optional: true,
      os: [os],
      cpu: [cpu],
    };
    if (parts.includes('gnu') || parts.includes('gnueabihf'))
      e.libc = ['glibc'];
    if (parts.includes('musl') || parts.includes('musleabihf'))
      e.libc = ['musl'];
    pkgs[key] = e;
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
lock.packages = sorted;
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform entries`);
