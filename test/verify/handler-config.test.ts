/** The Lambda handler refuses a broken environment (set by DeployCheck) before calling AWS or the edge. */
import { CheckClients, createHandler } from '../../lambda/verify';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';

const clients: CheckClients = {
  ec2: { send: jest.fn() },
  cloudFormation: { send: jest.fn() },
};

const good = {
  [VERIFY_ENV.url]: 'http://127.0.0.1:9/',
  [VERIFY_ENV.sticky]: 'cookie',
  [VERIFY_ENV.vpcId]: 'vpc-edge',
  [VERIFY_ENV.stackId]:
    'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-StickyEdge/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
  [VERIFY_ENV.sessions]: '20',
  [VERIFY_ENV.requestsPerSession]: '4',
  [VERIFY_ENV.readyWithinSeconds]: '380',
};

test.each([
  [
    { ...good, [VERIFY_ENV.url]: '' },
    'environment variable VERIFY_URL is not set',
  ],
  [
    { ...good, [VERIFY_ENV.vpcId]: undefined },
    'environment variable VERIFY_VPC_ID is not set',
  ],
  [
    { ...good, [VERIFY_ENV.stackId]: undefined },
    'environment variable VERIFY_STACK_ID is not set',
  ],
  [
    { ...good, [VERIFY_ENV.sticky]: 'sticky' },
    'VERIFY_STICKY must be ip_hash, hash or cookie, got "sticky"',
  ],
  [
    { ...good, [VERIFY_ENV.app]: 'mine' },
    'VERIFY_APP must be demo or own, got "mine"',
  ],
  [
    {
      ...good,
      [VERIFY_ENV.app]: 'own',
      [VERIFY_ENV.backendUrls]: 'http://203.0.113.10:8080',
      [VERIFY_ENV.backendNames]: 'web-1,web-2',
    },
    'VERIFY_BACKEND_NAMES must name each of the 1 backend URLs, got ["web-1","web-2"]',
  ],
  [
    { ...good, [VERIFY_ENV.sessions]: 'many' },
    'environment variable VERIFY_SESSIONS must be a whole number, got "many"',
  ],
  [
    { ...good, [VERIFY_ENV.routeCookie]: 'my-route' },
    'VERIFY_ROUTE_COOKIE must be 1-64 letters, digits or underscores',
  ],
])('fails when the environment is %j', async (env, message) => {
  await expect(createHandler(clients, env)()).rejects.toThrow(message);
  expect(clients.ec2.send).not.toHaveBeenCalled();
  expect(clients.cloudFormation.send).not.toHaveBeenCalled();
});
