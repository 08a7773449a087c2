/** sticky: every session that got two answers got them from one backend. */
import { few, who } from './evidence';
import {
  Answered,
  answered,
  defineCheck,
  distinct,
  Observations,
} from './observations';

export const sticky = defineCheck(
  {
    id: 'sticky',
    title: 'each session stays on one backend',
    diagnoses: [
      "address routing: the address nginx sees changes between one client's requests",
      'cookie routing: nginx set no routing cookie',
      'a backend does not answer directly: its sessions fail over',
      'otherwise: nginx nodes disagree on the mapping (upstreams or route ids differ)',
    ],
  },
  (o) => {
    const { id, title } = sticky;
    const judged = o.sessions
      .map((s) => answered(s, false))
      .filter((a) => a.length >= 2);
    if (judged.length === 0)
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: ['no session got two answers'],
      };
    const flapping = judged.filter(
      (a) => distinct(a.map((x) => x.answer.backend)).length > 1,
    );
    const requests = judged.reduce((n, a) => n + a.length, 0);
    if (flapping.length === 0) {
      return {
        id,
        title,
        status: 'pass',
        evidence: [
          `${judged.length} sessions, ${requests} requests: every session stayed on one backend`,
        ],
      };
    }
    const evidence = [
      `${flapping.length} of ${judged.length} sessions reached more than one backend`,
      ...few(flapping).map(
        (a) =>
          `${who(a[0].session)}: ${a.map((x) => x.answer.backend).join(', ')}`,
      ),
    ];
    return {
      id,
      title,
      status: 'fail',
      evidence,
      diagnosis: flapDiagnosis(o, flapping),
    };
  },
);

function flapDiagnosis(
  o: Observations,
  flapping: readonly Answered[][],
): string {
  if (o.routing === 'address') {
    const moving = flapping.find(
      (a) => distinct(a.map((x) => x.answer.clientIp)).length > 1,
    );
    if (moving) {
      const seen = distinct(moving.map((x) => x.answer.clientIp)).join(', ');
      return `sessions flap: the address nginx sees changes between one client's requests (${seen}), so the hash changes with it`;
    }
  }
  if (
    o.routing === 'cookie' &&
    flapping.every((a) => a.every((x) => x.exchange.routeCookie === undefined))
  ) {
    return `sessions flap: nginx set no ${o.routeCookieName} routing cookie, so nothing pins a visitor to a backend`;
  }
  const down = o.directBackends.filter((b) => !b.name);
  if (down.length > 0) {
    return `sessions moved while ${down.map((b) => b.url).join(', ')} does not answer directly: a backend is failing, and its sessions fail over`;
  }
  const key =
    o.routing === 'cookie'
      ? 'the same routing cookie'
      : 'the same client address';
  return `sessions flap: nginx nodes disagree on the mapping (${key} reached different backends on different connections; every node must render the same upstreams and route ids in the same order)`;
}
