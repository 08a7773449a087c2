#!/usr/bin/env node
// The package's bin is plain JavaScript so `npx sticky-edge` works straight after `npm ci`:
// it registers tsx's require hook and hands over to the TypeScript CLI.
require('tsx/cjs');
const { main } = require('./sticky-edge.ts');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
