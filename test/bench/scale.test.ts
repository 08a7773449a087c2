import { summariseScale, type ScaleObservation } from '../../lib/bench/scale';

const times = {
  join: { start: 1000, end: 1400 },
  leave: { start: 3000, end: 5000 },
};

const seen = (
  client: number,
  seq: number,
  sentAt: number,
  backend: string | undefined,
): ScaleObservation => ({
  client,
  tag: `ab12.${client}.${seq}`,
  sentAt,
  doneAt: sentAt + 50,
  backend,
});

test('summariseScale counts failures, moved clients, requests during each change and the joining nodes’ share', () => {
  const observations = [
    // Client 0 stays on a; its second request is in flight when the join starts, its third is served by node 2.
    seen(0, 0, 500, 'a'),
    seen(0, 1, 980, 'a'),
    seen(0, 2, 2000, 'a'),
    // Client 1 stays on b; one request fails while nodes leave (it does not count as a move).
    seen(1, 0, 500, 'b'),
    seen(1, 1, 3100, undefined),
    seen(1, 2, 4000, 'b'),
    // Client 2 moves from a to b after the leave.
    seen(2, 0, 500, 'a'),
    seen(2, 1, 6000, 'b'),
  ];
  const nodeOfTag = new Map([
    ['ab12.0.0', 0],
    ['ab12.0.1', 1],
    ['ab12.0.2', 2],
    ['ab12.1.0', 1],
    ['ab12.1.2', 3],
    ['ab12.2.0', 0],
    // ab12.2.1 is in no log.
  ]);
  expect(
    summariseScale('hash', observations, nodeOfTag, times, {
      phaseMs: 3000,
      drainMs: 2000,
    }),
  ).toEqual({
    strategy: 'hash',
    fromNodes: 2,
    toNodes: 4,
    clients: 3,
    requests: 8,
    failed: 1,
    duringJoin: 1,
    duringLeave: 2,
    moved: 1,
    servedByJoined: 2,
    unlogged: 1,
    phaseMs: 3000,
    drainMs: 2000,
    joinMs: 400,
    leaveMs: 2000,
  });
});

test('summariseScale counts a client whose every request failed, and moves none of it', () => {
  const row = summariseScale(
    'cookie',
    [seen(0, 0, 500, undefined), seen(0, 1, 600, undefined)],
    new Map(),
    times,
    { phaseMs: 3000, drainMs: 2000 },
  );
  expect(row).toMatchObject({
    clients: 1,
    requests: 2,
    failed: 2,
    moved: 0,
    servedByJoined: 0,
    unlogged: 0,
  });
});
