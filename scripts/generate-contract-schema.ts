/**
 * Writes libs/common/contract/job-contract.schema.json from the contract classes. The worker
 * validates jobs against that file, and a test fails while it differs from what this would write.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderJobContractSchema } from '@app/common/contract';

const SCHEMA_FILE = resolve(__dirname, '../libs/common/contract/job-contract.schema.json');

writeFileSync(SCHEMA_FILE, renderJobContractSchema());
console.log(`Wrote ${SCHEMA_FILE}`);
