import { DEFAULT_SETTINGS, parseSettings, SettingKey } from '../lib/settings';

const from = (values: Partial<Record<SettingKey, unknown>>) =>
  parseSettings((key) => values[key]);

describe('parseSettings', () => {
  test('fills every default when nothing is set', () => {
    expect(from({})).toEqual(DEFAULT_SETTINGS);
  });

  test('reads strings from -c and numbers from cdk.json alike', () => {
    const s = from({
      lb: 'alb',
      sticky: 'cookie',
      appPort: '8080',
      nginxMinCapacity: 3,
      cookieTtl: '600',
      upstreamTimeout: '5',
      hashIpv6Prefix: '128',
      stage: 'team-a',
    });
    expect(s).toMatchObject({
      lb: 'alb',
      sticky: 'cookie',
      appPort: 8080,
      nginxMinCapacity: 3,
      nginxMaxCapacity: 4,
      cookieTtlSeconds: 600,
      upstreamTimeoutSeconds: 5,
      hashIpv6Prefix: 128,
      stage: 'team-a',
    });
  });

  test('reads the scaling, log and alarm settings from -c strings and cdk.json values', () => {
    expect(
      from({
        nginxScaleCpuPercent: '60',
        nginxDrainSeconds: 600,
        nginxWebSocketDrainSeconds: '0',
        logRetentionDays: '30',
        alarms: 'true',
        alarmBackendSharePercent: 90,
      }),
    ).toMatchObject({
      nginxScaleCpuPercent: 60,
      nginxDrainSeconds: 600,
      nginxWebSocketDrainSeconds: 0,
      logRetentionDays: 30,
      alarms: true,
      alarmBackendSharePercent: 90,
    });
    expect(from({ alarms: false }).alarms).toBe(false);
  });

  test('ipv6 is off by default and read from -c strings and cdk.json booleans', () => {
    expect(from({}).ipv6).toBe(false);
    expect(from({ ipv6: 'true' }).ipv6).toBe(true);
    expect(from({ ipv6: true }).ipv6).toBe(true);
    expect(from({ ipv6: 'false' }).ipv6).toBe(false);
  });

  test('raises the default maximum to a larger minimum', () => {
    expect(from({ nginxMinCapacity: 6 }).nginxMaxCapacity).toBe(6);
  });

  test.each([
    ['lb', 'elb', /^lb must be nlb or alb, got "elb"$/],
    [
      'sticky',
      'bogus',
      /^sticky must be ip_hash, hash or cookie, got "bogus"$/,
    ],
    ['stage', 'Prod_1', /^stage must be .*got "Prod_1"$/],
    [
      'nginxInstanceType',
      't3 micro',
      /^nginxInstanceType must be .*got "t3 micro"$/,
    ],
    ['appInstanceType', 'large', /^appInstanceType must be .*got "large"$/],
    ['nginxMinCapacity', '1', /^nginxMinCapacity must be .*got "1"$/],
    ['nginxMaxCapacity', 'x', /^nginxMaxCapacity must be .*got "x"$/],
    ['appPort', '80', /^appPort must be a port from 1024 to 65535, got "80"$/],
    ['appPort', '3000.5', /^appPort must be .*got "3000.5"$/],
    ['amiId', 'ami-xyz', /^amiId must be .*got "ami-xyz"$/],
    [
      'certificateArn',
      'arn:aws:iam::123456789012:server-certificate/x',
      /^certificateArn must be .*got "arn:aws:iam/,
    ],
    ['cookieTtl', '5', /^cookieTtl must be .*got "5"$/],
    // nginx reads the cookie as $cookie_NAME, and a variable name ends at "-" or ".": it would never match.
    [
      'cookieName',
      'my-route',
      /^cookieName must be 1-64 letters, digits or underscores .*got "my-route"$/,
    ],
    ['cookieName', 'route.v2', /^cookieName must be .*got "route.v2"$/],
    ['cookieName', 'a'.repeat(65), /^cookieName must be .*got "a{65}"$/],
    // The demo app's own session cookie, in any case (nginx compares cookie names without regard to case).
    [
      'cookieName',
      'SESSION',
      /^cookieName must be .*not "session" .*got "SESSION"$/,
    ],
    ['cookieName', '', /^cookieName must be .*got ""$/],
    [
      'cookieSameSite',
      'lax',
      /^cookieSameSite must be Lax, Strict or None, got "lax"$/,
    ],
    ['cookieSameSite', '', /^cookieSameSite must be .*got ""$/],
    [
      'upstreamTimeout',
      '0',
      /^upstreamTimeout must be a whole number of seconds from 1 to 3600, got "0"$/,
    ],
    ['upstreamTimeout', '10s', /^upstreamTimeout must be .*got "10s"$/],
    ['upstreamTimeout', '3601', /^upstreamTimeout must be .*got "3601"$/],
    [
      'hashIpv6Prefix',
      '96',
      /^hashIpv6Prefix must be 64 .* or 128 .*got "96"$/,
    ],
    ['hashIpv6Prefix', '/64', /^hashIpv6Prefix must be .*got "\/64"$/],
    ['natGateways', '3', /^natGateways must be 1 or 2 .*got "3"$/],
    ['natGateways', '0', /^natGateways must be .*got "0"$/],
    [
      'availabilityZones',
      'us-east-1a',
      /^availabilityZones must be two distinct .*got "us-east-1a"$/,
    ],
    [
      'availabilityZones',
      'us-east-1a,us-east-1a',
      /^availabilityZones must be .*got "us-east-1a,us-east-1a"$/,
    ],
    [
      'availabilityZones',
      'us-east-1a,us-west-2a',
      /^availabilityZones must be .*one region.*got "us-east-1a,us-west-2a"$/,
    ],
    [
      'availabilityZones',
      'us-east-1a,us-east-1b,us-east-1c',
      /^availabilityZones must be .*got "us-east-1a,us-east-1b,us-east-1c"$/,
    ],
    [
      'availabilityZones',
      'use1-az1,use1-az2',
      /^availabilityZones must be .*got "use1-az1,use1-az2"$/,
    ],
    ['nginxScaleCpuPercent', '95', /^nginxScaleCpuPercent must be .*got "95"$/],
    ['nginxScaleCpuPercent', '5', /^nginxScaleCpuPercent must be .*got "5"$/],
    ['nginxDrainSeconds', '3601', /^nginxDrainSeconds must be .*got "3601"$/],
    [
      'nginxWebSocketDrainSeconds',
      '28801',
      /^nginxWebSocketDrainSeconds must be a whole number of seconds from 0 \(no lifecycle hook\) to 28800 .*got "28801"$/,
    ],
    [
      'nginxWebSocketDrainSeconds',
      '-1',
      /^nginxWebSocketDrainSeconds must be .*got "-1"$/,
    ],
    [
      'nginxWebSocketDrainSeconds',
      '1h',
      /^nginxWebSocketDrainSeconds must be .*got "1h"$/,
    ],
    [
      'logRetentionDays',
      '10',
      /^logRetentionDays must be one of 1, 3, .*got "10"$/,
    ],
    ['logRetentionDays', 'week', /^logRetentionDays must be .*got "week"$/],
    ['alarms', 'yes', /^alarms must be true or false, got "yes"$/],
    ['ipv6', 'yes', /^ipv6 must be true or false, got "yes"$/],
    ['ipv6', '1', /^ipv6 must be true or false, got "1"$/],
    ['ipv6', 'TRUE', /^ipv6 must be true or false, got "TRUE"$/],
    ['ipv6', '', /^ipv6 must be true or false, got ""$/],
    [
      'alarmBackendSharePercent',
      '50',
      /^alarmBackendSharePercent must be .*from 51 to 100, got "50"$/,
    ],
    // Empty values were read as unset and silently became the default.
    ['stage', '', /^stage must be a lowercase name .*got ""$/],
    ['lb', '', /^lb must be nlb or alb, got ""$/],
    ['sticky', '', /^sticky must be ip_hash, hash or cookie, got ""$/],
    ['cookieTtl', '', /^cookieTtl must be a whole number .*got ""$/],
    ['nginxInstanceType', '', /^nginxInstanceType must be .*got ""$/],
    ['certificateArn', '', /^certificateArn must be .*got ""$/],
    ['availabilityZones', '', /^availabilityZones must be .*got ""$/],
    ['natGateways', '', /^natGateways must be .*got ""$/],
    // Not a partition: only aws, aws-cn, aws-us-gov and the ISO partitions are.
    [
      'certificateArn',
      'arn:awsevil-:acm:us-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
      /^certificateArn must be an ACM certificate ARN, got "arn:awsevil-:acm:/,
    ],
    // A certificate id is a UUID (8-4-4-4-12 hex), not 36 of anything.
    [
      'certificateArn',
      `arn:aws:acm:us-east-1:123456789012:certificate/${'-'.repeat(36)}`,
      /^certificateArn must be an ACM certificate ARN, got "arn:aws:acm:us-east-1:123456789012:certificate\/-{36}"$/,
    ],
    [
      'certificateArn',
      'arn:aws:acm:us-east-1:123456789012:certificate/0b7c1a2e3f4d4e5f8a9b0c1d2e3f4a5b0000',
      /^certificateArn must be .*got "arn:aws:acm:us-east-1:123456789012:certificate\/0b7c1a2e3f4d/,
    ],
  ] as const)('fails when %s is %j', (key, value, message) => {
    expect(() => from({ [key]: value })).toThrow(message);
  });

  test.each([
    'arn:aws:acm:us-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
    'arn:aws-cn:acm:cn-north-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
    'arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
    'arn:aws-iso-b:acm:us-isob-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
  ])('accepts the certificate ARN %s', (arn) => {
    expect(from({ certificateArn: arn }).certificateArn).toBe(arn);
  });

  test('reads the routing cookie name and SameSite; None with a certificate', () => {
    expect(from({})).toMatchObject({
      cookieName: 'sticky_edge_route',
      cookieSameSite: 'Lax',
    });
    expect(
      from({ cookieName: 'App_Route_2', cookieSameSite: 'Strict' }),
    ).toMatchObject({ cookieName: 'App_Route_2', cookieSameSite: 'Strict' });
    expect(
      from({
        cookieSameSite: 'None',
        certificateArn:
          'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
      }).cookieSameSite,
    ).toBe('None');
  });

  test('fails when cookieSameSite is None without a certificate (browsers drop a SameSite=None cookie that is not Secure)', () => {
    expect(() => from({ cookieSameSite: 'None' })).toThrow(
      /^cookieSameSite None needs certificateArn: browsers drop a SameSite=None cookie that is not Secure, and the routing cookie is Secure only behind TLS$/,
    );
  });

  test('fails when the maximum is below the minimum', () => {
    expect(() => from({ nginxMinCapacity: 4, nginxMaxCapacity: 3 })).toThrow(
      /^nginxMaxCapacity must be .*got 3 \(nginxMinCapacity is 4\)$/,
    );
  });

  test('reads two zones of one region from a comma-separated value or a list', () => {
    expect(from({ availabilityZones: 'us-east-1b, us-east-1c' })).toMatchObject(
      { availabilityZones: ['us-east-1b', 'us-east-1c'] },
    );
    expect(
      from({ availabilityZones: ['ap-southeast-2a', 'ap-southeast-2c'] })
        .availabilityZones,
    ).toEqual(['ap-southeast-2a', 'ap-southeast-2c']);
    expect(from({}).availabilityZones).toBeUndefined();
  });

  test('reads natGateways 1 or 2, 1 by default', () => {
    expect(from({}).natGateways).toBe(1);
    expect(from({ natGateways: '2' }).natGateways).toBe(2);
    expect(from({ natGateways: 2 }).natGateways).toBe(2);
  });

  test('accepts a pinned AMI and an ACM certificate', () => {
    const s = from({
      amiId: 'ami-0123456789abcdef0',
      certificateArn:
        'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
    });
    expect(s.amiId).toBe('ami-0123456789abcdef0');
    expect(s.certificateArn).toMatch(/^arn:aws:acm/);
  });
});

