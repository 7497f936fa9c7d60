// Loaded with `node --import` into a process under test: every TCP connection to an address
// outside this machine is recorded (one JSON line in CONNECT_RECORD_FILE) and failed before any
// packet is sent, so a test of refused addresses cannot reach a real network even if the code
// under test is broken. Connections to loopback and Unix sockets go through unchanged.
import fs from 'node:fs';
import net from 'node:net';

const recordFile = process.env.CONNECT_RECORD_FILE;
if (!recordFile) throw new Error('connect-recorder: CONNECT_RECORD_FILE is not set');

const LOOPBACK_NAMES = new Set(['localhost', 'vm', 'runsc']);

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true;
  const bare = String(host).replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK_NAMES.has(bare)) return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

function targetOf(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') return { path: first.path, host: first.host, port: first.port };
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function recordedConnect(...args) {
  const target = targetOf(args);
  if (target.path !== undefined || isLoopback(target.host)) return realConnect.apply(this, args);
  fs.appendFileSync(recordFile, `${JSON.stringify({ host: target.host, port: target.port, at: new Date().toISOString() })}\n`);
  const error = Object.assign(new Error(`connect-recorder: refused ${target.host}:${target.port}`), {
    code: 'ECONNREFUSED',
  });
  process.nextTick(() => this.destroy(error));
  return this;
};
