export * from './fields';
export * from './job-inputs';
export * from './job-results';
export * from './json-schema';
export * from './operations';
export * from './patterns';
export * from './requests';
export * from './validate-job-input';
