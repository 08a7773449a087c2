/**
 * The environment variables the DeployCheck construct sets and the handler reads. Kept apart from the
 * handler so the construct can name them without loading the AWS SDK at synth time.
 */
export const VERIFY_ENV = {
  url: 'VERIFY_URL',
  sticky: 'VERIFY_STICKY',
  vpcId: 'VERIFY_VPC_ID',
  backendUrls: 'VERIFY_BACKEND_URLS',
  sessions: 'VERIFY_SESSIONS',
  requestsPerSession: 'VERIFY_REQUESTS_PER_SESSION',
  readyWithinSeconds: 'VERIFY_READY_WITHIN_SECONDS',
} as const;
