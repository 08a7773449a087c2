/**
 * client-address: the backends report the caller's own address, and nginx's X-Real-IP and first
 * X-Forwarded-For entry agree with it.
 */
import { addressKind } from '../addresses';
import { samples, who } from './evidence';
import {
  allAnswered,
  Answered,
  defineCheck,
  distinct,
  firstXff,
  Observations,
} from './observations';

export const clientAddress = defineCheck(
  {
    id: 'client-address',
    title: "backends see the caller's own address",
    diagnoses: [
      'backends see their TCP peer: nginx sends no X-Real-IP / X-Forwarded-For they trust',
      "one address for every client (the load balancer's, or a private one): nginx reads neither the PROXY header (NLB) nor X-Forwarded-For (ALB)",
      "another address than the caller's: an address-rewriting hop is not accounted for",
      'nginx sends no X-Real-IP',
      'X-Real-IP or the first X-Forwarded-For entry disagrees with the client address',
    ],
  },
  (o) => {
    const { id, title } = clientAddress;
    if (o.app === 'own')
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: [
          "the team's own backends: only the demo backend reports the address it derives, so what the app sees is not checked",
        ],
      };
    const answers = allAnswered(o, false);
    if (answers.length === 0)
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: ['no request answered'],
      };
    const problems = answers.flatMap((x) => {
      const problem = addressProblem(o, x);
      return problem ? [{ x, problem }] : [];
    });
    const seen = distinct(answers.map((x) => x.answer.clientIp));
    const known = o.expectedClientIps(answers[0].localAddress) !== undefined;
    const summary = `${answers.length} answers; backends reported ${seen.length} distinct client address(es): ${seen.slice(0, 6).join(', ')}${seen.length > 6 ? ', …' : ''}`;
    if (problems.length === 0) {
      const how = known
        ? 'each equals the address the request left from'
        : "this caller's public address is not known here: checked that it is public, not the load balancer's, and that X-Real-IP and X-Forwarded-For agree";
      return { id, title, status: 'pass', evidence: [summary, how] };
    }
    const evidence = [
      summary,
      `${problems.length} of ${answers.length} answers wrong`,
      ...samples(problems.map((p) => p.x)).map((x) => describeAnswer(o, x)),
    ];
    const wrong = problems
      .filter((p) => p.problem === 'wrong-client')
      .map((p) => p.x);
    const diagnosis =
      wrong.length > 0
        ? wrongClientDiagnosis(o, wrong)
        : headersDisagreeDiagnosis(problems[0].x);
    return { id, title, status: 'fail', evidence, diagnosis };
  },
);

type AddressProblem = 'wrong-client' | 'headers-disagree';

function addressProblem(
  o: Observations,
  x: Answered,
): AddressProblem | undefined {
  const { clientIp } = x.answer;
  const expected = o.expectedClientIps(x.localAddress);
  const wrong = expected
    ? !expected.includes(clientIp)
    : addressKind(clientIp) !== 'public' ||
      o.endpointAddresses.includes(clientIp);
  if (wrong) return 'wrong-client';
  if (x.answer.realIp !== clientIp || firstXff(x.answer) !== clientIp)
    return 'headers-disagree';
  return undefined;
}

function describeAnswer(o: Observations, x: Answered): string {
  const expected = o.expectedClientIps(x.localAddress);
  const want = expected ? `, expected ${expected.join(' or ')}` : '';
  const a = x.answer;
  return `${who(x.session)}: clientIp ${a.clientIp}, X-Real-IP ${a.realIp ?? '(none)'}, X-Forwarded-For ${a.forwardedFor ?? '(none)'}${want}`;
}

function wrongClientDiagnosis(
  o: Observations,
  wrong: readonly Answered[],
): string {
  const reported = distinct(wrong.map((x) => x.answer.clientIp));
  // The peer standing in for the client is a fault only when nginx's headers named someone else (or nobody).
  if (
    wrong.every(
      (x) =>
        x.answer.clientIp === x.answer.peer &&
        x.answer.realIp !== x.answer.clientIp,
    )
  ) {
    return `backends see their TCP peer (${reported.join(', ')}) as the client: nginx sends no X-Real-IP / X-Forwarded-For the backends trust`;
  }
  const callers = distinct(
    wrong.flatMap((x) => o.expectedClientIps(x.localAddress) ?? []),
  );
  const oneForAll =
    reported.length === 1 &&
    (callers.length > 1 ||
      o.endpointAddresses.includes(reported[0]) ||
      addressKind(reported[0]) === 'private');
  if (oneForAll) {
    const kind =
      addressKind(reported[0]) === 'private' ? 'a private address, ' : '';
    return `backends see ${reported[0]} (${kind}the same for every client): nginx is not reading the PROXY header (NLB) or the load balancer's X-Forwarded-For (ALB), so it reports and hashes the load balancer's address`;
  }
  const want = callers.length > 0 ? callers.join(', ') : 'a public address';
  return `backends see ${reported.slice(0, 3).join(', ')}, not the caller's address (${want}): an address-rewriting hop between the load balancer and the backends is not accounted for`;
}

function headersDisagreeDiagnosis(x: Answered): string {
  const a = x.answer;
  if (a.realIp === null)
    return `nginx sends no X-Real-IP (the backend reports ${a.clientIp})`;
  return `the headers disagree with the client address ${a.clientIp} (X-Real-IP ${a.realIp}, first X-Forwarded-For entry ${firstXff(a) ?? '(none)'}): nginx forwards a header it did not set from the real client address`;
}
