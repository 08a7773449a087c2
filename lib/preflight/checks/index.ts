export { bootstrap } from './bootstrap';
export { certificate } from './certificate';
export { elasticIps } from './elastic-ips';
export { image } from './image';
export { instanceTypes, regionZones } from './instance-types';
export {
  egressOnlyInternetGateways,
  internetGateways,
  vpcs,
} from './region-quota';
