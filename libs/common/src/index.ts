export * from './config';
export * from './contract';
export * from './jobs';
export * from './net';
export * from './nodes';
export * from './redis';
export * from './util';
export * from './transcripts';
