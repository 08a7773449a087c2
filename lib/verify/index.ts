export { verifyEndpoint, LIMITS } from './verify';
export type { VerifyOptions } from './verify';
export type {
  CheckId,
  CheckResult,
  CheckStatus,
  Routing,
  VerifyReport,
} from './report';
export { formatReport, failureSummary } from './format';
export { waitUntilAnswering } from './ready';
export type { WaitOptions } from './ready';
