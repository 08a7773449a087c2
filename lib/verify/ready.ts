/**
 * Waits until an endpoint answers with the demo backend. A freshly deployed load balancer needs a while
 * before its DNS name resolves and its targets pass health checks, even after nginx has signalled.
 */
import { probe } from './probe';
import { parseEndpoint } from './verify';

export interface WaitOptions {
  /** How long to keep trying. */
  readonly withinMs: number;
  /** @default 5000 */
  readonly intervalMs?: number;
  /** As in VerifyOptions. @default true */
  readonly tlsNameCheck?: boolean;
}

/** Resolves once one request is answered by the demo backend; rejects with the last error at the deadline. */
export async function waitUntilAnswering(
  endpoint: string,
  options: WaitOptions,
): Promise<void> {
  const url = parseEndpoint(endpoint);
  const deadline = Date.now() + options.withinMs;
  const interval = options.intervalMs ?? 5_000;
  for (;;) {
    const result = await probe(url, {
      timeoutMs: Math.min(interval, 5_000),
      tlsNameCheck: options.tlsNameCheck,
    });
    if (result.ok) return;
    if (Date.now() + interval >= deadline) {
      throw new Error(
        `${url.href} did not answer with the demo backend within ${Math.round(options.withinMs / 1000)} s: ${result.error}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
