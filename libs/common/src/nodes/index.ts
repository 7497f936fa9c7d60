export * from './node-heartbeat';
