import { execFile } from 'node:child_process';

const NVIDIA_SMI_TIMEOUT_MS = 5_000;

/**
 * The name of the first NVIDIA GPU as `nvidia-smi` reports it, or null on a machine without one
 * (no nvidia-smi, no driver, no device): the heartbeat says which GPU a node has.
 */
export function detectGpuName(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name', '--format=csv,noheader'],
      { timeout: NVIDIA_SMI_TIMEOUT_MS },
      (error, stdout) => {
        const first = error ? '' : stdout.split('\n')[0].trim();
        resolve(first || null);
      },
    );
  });
}
