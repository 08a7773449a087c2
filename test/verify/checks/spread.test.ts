import { spread } from '../../../lib/verify/checks/spread';
import { answer, CALLER, observe, ok, session, sessions } from './fixtures';

describe('spread', () => {
  test('cookie routing that spreads passes; too few client keys leave the spread not applicable', () => {
    const spreading = observe({
      routing: 'cookie',
      sessions: sessions(
        8,
        (i) => answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
        undefined,
        'r1',
      ),
    });
    expect(spread(spreading).status).toBe('pass');
    const few = observe({
      routing: 'address',
      sessions: sessions(8, () => answer()),
      expectedClientIps: () => [CALLER],
    });
    expect(spread(few)).toMatchObject({ status: 'not-applicable' });
  });

  test('cookie routing with every session on one backend and no routing cookie: the cookie strategy is not in effect', () => {
    const o = observe({
      routing: 'cookie',
      sessions: sessions(8, () => answer()),
    });
    expect(spread(o).diagnosis).toBe(
      'all sessions on one backend (app-a) and nginx set no sticky_edge_route routing cookie: the cookie strategy is not in effect',
    );
  });

  test('address routing with one address hashed for every client: nginx hashes the load balancer', () => {
    // Eight callers in eight /24s, so ip_hash has enough keys to judge; the backends report one address for all.
    const nlbNode = '10.40.0.17';
    const o = observe({
      sticky: 'ip_hash',
      routing: 'address',
      sessions: Array.from({ length: 8 }, (_, i) =>
        session(i, [
          { result: ok(answer({ clientIp: nlbNode }), `198.51.${i}.1`) },
          { result: ok(answer({ clientIp: nlbNode }), `198.51.${i}.1`) },
        ]),
      ),
      expectedClientIps: (local) => [local],
    });
    expect(spread(o)).toMatchObject({
      status: 'fail',
      diagnosis: `all sessions on one backend (app-a): nginx hashes one address (${nlbNode}) for every client instead of each client's own`,
    });
  });

  test('a backend that answers directly but gets no session: nginx does not send it traffic', () => {
    const o = observe({
      routing: 'cookie',
      sessions: sessions(
        8,
        (i) => answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
        undefined,
        'r1',
      ),
      directBackends: ['app-a', 'app-b', 'app-c'].map((name) => ({
        url: `http://192.0.2.9/${name}`,
        name,
      })),
    });
    expect(spread(o).diagnosis).toBe(
      'backend(s) app-c answer directly but got no session: nginx does not send them traffic (check its upstream list)',
    );
  });
});
