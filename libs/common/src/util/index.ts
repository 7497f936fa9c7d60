export * from './with-timeout';
export * from './error-reason';
