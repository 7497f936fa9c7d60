export * from './transcript-files';
