/** Turns an SDK error into a FAIL row that names what is missing, never a stack trace. */
import { CheckResult, fail } from './check';

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'AuthFailure',
]);

/** The SDK's credential chain found nothing usable (no env keys, profile, SSO token, container or instance role). */
export function isMissingCredentials(err: unknown): boolean {
  const name = (err as { name?: unknown })?.name;
  return name === 'CredentialsProviderError' || name === 'TokenProviderError';
}

/** The action AWS names in an access-denied message ("… is not authorized to perform: ec2:DescribeVpcs …"). */
function deniedAction(message: string): string | undefined {
  return /perform:\s*([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

/** A FAIL row for an SDK error raised while running the check that calls `permissions`. */
export function errorResult(
  check: string,
  permissions: readonly string[],
  err: unknown,
): CheckResult {
  const name = String((err as { name?: unknown })?.name ?? 'Error');
  const message = firstLine(String((err as Error)?.message ?? err));
  if (DENIED.has(name) || /not authorized/i.test(message)) {
    const missing = deniedAction(message) ?? permissions.join(', ');
    return fail(
      check,
      `not allowed: ${missing} (${name})`,
      `grant ${missing} to these credentials (read-only; see the README's preflight permissions)`,
    );
  }
  return fail(
    check,
    `${name}: ${message}`,
    'run preflight again; if it persists, check the credentials and the region',
  );
}
