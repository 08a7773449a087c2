/**
 * The renderer's contract: the whole nginx.conf an Amazon Linux instance writes, for every lb × strategy × TLS
 * variant and one with the routing cookie renamed and SameSite=None, compared byte for byte with the reviewed
 * files in test/nginx/golden/. A change to the rendered text shows up here as a diff to review. After an intended change, refresh them with
 * `UPDATE_GOLDEN=1 npx jest test/nginx/golden.test.ts` and review the diff before committing it.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { amazonLinuxNginxConf } from '../../lib/nginx/nginx-options';
import { LB_KINDS, STICKY_STRATEGIES } from '../../lib/settings';

const GOLDEN = path.join(__dirname, 'golden');
const UPDATE = Boolean(process.env.UPDATE_GOLDEN);

/** Fixed addresses: two load-balancer subnets, two app servers named as the CDK app names them. */
const EDGE = {
  listen: '80',
  statusListen: '127.0.0.1:8081',
  trust: ['10.40.0.0/24', '10.40.1.0/24'],
  backends: [
    { address: '198.51.100.10:3000', id: 'app-a' },
    { address: '198.51.100.11:3000', id: 'app-b' },
  ],
  cookieTtlSeconds: 3600,
};

const VARIANTS = [
  ...LB_KINDS.flatMap((lb) =>
    STICKY_STRATEGIES.flatMap((sticky) =>
      [false, true].map((tls) => ({
        file: `${lb}-${sticky}${tls ? '-tls' : ''}.conf`,
        options: { ...EDGE, lb, sticky, tls },
      })),
    ),
  ),
  // An app embedded cross-site: the routing cookie renamed, SameSite=None (TLS, Partitioned).
  {
    file: 'nlb-cookie-tls-embedded.conf',
    options: {
      ...EDGE,
      lb: 'nlb' as const,
      sticky: 'cookie' as const,
      tls: true,
      cookieName: 'app_route',
      cookieSameSite: 'None' as const,
    },
  },
];

/** Drained variants: app-b drained under each strategy (behind an nlb, no TLS). */
VARIANTS.push(
  ...STICKY_STRATEGIES.map((sticky) => ({
    file: `nlb-${sticky}-drain.conf`,
    options: {
      ...EDGE,
      lb: 'nlb' as const,
      sticky,
      tls: false,
      drain: ['app-b'],
    },
  })),
);

beforeAll(() => {
  if (!UPDATE) return;
  rmSync(GOLDEN, { recursive: true, force: true });
  mkdirSync(GOLDEN);
  for (const { file, options } of VARIANTS)
    writeFileSync(path.join(GOLDEN, file), amazonLinuxNginxConf(options));
});

test('there is one golden file per variant and no other', () => {
  expect(VARIANTS).toHaveLength(16);
  expect(readdirSync(GOLDEN).sort()).toEqual(
    VARIANTS.map((v) => v.file).sort(),
  );
});

test.each(VARIANTS.map((v) => [v.file, v.options] as const))(
  '%s matches the rendered nginx.conf',
  (file, options) => {
    expect(amazonLinuxNginxConf(options)).toBe(
      readFileSync(path.join(GOLDEN, file), 'utf8'),
    );
  },
);
