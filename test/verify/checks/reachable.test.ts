import { evaluate } from '../../../lib/verify/checks/index';
import { reachable } from '../../../lib/verify/checks/reachable';
import { answer, observe, session, sessions } from './fixtures';

describe('reachable', () => {
  test('passes when every planned request was answered', () => {
    const check = reachable(observe({ sessions: sessions(2, () => answer()) }));
    expect(check).toMatchObject({
      status: 'pass',
      evidence: ['4 of 4 requests answered'],
    });
  });

  test('400 answers: the load balancer and nginx disagree on PROXY protocol', () => {
    const o = observe({
      sessions: [
        session(0, [
          {
            result: { ok: false, status: 400, error: 'HTTP 400 Bad Request' },
          },
        ]),
      ],
    });
    expect(reachable(o).diagnosis).toMatch(
      /^the edge answers 400 Bad Request: the load balancer and nginx disagree on PROXY protocol/,
    );
    // With nothing answered, the checks that need answers say so instead of passing or failing.
    expect(
      evaluate(o)
        .filter((c) => c.id !== 'reachable' && c.id !== 'backends')
        .map((c) => c.status),
    ).toEqual([
      'not-applicable',
      'not-applicable',
      'not-applicable',
      'not-applicable',
    ]);
  });

  test('502 answers: nginx cannot reach the backends', () => {
    const o = observe({
      sessions: [
        session(0, [
          {
            result: { ok: false, status: 502, error: 'HTTP 502 Bad Gateway' },
          },
        ]),
      ],
    });
    expect(reachable(o)).toMatchObject({
      status: 'fail',
      diagnosis: expect.stringMatching(
        /^the edge answers 502\/504: nginx cannot reach the backends/,
      ),
    });
  });

  test('a run cut short by its deadline fails the reachability check', () => {
    const o = observe({ sessions: sessions(1, () => answer()), skipped: 4 });
    expect(reachable(o)).toMatchObject({
      status: 'fail',
      diagnosis: expect.stringContaining('deadline'),
    });
  });
});
