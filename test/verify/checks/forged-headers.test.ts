import { forgedHeaders } from '../../../lib/verify/checks/forged-headers';
import { answer, CALLER, observe, sessions } from './fixtures';

describe('forged-headers', () => {
  test('passes when forged requests get the same backend and address as plain ones', () => {
    const o = observe({
      sessions: sessions(
        2,
        () => answer(),
        () => answer(),
      ),
    });
    expect(forgedHeaders(o)).toMatchObject({
      status: 'pass',
      evidence: ['2 forged requests: address and backend unchanged'],
    });
  });

  test('is not applicable when no forged request was answered', () => {
    expect(
      forgedHeaders(observe({ sessions: sessions(2, () => answer()) })).status,
    ).toBe('not-applicable');
  });

  test('a forged X-Forwarded-For believed: nginx trusts every address', () => {
    const o = observe({
      sessions: sessions(
        2,
        () => answer(),
        (_, f) => answer({ clientIp: f.forwardedFor }),
      ),
    });
    expect(forgedHeaders(o).diagnosis).toMatch(
      /^client chose its own address with X-Forwarded-For: nginx trusts every address/,
    );
  });

  test("a forged X-Forwarded-For passed on first, while nginx itself ignores it: nginx appends to the client's header", () => {
    const o = observe({
      sessions: sessions(
        2,
        () => answer(),
        (_, f) => answer({ forwardedFor: `${f.forwardedFor}, ${CALLER}` }),
      ),
    });
    expect(forgedHeaders(o).diagnosis).toMatch(
      /^backends receive the client's forged value as the first X-Forwarded-For entry/,
    );
  });

  test('a forged X-Real-IP believed: the client chose its own address with X-Real-IP', () => {
    const o = observe({
      sessions: sessions(
        2,
        () => answer(),
        (_, f) => answer({ clientIp: f.realIp, realIp: f.realIp }),
      ),
    });
    expect(forgedHeaders(o).diagnosis).toMatch(
      /^client chose its own address with X-Real-IP/,
    );
  });

  test('a forged header that moves the session to another backend', () => {
    const o = observe({
      sessions: sessions(
        2,
        () => answer(),
        () => answer({ backend: 'app-b' }),
      ),
    });
    expect(forgedHeaders(o)).toMatchObject({
      status: 'fail',
      diagnosis:
        'a forged header moved the session to another backend: nginx routes on an address the client chose',
    });
  });
});
