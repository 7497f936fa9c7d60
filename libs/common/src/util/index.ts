export * from './with-timeout';
export * from './rotating-log-file';
export * from './error-reason';
