export * from './config';
export * from './contract';
export * from './nodes';
export * from './redis';
export * from './util';
