/** The shared verdict of the quota checks: is there room in the region for what the stage takes? */
import { CheckResult, fail, ok, PreflightInput } from '../check';

export interface Room {
  readonly check: string;
  /** The resource, plural ("Elastic IPs"). */
  readonly what: string;
  readonly quota: number;
  /** Where the quota came from, shown after it ("default", "Service Quotas", …). */
  readonly quotaSource: string;
  readonly used: number;
  readonly needed: number;
  /** What to do when there is no room. */
  readonly action: string;
}

export function roomResult(room: Room, input: PreflightInput): CheckResult {
  const left = room.quota - room.used;
  const counted = `${room.used} of ${room.quota} in use (${room.quotaSource}), ${Math.max(0, left)} left`;
  // An update of an existing stage keeps what the stack already holds.
  if (input.stackExists)
    return ok(
      room.check,
      `${counted}; ${input.need.stackName} exists, so an update takes no new ${room.what}`,
    );
  const detail = `${counted}, the stage needs ${room.needed}`;
  return room.needed <= left
    ? ok(room.check, detail)
    : fail(room.check, detail, room.action);
}
