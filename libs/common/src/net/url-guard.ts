import { promises as dns } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { withTimeout } from '../util/with-timeout';

/** A URL a client sent that the service refuses to fetch or call; `field` names where it came from. */
export class UnsafeUrlError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsafeUrlError';
  }
}

/** A host name that did not resolve: unlike the other refusals, trying again later may succeed. */
export class UnresolvableHostError extends UnsafeUrlError {
  constructor(field: string, host: string) {
    super(field, `${field} host "${host}" does not resolve`);
    this.name = 'UnresolvableHostError';
  }
}

/** Every address a host name resolves to, as strings. */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

export interface UrlGuardOptions {
  /** `host:port` pairs that may be private (e.g. the local MinIO), from PRIVATE_URL_ALLOWLIST. */
  allowlist: readonly string[];
  /** Defaults to the system resolver (`dns.lookup`, all addresses), as the fetch itself would resolve. */
  resolve?: HostResolver;
  /** Bound on the name lookup; defaults to 5000 ms. */
  lookupTimeoutMs?: number;
}

const ALLOWED_SCHEMES = ['http:', 'https:', 's3:'];
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
const DEFAULT_LOOKUP_TIMEOUT_MS = 5000;
// S3's bucket naming rules: s3:// URLs name a bucket, whose policy the worker applies.
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ALLOWLIST_ENTRY = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

// ipaddr.js's names for the ranges, in words a client understands; every range but "unicast"
// (globally routable) is refused, including the ones that embed an IPv4 address (NAT64, 6to4).
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  reserved: 'a reserved address',
};

const defaultResolver: HostResolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
};

/**
 * Refuses a URL the service must not fetch or call on a client's behalf: any scheme but http,
 * https and s3, and any http(s) host that is, or resolves to, an address that is not public
 * (loopback, private, link-local and cloud metadata, CGNAT, multicast, unspecified, IPv4-mapped
 * IPv6 of those), unless its `host:port` is allowlisted. Numeric host forms (decimal, hex, octal,
 * short) are normalised by WHATWG URL parsing before the check, as a fetch would read them.
 * Messages name the field and the host, never the path or query string (presigned URLs carry
 * credentials there).
 */
export async function assertPublicUrl(url: string, field: string, options: UrlGuardOptions): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError(field, `${field} must be a valid URL`);
  }
  if (!ALLOWED_SCHEMES.includes(parsed.protocol)) {
    throw new UnsafeUrlError(
      field,
      `${field} must be an http, https or s3 URL (${describeScheme(parsed.protocol)} is not allowed)`,
    );
  }
  if (parsed.protocol === 's3:') {
    assertS3Location(parsed, field);
    return;
  }

  const host = stripBrackets(parsed.hostname);
  const port = parsed.port || DEFAULT_PORTS[parsed.protocol];
  if (options.allowlist.map(normaliseAllowlistEntry).includes(hostPort(host, port))) return;
  await checkedAddresses(host, port, field, options);
}

/**
 * A `lookup` for node:http(s) that resolves and refuses exactly as assertPublicUrl does, so the
 * connection goes to an address that was checked: a name cannot answer a public address to the
 * check and a private one to the connection (DNS rebinding).
 */
export function guardedLookup(field: string, port: string, options: UrlGuardOptions): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    checkedAddresses(stripBrackets(hostname), port, field, options).then(
      (addresses) => {
        const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const answers = addresses
          .map((address) => ({ address, family: ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4 }))
          .filter((answer) => !family || answer.family === family);
        if (answers.length === 0) {
          callback(new UnsafeUrlError(field, `${field} host "${hostname}" has no address of the requested family`), '');
        } else if (lookupOptions.all) {
          callback(null, answers);
        } else {
          callback(null, answers[0].address, answers[0].family);
        }
      },
      (error: UnsafeUrlError) => callback(error, ''),
    );
  };
}

/** The addresses `host` stands for, once every one of them is known to be allowed. */
async function checkedAddresses(
  host: string,
  port: string,
  field: string,
  options: UrlGuardOptions,
): Promise<readonly string[]> {
  const allowlist = new Set(options.allowlist.map(normaliseAllowlistEntry));
  if (ipaddr.isValid(host)) {
    const problem = nonPublicRange(host);
    if (problem && !allowlist.has(hostPort(host, port))) {
      throw new UnsafeUrlError(field, `${field} must not point to ${problem} (${host})`);
    }
    return [host];
  }
  const hostAllowed = allowlist.has(hostPort(host, port));
  const addresses = await lookup(host, field, options);
  for (const address of addresses) {
    const problem = nonPublicRange(address);
    if (problem && !hostAllowed && !allowlist.has(hostPort(address, port))) {
      throw new UnsafeUrlError(field, `${field} host "${host}" resolves to ${problem} (${address})`);
    }
  }
  return addresses;
}

/**
 * Reads PRIVATE_URL_ALLOWLIST: comma-separated `host:port` entries (`[::1]:9000` for IPv6).
 * A malformed entry is an error naming the variable, so a typo never silently allows nothing.
 */
export function parseAllowlist(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  for (const entry of entries) {
    const match = ALLOWLIST_ENTRY.exec(entry);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new Error(`PRIVATE_URL_ALLOWLIST: "${entry}" is not host:port (e.g. 127.0.0.1:9000 or [::1]:9000)`);
    }
  }
  return entries.map(normaliseAllowlistEntry);
}

function assertS3Location(parsed: URL, field: string): void {
  const key = parsed.pathname.replace(/^\/+/, '');
  if (!S3_BUCKET.test(parsed.hostname) || parsed.port || parsed.username || parsed.password || !key) {
    throw new UnsafeUrlError(field, `${field} must be an s3 URL of the form s3://bucket/key`);
  }
}

async function lookup(host: string, field: string, options: UrlGuardOptions): Promise<readonly string[]> {
  const resolve = options.resolve ?? defaultResolver;
  const timeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  let addresses: readonly string[];
  try {
    addresses = await withTimeout(resolve(host), timeoutMs, `looking up ${host}`);
  } catch {
    throw new UnresolvableHostError(field, host);
  }
  if (addresses.length === 0) throw new UnresolvableHostError(field, host);
  return addresses;
}

/** What kind of non-public address `address` is, or null when it is public. */
function nonPublicRange(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1) so it is judged as the IPv4 it is.
    parsed = ipaddr.process(stripBrackets(address));
  } catch {
    return 'an address that cannot be parsed';
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  return RANGE_NAMES[range] ?? `a non-public address (${range})`;
}

function normaliseAllowlistEntry(entry: string): string {
  const match = ALLOWLIST_ENTRY.exec(entry.trim());
  if (!match) return entry;
  return hostPort(stripBrackets(match[1]), String(Number(match[2])));
}

function hostPort(host: string, port: string): string {
  if (!ipaddr.isValid(host)) return `${host.toLowerCase()}:${port}`;
  const address = ipaddr.parse(host);
  return address.kind() === 'ipv6' ? `[${address.toString()}]:${port}` : `${address.toString()}:${port}`;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function describeScheme(protocol: string): string {
  return /^[a-z][a-z0-9+.-]*:$/i.test(protocol) ? `"${protocol.slice(0, -1)}"` : 'that scheme';
}
