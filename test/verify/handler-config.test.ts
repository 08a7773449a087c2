/** The Lambda handler refuses a broken environment (set by DeployCheck) before calling EC2 or the edge. */
import { createHandler, NatGatewayDescriber } from '../../lambda/verify';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';

const ec2: NatGatewayDescriber = { send: jest.fn() };

const good = {
  [VERIFY_ENV.url]: 'http://127.0.0.1:9/',
  [VERIFY_ENV.sticky]: 'cookie',
  [VERIFY_ENV.vpcId]: 'vpc-edge',
  [VERIFY_ENV.sessions]: '20',
  [VERIFY_ENV.requestsPerSession]: '4',
  [VERIFY_ENV.readyWithinSeconds]: '240',
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
    { ...good, [VERIFY_ENV.sticky]: 'sticky' },
    'VERIFY_STICKY must be ip_hash, hash or cookie, got "sticky"',
  ],
  [
    { ...good, [VERIFY_ENV.sessions]: 'many' },
    'environment variable VERIFY_SESSIONS must be a whole number, got "many"',
  ],
])('fails when the environment is %j', async (env, message) => {
  await expect(createHandler(ec2, env)()).rejects.toThrow(message);
  expect(ec2.send).not.toHaveBeenCalled();
});
