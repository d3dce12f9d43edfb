export {
  type FaultKind,
  type FaultProxy,
  type FaultProxyOptions,
  startFaultProxy,
} from './fault-proxy/fault-proxy.ts';
