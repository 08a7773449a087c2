/**
 * The local nginx nodes run the config the CDK app's user data writes: the nginx.conf in the synthesized
 * template equals what the local topology's rendering path produces for the same settings and the deployed
 * addresses, and a running topology's nodes run exactly that path's output for their local addresses.
 */
import { readFile } from 'node:fs/promises';
import { renderMainConfig } from '../../lib/nginx/render';
import { nodeHttpConfig, nodeRenderOptions } from '../../lib/local/node-config';
import { startTopology } from '../../lib/local/topology';
import type { LbKind, StickyStrategy } from '../../lib/settings';
import {
  flatten,
  logicalIdOf,
  propertiesOf,
  synthesize,
  targetOf,
  writtenNginxConf,
} from '../cdk/synth';

jest.setTimeout(120_000);

/** Stand-ins for the app servers' Elastic IPs, which the template holds as `Fn::GetAtt` tokens (text only). */
const APP_STAND_INS = ['198.51.100.20', '198.51.100.21'];

/** Every strategy and both load balancers, without synthesizing all six (each synth takes seconds). */
const MODES: [LbKind, StickyStrategy][] = [
  ['nlb', 'cookie'],
  ['alb', 'ip_hash'],
  ['alb', 'hash'],
];

describe.each(MODES)('lb=%s sticky=%s', (lb, sticky) => {
  test('the nginx.conf in the user data is what the local rendering path produces for the deployed addresses', () => {
    const s = synthesize({ lb, sticky });
    const group = propertiesOf(
      s.template,
      logicalIdOf(s.stack, s.stack.autoScalingGroup),
    );
    let userData = flatten(
      propertiesOf(s.template, targetOf(group.LaunchTemplate.LaunchTemplateId))
        .LaunchTemplateData.UserData,
    );
    s.stack.appServers.forEach(
      (server, i) =>
        (userData = userData.replaceAll(
          flatten(s.stack.resolve(server.address)),
          APP_STAND_INS[i],
        )),
    );
    const written = writtenNginxConf(userData);

    const lbSubnets: unknown[] = propertiesOf(
      s.template,
      logicalIdOf(s.stack, s.stack.loadBalancer),
    ).Subnets;
    const renderOptions = nodeRenderOptions(
      { lb, sticky },
      {
        trust: lbSubnets.map(
          (subnet) => propertiesOf(s.template, targetOf(subnet)).CidrBlock,
        ),
        // The local topology names its backends as the CDK app names its app servers; the names are route ids.
        backends: s.stack.appServers.map((server, i) => ({
          address: `${APP_STAND_INS[i]}:${s.settings.appPort}`,
          id: server.name,
        })),
      },
    );
    expect(written).toBe(
      renderMainConfig({
        http: nodeHttpConfig({ lb, sticky }, 0, renderOptions),
        user: 'nginx',
      }),
    );
  });

  test('a running topology runs that path for its own addresses, with the same backend names', async () => {
    const topology = await startTopology({ lb, sticky });
    try {
      expect(topology.backendNames).toEqual(['app-a', 'app-b']);
      for (const [i, file] of topology.nginxConfigFiles.entries()) {
        const options = topology.nodeRenderOptions[i];
        expect(options).toEqual(
          nodeRenderOptions(
            { lb, sticky },
            {
              listen: new URL(topology.nginxUrls[i]).host,
              statusListen: new URL(topology.statusUrls[i]).host,
              trust: [`${topology.lbAddress}/32`],
              backends: topology.backendUrls.map((url, b) => ({
                address: new URL(url).host,
                id: topology.backendNames[b],
              })),
            },
          ),
        );
        const indented = nodeHttpConfig({ lb, sticky }, i, options)
          .trimEnd()
          .split('\n')
          .map((line) => (line === '' ? line : `    ${line}`))
          .join('\n');
        expect(await readFile(file, 'utf8')).toContain(`\n${indented}\n}\n`);
      }
    } finally {
      await topology.stop();
    }
  });
});
