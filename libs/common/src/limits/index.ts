export * from './job-deadline';
export * from './work-limits';
