import { summariseFailover } from '../../lib/bench/failover';

test('summariseFailover counts failures and re-pin times of the dead backend’s sessions only', () => {
  const killedAt = 1000;
  const logs = [
    // On the dead backend: one failure, a stray answer from it, then pinned to b at +300 ms.
    [
      { at: 900, backend: 'a' },
      { at: 1100, backend: undefined },
      { at: 1200, backend: 'a' },
      { at: 1300, backend: 'b' },
      { at: 1400, backend: 'b' },
    ],
    // On the dead backend, pinned to b at +100 ms.
    [
      { at: 950, backend: 'a' },
      { at: 1100, backend: 'b' },
    ],
    // Never on the dead backend.
    [
      { at: 950, backend: 'b' },
      { at: 1100, backend: 'b' },
    ],
    // On the dead backend and still failing at the end: not re-pinned.
    [
      { at: 990, backend: 'a' },
      { at: 1500, backend: undefined },
    ],
  ];
  expect(summariseFailover('cookie', logs, 'a', killedAt, 5000)).toEqual({
    config: 'cookie',
    sessions: 4,
    sessionsOnDeadBackend: 3,
    requests: 11,
    failed: 2,
    repinned: 2,
    repinP50Ms: 100,
    repinMaxMs: 300,
    observedMs: 4000,
  });
});
