import { sticky } from '../../../lib/verify/checks/sticky';
import { answer, flapping, observe, ok, sessions } from './fixtures';

describe('sticky', () => {
  test('passes when every session stays on its backend', () => {
    const o = observe({
      sessions: sessions(3, (i) =>
        answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
      ),
    });
    expect(sticky(o)).toMatchObject({
      status: 'pass',
      evidence: ['3 sessions, 6 requests: every session stayed on one backend'],
    });
  });

  test('is not applicable when no session got two answers', () => {
    const o = observe({
      sessions: sessions(3, () => answer()).map((s) => ({
        ...s,
        exchanges: s.exchanges.slice(0, 1),
      })),
    });
    expect(sticky(o).status).toBe('not-applicable');
  });

  test('cookie routing with no routing cookie: sessions flap because nothing pins them', () => {
    const o = observe({
      routing: 'cookie',
      sessions: sessions(2, (i) =>
        answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
      ),
    });
    const flapped = o.sessions.map((s) => ({
      ...s,
      exchanges: s.exchanges.map((e, n) => ({
        ...e,
        result: ok(answer({ backend: n % 2 ? 'app-a' : 'app-b' })),
      })),
    }));
    expect(sticky({ ...o, sessions: flapped }).diagnosis).toBe(
      'sessions flap: nginx set no sticky_edge_route routing cookie, so nothing pins a visitor to a backend',
    );
  });

  test('sessions that move while a backend is down are reported as failover, not as nodes that disagree', () => {
    const o = observe({
      routing: 'cookie',
      sessions: flapping(2, 'r1'),
      directBackends: [
        { url: 'http://192.0.2.9:3000/', error: 'ECONNREFUSED' },
      ],
    });
    expect(sticky(o).diagnosis).toBe(
      'sessions moved while http://192.0.2.9:3000/ does not answer directly: a backend is failing, and its sessions fail over',
    );
    expect(sticky({ ...o, directBackends: [] }).diagnosis).toMatch(
      /^sessions flap: nginx nodes disagree on the mapping \(the same routing cookie/,
    );
  });

  test('address routing: a client whose address changes between requests flaps with it', () => {
    const o = observe({
      sessions: sessions(1, () => answer()).map((s) => ({
        ...s,
        exchanges: s.exchanges.map((e, n) => ({
          ...e,
          result: ok(
            answer({
              backend: n ? 'app-b' : 'app-a',
              clientIp: n ? '10.0.0.2' : '10.0.0.1',
            }),
          ),
        })),
      })),
    });
    expect(sticky(o)).toMatchObject({
      status: 'fail',
      diagnosis:
        "sessions flap: the address nginx sees changes between one client's requests (10.0.0.1, 10.0.0.2), so the hash changes with it",
    });
  });
});
