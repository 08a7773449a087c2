import {
  findWrk,
  parseWrkOutput,
  WRK_DONE_SCRIPT,
  WRK_MARKER,
  wrkArgs,
} from '../../lib/bench/load';

/** What wrk 4.1 prints with `--latency` and the project's `done` hook (figures from a real run). */
const output = `Running 2s test @ http://127.40.0.5:40123/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms    1.02ms  21.90ms   93.33%
    Req/Sec    16.89k     1.21k   18.40k    80.00%
  Latency Distribution
     50%    1.71ms
     75%    2.04ms
     90%    2.61ms
     99%    6.38ms
  33612 requests in 2.00s, 9.46MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  16805.13
Transfer/sec:      4.73MB
${WRK_MARKER} {"requests":33612,"durationUs":2000104,"connect":0,"read":1,"write":0,"status":3,"timeout":0,"p50Us":1712,"p99Us":6381}
`;

describe('parseWrkOutput', () => {
  test('reads requests/s, p50, p99 and the failures from the done hook line', () => {
    const figures = parseWrkOutput(output);
    expect(figures.requestsPerSecond).toBeCloseTo(33612 / 2.000104, 6);
    expect(figures).toMatchObject({
      p50Ms: 1.712,
      p99Ms: 6.381,
      requests: 33612,
      failed: 4,
    });
  });

  test('fails when wrk printed no done line, quoting its last line', () => {
    expect(() =>
      parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'),
    ).toThrow(
      `wrk printed no "${WRK_MARKER}" line: unable to connect to 127.0.0.1:1 Connection refused`,
    );
  });

  test.each([
    [`${WRK_MARKER} {"requests":`, 'is not JSON'],
    [`${WRK_MARKER} {"requests":1}`, `wrk's "durationUs" is not a count`],
    [
      `${WRK_MARKER} {"requests":-1,"durationUs":1,"connect":0,"read":0,"write":0,"status":0,"timeout":0,"p50Us":1,"p99Us":1}`,
      `wrk's "requests" is not a count`,
    ],
    [
      `${WRK_MARKER} {"requests":1,"durationUs":0,"connect":0,"read":0,"write":0,"status":0,"timeout":0,"p50Us":1,"p99Us":1}`,
      'wrk ran for 0 µs',
    ],
  ])('fails when the done line is %j', (line, message) => {
    expect(() => parseWrkOutput(line)).toThrow(message);
  });
});

test('the done hook prints the marker, every field the parser reads, and the 50th and 99th percentiles', () => {
  expect(WRK_DONE_SCRIPT).toMatch(
    /^done = function\(summary, latency, requests\)/,
  );
  expect(WRK_DONE_SCRIPT).toContain(`'${WRK_MARKER} {`);
  for (const field of [
    'requests',
    'durationUs',
    'connect',
    'read',
    'write',
    'status',
    'timeout',
    'p50Us',
    'p99Us',
  ])
    expect(WRK_DONE_SCRIPT).toContain(`"${field}":%d`);
  expect(WRK_DONE_SCRIPT).toContain(
    'latency:percentile(50), latency:percentile(99)',
  );
});

test('wrkArgs: threads, connections, duration, latency, the hook, each header, the URL last', () => {
  expect(
    wrkArgs(
      'http://127.1.0.1:8080/',
      { accept: 'application/json', cookie: 'a=1; b=2' },
      { threads: 1, connections: 32, durationSeconds: 10 },
      '/tmp/done.lua',
    ),
  ).toEqual([
    '-t1',
    '-c32',
    '-d10s',
    '--latency',
    '-s',
    '/tmp/done.lua',
    '-H',
    'accept: application/json',
    '-H',
    'cookie: a=1; b=2',
    'http://127.1.0.1:8080/',
  ]);
});

test('fails when wrk is not installed, with one line saying how to get it', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent-sticky-edge-test';
  try {
    expect(() => findWrk()).toThrow(
      'wrk is not installed: the overhead figure needs it; run `npm run setup` or `sudo apt-get install wrk`',
    );
  } finally {
    process.env.PATH = saved;
  }
});
