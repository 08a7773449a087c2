import { clientAddress } from '../../../lib/verify/checks/client-address';
import { answer, CALLER, LB, observe, sessions } from './fixtures';

describe('client-address', () => {
  test("a caller behind a NAT it does not own passes with a public address that is not the load balancer's", () => {
    const check = clientAddress(
      observe({ sessions: sessions(3, () => answer()) }),
    );
    expect(check.status).toBe('pass');
    expect(check.evidence.join('\n')).toContain(
      "this caller's public address is not known here",
    );
  });

  test("inside the VPC the backends' peer is the NAT address and so is the client: that passes when EC2 names it", () => {
    const nat = '192.0.2.50';
    const o = observe({
      sessions: sessions(3, () =>
        answer({ clientIp: nat, realIp: nat, forwardedFor: nat, peer: nat }),
      ),
      expectedClientIps: () => [nat],
    });
    expect(clientAddress(o).status).toBe('pass');
  });

  test('a private address reaching the backends of a public endpoint: nginx is not reading the PROXY header', () => {
    const nlbNode = '10.40.0.17';
    const o = observe({
      sessions: sessions(3, () =>
        answer({ clientIp: nlbNode, realIp: nlbNode, forwardedFor: nlbNode }),
      ),
    });
    expect(clientAddress(o)).toMatchObject({
      status: 'fail',
      diagnosis: `backends see ${nlbNode} (a private address, the same for every client): nginx is not reading the PROXY header (NLB) or the load balancer's X-Forwarded-For (ALB), so it reports and hashes the load balancer's address`,
    });
  });

  test("the load balancer's own public address reported as the client fails", () => {
    const o = observe({
      sessions: sessions(2, () =>
        answer({ clientIp: LB, realIp: LB, forwardedFor: LB }),
      ),
    });
    expect(clientAddress(o).diagnosis).toMatch(
      new RegExp(
        `^backends see ${LB.replace(/\./g, '\\.')} \\(the same for every client\\)`,
      ),
    );
  });

  test('a backend that falls back to its TCP peer: nginx sends no header the backends trust', () => {
    const peer = '192.0.2.50';
    const o = observe({
      sessions: sessions(2, () =>
        answer({ clientIp: peer, realIp: null, forwardedFor: null, peer }),
      ),
      expectedClientIps: () => [CALLER],
    });
    expect(clientAddress(o).diagnosis).toBe(
      `backends see their TCP peer (${peer}) as the client: nginx sends no X-Real-IP / X-Forwarded-For the backends trust`,
    );
  });

  test('a right client address with a foreign first X-Forwarded-For entry fails on the headers', () => {
    const o = observe({
      sessions: sessions(2, () =>
        answer({ forwardedFor: `10.1.1.1, ${CALLER}` }),
      ),
      expectedClientIps: () => [CALLER],
    });
    expect(clientAddress(o).diagnosis).toMatch(
      /^the headers disagree with the client address 198\.51\.100\.20 .*first X-Forwarded-For entry 10\.1\.1\.1\)/,
    );
  });
});
