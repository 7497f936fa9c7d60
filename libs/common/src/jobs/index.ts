export * from './job-keys';
export * from './job-record';
export * from './job-status';
export * from './job-store';
export * from './queues';
export * from './webhook-queue';
