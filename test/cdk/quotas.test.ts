/**
 * What one stage takes of each per-region default quota, counted from the synthesized template (the same
 * count `sticky-edge preflight` uses), and the README's promise: stages side by side plus the integ stack fit
 * a region's default quotas next to its default VPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  combined,
  DEFAULT_QUOTAS,
  largest,
  mostRulesInOneGroup,
  quotaFootprint,
  QuotaFootprint,
  stagesThatFit,
} from '../../lib/preflight/footprint';
import { buildIntegApp } from '../integ.sticky-edge';
import { synthesize } from './synth';

jest.setTimeout(180_000);

let stage: QuotaFootprint;
let other: QuotaFootprint;
let integ: QuotaFootprint[];

beforeAll(() => {
  stage = quotaFootprint(synthesize().template.toJSON());
  // A second stage in another mode: the footprint must not depend on the load balancer or TLS.
  other = quotaFootprint(
    synthesize({
      stage: 'bob',
      lb: 'alb',
      sticky: 'cookie',
      certificateArn:
        'arn:aws:acm:eu-west-1:123456789012:certificate/0b8d3f9c-1c2a-4d5e-8f90-123456789abc',
    }).template.toJSON(),
  );
  const outdir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-quotas-'));
  try {
    const assembly = buildIntegApp(outdir).synth();
    // The integ app: the stage `integ` and integ-tests' assertion stack.
    integ = assembly.stacks.map((s) => quotaFootprint(s.template));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

describe('one stage with the default settings', () => {
  test('takes one VPC and one internet gateway', () => {
    expect(stage.vpcs).toBe(1);
    expect(stage.internetGateways).toBe(1);
  });

  test('takes one Elastic IP', () => {
    expect(stage.elasticIps).toBe(1);
  });

  test('takes at most one NAT gateway per AZ', () => {
    expect(largest(stage.natGatewaysPerAz)).toBeLessThanOrEqual(1);
  });

  test('keeps security groups and their rules far below the quotas', () => {
    const groups = Object.values(stage.securityGroupsPerVpc).reduce(
      (a, b) => a + b,
      0,
    );
    expect(groups).toBeLessThanOrEqual(10);
    expect(mostRulesInOneGroup(stage)).toBeLessThanOrEqual(
      DEFAULT_QUOTAS.rulesPerSecurityGroup / 4,
    );
  });

  test('the load balancer, sticky mode and TLS do not change what it takes', () => {
    expect({
      elasticIps: other.elasticIps,
      vpcs: other.vpcs,
      internetGateways: other.internetGateways,
      nat: largest(other.natGatewaysPerAz),
    }).toEqual({
      elasticIps: stage.elasticIps,
      vpcs: stage.vpcs,
      internetGateways: stage.internetGateways,
      nat: largest(stage.natGatewaysPerAz),
    });
  });
});

describe('a dual-stack stage (ipv6=true)', () => {
  let dualStack: QuotaFootprint;
  beforeAll(() => {
    dualStack = quotaFootprint(
      synthesize({ stage: 'six', ipv6: 'true' }).template.toJSON(),
    );
  });

  test('adds one egress-only internet gateway and nothing else a quota counts; its IPv6 rules stay far below their own quota', () => {
    expect(dualStack.egressOnlyInternetGateways).toBe(1);
    expect(stage.egressOnlyInternetGateways).toBe(0);
    expect({
      elasticIps: dualStack.elasticIps,
      vpcs: dualStack.vpcs,
      internetGateways: dualStack.internetGateways,
      nat: largest(dualStack.natGatewaysPerAz),
    }).toEqual({
      elasticIps: stage.elasticIps,
      vpcs: stage.vpcs,
      internetGateways: stage.internetGateways,
      nat: largest(stage.natGatewaysPerAz),
    });
    expect(mostRulesInOneGroup(dualStack)).toBeLessThanOrEqual(
      DEFAULT_QUOTAS.rulesPerSecurityGroup / 4,
    );
  });

  test('two stages and the integ stack still fit when one of them is dual-stack', () => {
    expect(stagesThatFit(combined(dualStack, other, ...integ)).count).toBe(1);
  });
});

test('two stages and the integ stack fit the default quotas next to the default VPC', () => {
  // On failure the received value names the quota that binds first.
  expect(stagesThatFit(combined(stage, other, ...integ))).toEqual({
    count: 1,
    limitedBy: expect.any(String),
  });
});
