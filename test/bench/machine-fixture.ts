import type { MachineInfo } from '../../lib/bench/results';

/** The machine a hand-built benchmark result says it ran on (figures under test do not depend on it). */
export const TEST_MACHINE: MachineInfo = {
  cpuModel: 'Test CPU',
  cores: 2,
  memoryGiB: 4,
  os: 'Debian GNU/Linux 12',
  node: 'v20.0.0',
  nginx: '1.22.1',
  haproxy: '2.6.12',
  wrk: '4.1.0',
  loadAverageAtStart: 0.5,
};
