/**
 * reachable: every request the run planned was sent and answered through the edge by a backend: the demo
 * backend's JSON, or, for the team's own backends, an answer nginx names the backend of.
 */
import { few } from './evidence';
import { defineCheck, distinct } from './observations';

export const reachable = defineCheck(
  {
    id: 'reachable',
    title: 'the edge answers with a backend',
    diagnoses: [
      "own backends: nginx names no backend to this caller (revealBackendTo must list the caller's address)",
      '400: the load balancer and nginx disagree on PROXY protocol',
      '502/504: nginx cannot reach the backends',
      'the run reached its deadline: the edge answers too slowly',
      'otherwise: the edge does not answer reliably',
    ],
  },
  (o) => {
    const { id, title } = reachable;
    const exchanges = o.sessions.flatMap((s) => s.exchanges);
    const failed = exchanges.flatMap((e) => (e.result.ok ? [] : [e.result]));
    const evidence = [
      `${exchanges.length - failed.length} of ${exchanges.length + o.skipped} requests answered`,
    ];
    if (failed.length === 0 && o.skipped === 0)
      return { id, title, status: 'pass', evidence };
    evidence.push(...few(distinct(failed.map((f) => f.error))));
    if (o.skipped > 0)
      evidence.push(
        `${o.skipped} requests not sent: the run reached its deadline`,
      );
    const statuses = new Set(failed.map((f) => f.status));
    let diagnosis = `${failed.length} requests failed: the edge does not answer reliably`;
    if (statuses.has(400)) {
      diagnosis =
        'the edge answers 400 Bad Request: the load balancer and nginx disagree on PROXY protocol (a PROXY header sent to a plain listen, or none sent to `listen … proxy_protocol`)';
    } else if (
      o.app === 'own' &&
      failed.every((f) => f.status !== undefined && f.status < 500)
    ) {
      diagnosis =
        "the edge answers but names no backend (X-Sticky-Edge-Backend): nginx reveals the backend only to the addresses its revealBackendTo lists, and this caller's is not one of them";
    } else if (statuses.has(502) || statuses.has(504)) {
      diagnosis =
        'the edge answers 502/504: nginx cannot reach the backends (check the backends and the security groups between the NAT and them)';
    } else if (failed.length === 0) {
      diagnosis =
        'the run stopped at its deadline before every request was sent: the edge answers too slowly';
    }
    return { id, title, status: 'fail', evidence, diagnosis };
  },
);
