export * from './config';
export * from './nodes';
export * from './redis';
