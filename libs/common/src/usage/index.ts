export * from './usage-entry';
export * from './usage-ledger';
