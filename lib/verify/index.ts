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
export type { IpFamily } from './probe';
export { Visitor, answerOf, claimedBy } from './visitor';
export type { Forgery, Observation, VisitOptions } from './visitor';
export { CHECKS, evaluate, checksTable } from './checks/index';
export type { Check, Observations } from './checks/index';
