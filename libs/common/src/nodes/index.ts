export * from './node-heartbeat';
export * from './transcription-model';
export * from './live-nodes';
