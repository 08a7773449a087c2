/** Tries per install, and seconds between them: about five minutes in all. */
const ATTEMPTS = 30;
const DELAY_SECONDS = 10;

/**
 * A user-data line that installs `packages` with dnf and retries for about five minutes: the repositories
 * can be out of reach for a while as an instance's network comes up (a NAT gateway still starting, a route
 * not yet in place), and one failed attempt must not fail the deployment.
 */
export function dnfInstallWithRetry(packages: readonly string[]): string {
  const names = packages.join(' ');
  return (
    `for attempt in $(seq 1 ${ATTEMPTS}); do dnf install -y ${names} && break; ` +
    `if [ "$attempt" -eq ${ATTEMPTS} ]; then echo "sticky-edge: could not install ${names}" >&2; exit 1; fi; ` +
    `sleep ${DELAY_SECONDS}; done`
  );
}
