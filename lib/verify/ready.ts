/**
 * Waits until an endpoint answers with the demo backend, several times in a row. A freshly deployed load
 * balancer needs a while before its DNS name resolves and its targets pass health checks, even after nginx
 * has signalled; and one answer is not enough, because a zone whose target is still joining can fail the
 * next request (each probe opens a new connection, so consecutive answers come through different paths).
 */
import { IpFamily, probe } from './probe';
import { parseEndpoint } from './verify';

export interface WaitOptions {
  /** How long to keep trying. */
  readonly withinMs: number;
  /** @default 5000 */
  readonly intervalMs?: number;
  /** As in VerifyOptions. @default true */
  readonly tlsNameCheck?: boolean;
  /** Answers in a row that count as ready. @default 5 */
  readonly consecutive?: number;
  /** Pause between answers in a row. @default 1000 */
  readonly settleMs?: number;
  /** As in VerifyOptions. @default - the OS's choice */
  readonly family?: IpFamily;
}

/** Resolves after `consecutive` answers in a row; rejects with the last error at the deadline. */
export async function waitUntilAnswering(
  endpoint: string,
  options: WaitOptions,
): Promise<void> {
  const url = parseEndpoint(endpoint);
  const deadline = Date.now() + options.withinMs;
  const interval = options.intervalMs ?? 5_000;
  const needed = options.consecutive ?? 5;
  const settle = options.settleMs ?? 1_000;
  let inARow = 0;
  for (;;) {
    const result = await probe(url, {
      timeoutMs: Math.min(interval, 5_000),
      tlsNameCheck: options.tlsNameCheck,
      family: options.family,
    });
    inARow = result.ok ? inARow + 1 : 0;
    if (inARow >= needed) return;
    const pause = result.ok ? settle : interval;
    if (Date.now() + pause >= deadline) {
      const last = result.ok
        ? `only ${inARow} answer(s) in a row, ${needed} needed`
        : result.error;
      throw new Error(
        `${url.href} did not answer with the demo backend within ${Math.round(options.withinMs / 1000)} s: ${last}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
