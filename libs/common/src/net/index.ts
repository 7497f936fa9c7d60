export * from './url-guard';