describe('appCount and backends', () => {
  test('reads appCount from -c strings and cdk.json numbers', () => {
    expect(from({ appCount: '8' }).appCount).toBe(8);
    expect(from({ appCount: 1 }).appCount).toBe(1);
    expect(from({}).backends).toBeUndefined();
  });

  test('reads backends, naming unnamed ones by position', () => {
    expect(
      from({ backends: '198.51.100.7:8080, web=10.1.2.3:80,10.1.2.3:81' })
        .backends,
    ).toEqual([
      { name: 'backend-1', host: '198.51.100.7', port: 8080 },
      { name: 'web', host: '10.1.2.3', port: 80 },
      { name: 'backend-3', host: '10.1.2.3', port: 81 },
    ]);
    expect(from({ backends: ['198.51.100.7:80'] }).backends).toEqual([
      { name: 'backend-1', host: '198.51.100.7', port: 80 },
    ]);
  });

  test.each([
    [
      'appCount',
      '0',
      /^appCount must be a whole number of demo app servers from 1 to 8, got "0"$/,
    ],
    ['appCount', '9', /^appCount must be .*got "9"$/],
    ['appCount', 'two', /^appCount must be .*got "two"$/],
    ['appCount', '', /^appCount must be .*got ""$/],
    ['backends', '', /^backends must be .*got ""$/],
    [
      'backends',
      'app.example.com:80',
      /^backends must be 1 to 8 comma-separated IPV4:PORT .*got "app.example.com:80"$/,
    ],
    ['backends', '198.51.100.7', /^backends must be .*got "198.51.100.7"$/],
    ['backends', '198.51.100.7:0', /^backends must be .*got "198.51.100.7:0"$/],
    [
      'backends',
      '198.51.100.7:65536',
      /^backends must be .*got "198.51.100.7:65536"$/,
    ],
    [
      'backends',
      '198.51.100.256:80',
      /^backends must be .*got "198.51.100.256:80"$/,
    ],
    [
      'backends',
      '[2001:db8::1]:80',
      /^backends must be .*got "\[2001:db8::1\]:80"$/,
    ],
    ['backends', '127.0.0.1:80', /^backends must be .*got "127.0.0.1:80"$/],
    [
      'backends',
      '169.254.169.254:80',
      /^backends must be .*got "169.254.169.254:80"$/,
    ],
    ['backends', '0.0.0.0:80', /^backends must be .*got "0.0.0.0:80"$/],
    ['backends', '224.0.0.1:80', /^backends must be .*got "224.0.0.1:80"$/],
    [
      'backends',
      '255.255.255.255:80',
      /^backends must be .*got "255.255.255.255:80"$/,
    ],
    [
      'backends',
      'Web=10.0.0.1:80',
      /^backends must be .*got "Web=10.0.0.1:80"$/,
    ],
    ['backends', '10.0.0.1:80,', /^backends must be .*got ""$/],
    [
      'backends',
      '10.0.0.1:80,10.0.0.1:80',
      /^backends must name each server once, got "10.0.0.1:80" twice/,
    ],
    [
      'backends',
      'a=10.0.0.1:80,a=10.0.0.2:80',
      /^backends must name each server once, got "a" twice/,
    ],
    [
      'backends',
      'backend-2=10.0.0.1:80,10.0.0.2:80',
      /^backends must name each server once, got "backend-2" twice/,
    ],
    [
      'backends',
      Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}:80`).join(','),
      /^backends must be 1 to 8 .*got "10.0.0.1:80,/,
    ],
  ] as const)('fails when %s is %j', (key, value, message) => {
    expect(() => from({ [key]: value })).toThrow(message);
  });

  test('sticky=cookie takes as many app servers as the other strategies (its nginx.conf is compressed), and fails when more than 8', () => {
    const eight = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}:80`);
    expect(from({ sticky: 'cookie', appCount: '8' }).appCount).toBe(8);
    expect(
      from({ sticky: 'cookie', backends: eight.join(',') }).backends,
    ).toHaveLength(8);
    expect(() => from({ sticky: 'cookie', appCount: '9' })).toThrow(
      /^appCount must be a whole number of demo app servers from 1 to 8, got "9"$/,
    );
    expect(() =>
      from({ sticky: 'cookie', backends: [...eight, '10.0.0.9:80'].join(',') }),
    ).toThrow(/^backends must be 1 to 8 .*got "10.0.0.1:80,/);
  });

  test('fails when appCount and backends are both set', () => {
    expect(() => from({ appCount: '3', backends: '198.51.100.7:80' })).toThrow(
      /^appCount "3" and backends "198.51.100.7:80" exclude each other/,
    );
  });
});
