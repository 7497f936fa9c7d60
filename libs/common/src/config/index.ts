export * from './common-env';
export * from './validate-env';
export * from './log-levels';
export * from './config-module';
export * from './known-variables';
