/**
 * Real TCP on loopback for the backend tests. Other suites run at the same time, so every test picks random
 * 127.x.y.z addresses (each a distinct local host, usable as server or client) and lets the OS pick ports.
 */
import * as http from 'node:http';

export function randomLoopback(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** True when the request went over a kept-alive connection. */
  readonly reusedSocket: boolean;
}

export interface RequestOptions {
  readonly path?: string;
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string;
  /** The client's own address: decides whether the backend sees a trusted proxy or a stranger. */
  readonly from?: string;
  readonly agent?: http.Agent;
}

export function request(
  url: string,
  options: RequestOptions = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(options.path ?? '/', url),
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.from,
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The `name=value` part of a Set-Cookie header, ready to send back as a Cookie header. */
export function cookieOf(reply: Reply): string {
  const setCookie = reply.headers['set-cookie'];
  if (!setCookie || setCookie.length !== 1)
    throw new Error(
      `expected one Set-Cookie, got ${JSON.stringify(setCookie)}`,
    );
  return setCookie[0].split(';')[0];
}
