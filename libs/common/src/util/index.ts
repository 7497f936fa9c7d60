export * from './with-timeout';
export * from './log-file';
export * from './error-reason';
