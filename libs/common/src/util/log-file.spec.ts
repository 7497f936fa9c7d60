import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { RotatingFileStream } from 'rotating-file-stream';
import { rotatingLogFile } from './log-file';

async function writeAll(file: RotatingFileStream, lines: string[]): Promise<void> {
  // One line at a time, as a process logs them: rotation happens between writes.
  for (const line of lines) await new Promise((written) => file.write(line, written));
  file.end();
  await once(file, 'finish');
}

describe('rotatingLogFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'api-gpu-logs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rotates by size into <name>.1, <name>.2, keeps the newest lines in the live file and drops files past the kept count', async () => {
    const nested = join(dir, 'nested');
    const lines = Array.from({ length: 200 }, (_, n) => `${JSON.stringify({ n, msg: 'x'.repeat(20) })}\n`);
    await writeAll(rotatingLogFile(nested, 'api.log', '1K', 2), lines);

    expect(readdirSync(nested).sort()).toEqual(['api.log', 'api.log.1', 'api.log.2']);
    const live = readFileSync(join(nested, 'api.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(live[live.length - 1])).toMatchObject({ n: 199 });
    const rotated = readFileSync(join(nested, 'api.log.1'), 'utf8').trim().split('\n');
    expect((JSON.parse(rotated[rotated.length - 1]) as { n: number }).n).toBeLessThan((JSON.parse(live[0]) as { n: number }).n);
  });

  it('appends to the file an earlier run left', async () => {
    writeFileSync(join(dir, 'gpu-node.log'), 'earlier\n');
    await writeAll(rotatingLogFile(dir, 'gpu-node.log'), ['later\n']);
    expect(readFileSync(join(dir, 'gpu-node.log'), 'utf8')).toBe('earlier\nlater\n');
  });
});
