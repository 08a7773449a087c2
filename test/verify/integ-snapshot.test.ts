/**
 * The integration test's committed snapshot (test/integ.sticky-edge.ts.snapshot, the cloud assembly
 * integ-runner compares against) still matches what the integ app synthesizes, offline. Asset hashes and
 * the IDs and user data derived from bundled code, and the assertions' synth-time salts, are normalised: test/cdk asserts the user data itself,
 * and a changed bundle does not change what gets deployed where. Refresh after an intended change with
 * `UPDATE_INTEG_SNAPSHOT=1 npx jest test/verify/integ-snapshot.test.ts`.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildIntegApp } from '../integ.sticky-edge';

const SNAPSHOT = path.join(__dirname, '..', 'integ.sticky-edge.ts.snapshot');

/** The assembly files integ-runner reads; bundles (asset.*), tree and metadata are left out of the repo. */
const KEPT =
  /^(manifest\.json|integ\.json|cdk\.out|.*\.template\.json|.*\.assets\.json)$/;

jest.setTimeout(120_000);

let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-integ-'));
  buildIntegApp(outdir).synth();
  if (process.env.UPDATE_INTEG_SNAPSHOT) {
    rmSync(SNAPSHOT, { recursive: true, force: true });
    mkdirSync(SNAPSHOT);
    for (const file of readdirSync(outdir).filter((f) => KEPT.test(f)))
      copyFileSync(path.join(outdir, file), path.join(SNAPSHOT, file));
  }
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function normalise(template: any): unknown {
  // integ-tests salts each assertion with the synth time, so it runs on every deploy.
  const volatile: Record<string, string> = {
    UserData: '<user data>',
    salt: '<salt>',
  };
  const text = JSON.stringify(template, (key, value) => volatile[key] ?? value)
    .replace(/[a-f0-9]{64}/g, '<asset hash>')
    // Logical IDs that carry a hash of bundled code: Lambda versions and instances replaced on user-data change.
    .replace(/([A-F0-9]{8})(?:[a-f0-9]{32}|[a-f0-9]{16})\b/g, '$1<code hash>');
  return JSON.parse(text);
}

const read = (dir: string, file: string) =>
  JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

const templates = () =>
  readdirSync(SNAPSHOT).filter((f) => f.endsWith('.template.json'));

test('the snapshot holds the edge stack and the assertion stack', () => {
  expect(templates().sort()).toEqual([
    'StickyEdgeIntegDefaultTestDeployAssert0D431ACA.template.json',
    'integ-StickyEdge.template.json',
  ]);
  expect(
    read(SNAPSHOT, 'integ.json').testCases['StickyEdgeInteg/DefaultTest']
      .stacks,
  ).toEqual(['integ-StickyEdge']);
});

test('the integ app synthesizes exactly the committed templates', () => {
  for (const file of templates())
    expect({ file, template: normalise(read(outdir, file)) }).toEqual({
      file,
      template: normalise(read(SNAPSHOT, file)),
    });
  expect(read(outdir, 'integ.json')).toEqual(read(SNAPSHOT, 'integ.json'));
});

test('the assertions call the load balancer and check the backend, the client address and a forged header', () => {
  const assertions = JSON.stringify(
    read(
      SNAPSHOT,
      'StickyEdgeIntegDefaultTestDeployAssert0D431ACA.template.json',
    ),
  );
  expect(assertions).toContain('Custom::DeployAssert@HttpCall');
  expect(assertions).toContain('x-forwarded-for');
  expect(assertions).toContain('203.0.113.9');
  expect(assertions).toContain('^app-[ab]$');
});
