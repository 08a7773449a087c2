/**
 * forged-headers: a request carrying forged X-Forwarded-For / X-Real-IP is answered as its session's plain
 * requests are: same backend, same client address, the forged values not passed on first.
 */
import type { BackendAnswer } from '../probe';
import { samples, who } from './evidence';
import {
  Answered,
  answered,
  baseline,
  defineCheck,
  firstXff,
} from './observations';

type ForgeryEffect =
  'believed-xff' | 'believed-real-ip' | 'moved' | 'passed-on' | 'changed';

/** Worst first: the diagnosis names the worst effect seen. */
const FORGERY_DIAGNOSES: Record<ForgeryEffect, string> = {
  'believed-xff':
    'client chose its own address with X-Forwarded-For: nginx trusts every address (set_real_ip_from must list only the load balancer)',
  'believed-real-ip':
    'client chose its own address with X-Real-IP: a hop takes X-Real-IP from the client instead of setting it',
  moved:
    'a forged header moved the session to another backend: nginx routes on an address the client chose',
  'passed-on':
    "backends receive the client's forged value as the first X-Forwarded-For entry: nginx appends to the client's header ($proxy_add_x_forwarded_for) instead of sending the real address first",
  changed:
    'a forged header changed the address the backends report: a hop believes client-supplied forwarding headers',
};

export const forgedHeaders = defineCheck(
  {
    id: 'forged-headers',
    title:
      'forged X-Forwarded-For / X-Real-IP change neither the address nor the backend',
    diagnoses: Object.values(FORGERY_DIAGNOSES).map((d) => d.split(':')[0]),
  },
  (o) => {
    const { id, title } = forgedHeaders;
    const results = o.sessions.flatMap((session) => {
      const base = baseline(session);
      return base
        ? answered(session, true).map((x) => ({
            x,
            effect: forgeryEffect(x, base),
          }))
        : [];
    });
    if (results.length === 0)
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: ['no forged request answered next to a plain one'],
      };
    const bad = results.filter((r) => r.effect !== undefined);
    if (bad.length === 0) {
      return {
        id,
        title,
        status: 'pass',
        evidence: [
          o.app === 'own'
            ? `${results.length} forged requests: backend unchanged (the team's own backends: the address the app sees is not checked)`
            : `${results.length} forged requests: address and backend unchanged`,
        ],
      };
    }
    const evidence = [
      `${bad.length} of ${results.length} forged requests changed something`,
      ...samples(bad.map((r) => r.x)).map((x) => {
        const f = x.exchange.forged;
        return `${who(x.session)} sent X-Forwarded-For ${f?.forwardedFor}, X-Real-IP ${f?.realIp}: backend ${x.answer.backend}, clientIp ${x.answer.clientIp}, X-Forwarded-For ${x.answer.forwardedFor ?? '(none)'}`;
      }),
    ];
    const order = Object.keys(FORGERY_DIAGNOSES) as ForgeryEffect[];
    const worst =
      order.find((effect) => bad.some((r) => r.effect === effect)) ?? 'changed';
    return {
      id,
      title,
      status: 'fail',
      evidence,
      diagnosis: FORGERY_DIAGNOSES[worst],
    };
  },
);

function forgeryEffect(
  x: Answered,
  base: BackendAnswer,
): ForgeryEffect | undefined {
  const forged = x.exchange.forged;
  if (!forged) return undefined;
  const a = x.answer;
  if (a.clientIp === forged.forwardedFor) return 'believed-xff';
  if (a.clientIp === forged.realIp) return 'believed-real-ip';
  if (a.backend !== base.backend) return 'moved';
  if (firstXff(a) === forged.forwardedFor || a.realIp === forged.realIp)
    return 'passed-on';
  if (a.clientIp !== base.clientIp) return 'changed';
  return undefined;
}
