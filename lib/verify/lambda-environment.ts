/**
 * The environment variables the DeployCheck construct sets and the post-deploy Lambda reads. They live here,
 * below both, so the construct names them without importing from `lambda/` (imports point down) and without
 * loading the AWS SDK at synth time.
 */
export const VERIFY_ENV = {
  url: 'VERIFY_URL',
  sticky: 'VERIFY_STICKY',
  vpcId: 'VERIFY_VPC_ID',
  /** The stack's ID (ARN): the handler asks CloudFormation whether its stack is rolling back. */
  stackId: 'VERIFY_STACK_ID',
  backendUrls: 'VERIFY_BACKEND_URLS',
  /** The `cookie` strategy's routing cookie (`cookieName`); unset means the default name. */
  routeCookie: 'VERIFY_ROUTE_COOKIE',
  /** `demo` or `own` (the team's own backends: nginx names the backend in a header). */
  app: 'VERIFY_APP',
  /** With `own`: the backends' names (route ids), comma-separated, in the order of the URLs. */
  backendNames: 'VERIFY_BACKEND_NAMES',
  sessions: 'VERIFY_SESSIONS',
  requestsPerSession: 'VERIFY_REQUESTS_PER_SESSION',
  readyWithinSeconds: 'VERIFY_READY_WITHIN_SECONDS',
  /** A synth-time hash of what the check verifies; the handler only logs it. */
  fingerprint: 'VERIFY_FINGERPRINT',
  /** Deploy-time values of what the check verifies (images, addresses); the handler only logs them. */
  deployInputs: 'VERIFY_DEPLOY_INPUTS',
  /**
   * The function's own security group, set when the load balancer is dualstack: the check then also runs IPv6
   * visitors and requires the backends to report the IPv6 addresses of the function's network interfaces in it.
   */
  ipv6SecurityGroup: 'VERIFY_IPV6_SECURITY_GROUP',
} as const;

/**
 * How long the IPv6 visitors wait for the load balancer's AAAA answers once the IPv4 ones have been verified:
 * the targets are healthy by then, and a dualstack name publishes both record types together.
 */
export const IPV6_READY_WITHIN_SECONDS = 60;
