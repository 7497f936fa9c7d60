import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingLogFile } from './rotating-log-file';

describe('RotatingLogFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'api-gpu-logs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rotates by size, keeps the newest lines in the live file and drops files past the kept count', () => {
    const file = new RotatingLogFile(join(dir, 'nested', 'api.log'), 100, 2);
    for (let n = 0; n < 20; n++) file.write(`${JSON.stringify({ n, msg: 'x'.repeat(20) })}\n`);

    expect(readdirSync(join(dir, 'nested')).sort()).toEqual(['api.log', 'api.log.1', 'api.log.2']);
    const live = readFileSync(join(dir, 'nested', 'api.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(live[live.length - 1])).toMatchObject({ n: 19 });
    for (const name of ['api.log', 'api.log.1', 'api.log.2']) {
      expect(readFileSync(join(dir, 'nested', name)).length).toBeLessThanOrEqual(100);
    }
  });

  it('carries on from the size of a file left by an earlier run', () => {
    new RotatingLogFile(join(dir, 'node.log'), 50).write('a'.repeat(40) + '\n');
    new RotatingLogFile(join(dir, 'node.log'), 50).write('b'.repeat(20) + '\n');
    expect(readFileSync(join(dir, 'node.log.1'), 'utf8')).toBe('a'.repeat(40) + '\n');
  });
});
