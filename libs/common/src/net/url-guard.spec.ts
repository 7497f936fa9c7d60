import { Server, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HostResolver,
  UnresolvableHostError,
  UnsafeUrlError,
  UrlGuardOptions,
  assertPublicUrl,
  guardedLookup,
  parseAllowlist,
} from './url-guard';

const FIELD = 'video_url';

/**
 * Names that would resolve outside this machine are answered by this table, so a broken guard
 * still sends nothing anywhere; loopback names go through the real resolver.
 */
const fakeResolver =
  (answers: Record<string, readonly string[]>): HostResolver =>
  (hostname) =>
    hostname in answers ? Promise.resolve(answers[hostname]) : Promise.reject(new Error(`ENOTFOUND ${hostname}`));

const outsideNames = fakeResolver({
  'media.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'intranet.example.com': ['10.1.2.3'],
  'router.example.com': ['192.168.0.1'],
  'docker.example.com': ['172.17.0.1'],
  'metadata.example.com': ['169.254.169.254'],
  'cgnat.example.com': ['100.64.0.7'],
  'mixed.example.com': ['93.184.215.14', '10.0.0.8'],
  'v6private.example.com': ['fd00::1'],
  'mapped.example.com': ['::ffff:10.0.0.1'],
  'empty.example.com': [],
});

async function refusal(url: string, options: UrlGuardOptions = { allowlist: [], resolve: outsideNames }) {
  try {
    await assertPublicUrl(url, FIELD, options);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('assertPublicUrl refuses', () => {
  it.each([
    ['file:///etc/passwd', 'http, https or s3'],
    ['gopher://127.0.0.1:70/_x', 'http, https or s3'],
    ['ftp://ftp.example.com/a.mp4', 'http, https or s3'],
    ['javascript:alert(1)', 'http, https or s3'],
    ['data:text/plain,hi', 'http, https or s3'],
    ['not a url', 'must be a valid URL'],
    ['http://', 'must be a valid URL'],
    ['http://1.2.3.4.5/', 'must be a valid URL'],
    ['http://09.0.0.1/', 'must be a valid URL'],
    ['s3://bucket', 's3://bucket/key'],
    ['s3://bucket/', 's3://bucket/key'],
    ['s3://Not_A_Bucket/key', 's3://bucket/key'],
    ['s3://user:pw@bucket/key', 's3://bucket/key'],
    ['http://127.0.0.1/a.mp4', 'a loopback address (127.0.0.1)'],
    ['http://127.8.9.10:9000/a.mp4', 'a loopback address'],
    ['http://2130706433/', 'a loopback address (127.0.0.1)'],
    ['http://0x7f000001/', 'a loopback address (127.0.0.1)'],
    ['http://0177.0.0.1/', 'a loopback address (127.0.0.1)'],
    ['http://017700000001/', 'a loopback address (127.0.0.1)'],
    ['http://0x7f.1/', 'a loopback address (127.0.0.1)'],
    ['http://127.1/', 'a loopback address (127.0.0.1)'],
    ['http://[::1]/', 'a loopback address (::1)'],
    ['http://[0:0:0:0:0:0:0:1]:8080/', 'a loopback address'],
    ['http://[::ffff:127.0.0.1]/', 'a loopback address'],
    ['http://[::ffff:7f00:1]/', 'a loopback address'],
    ['http://[::ffff:10.0.0.1]/', 'a private address'],
    ['http://[::ffff:169.254.169.254]/', 'a link-local address'],
    ['http://[64:ff9b::7f00:1]/', 'a non-public address (rfc6052)'],
    ['http://10.0.0.1/', 'a private address (10.0.0.1)'],
    ['http://10.255.255.255/', 'a private address'],
    ['http://172.16.0.1/', 'a private address'],
    ['http://172.31.255.254/', 'a private address'],
    ['http://192.168.1.1/', 'a private address'],
    ['http://169.254.169.254/latest/meta-data/', 'a link-local address (169.254.169.254)'],
    ['http://169.254.1.1/', 'a link-local address'],
    ['http://100.64.0.1/', 'a carrier-grade NAT address'],
    ['http://100.127.255.254/', 'a carrier-grade NAT address'],
    ['http://224.0.0.1/', 'a multicast address'],
    ['http://239.255.255.250:1900/', 'a multicast address'],
    ['http://255.255.255.255/', 'a broadcast address'],
    ['http://0.0.0.0/', 'an unspecified address'],
    ['http://0/', 'an unspecified address'],
    ['http://[::]/', 'an unspecified address'],
    ['http://[fc00::1]/', 'a private (unique local) address'],
    ['http://[fd12:3456::1]/', 'a private (unique local) address'],
    ['http://[fe80::1]/', 'a link-local address'],
    ['http://[ff02::1]/', 'a multicast address'],
    ['http://240.0.0.1/', 'a reserved address'],
    ['https://intranet.example.com/a.mp4', 'host "intranet.example.com" resolves to a private address (10.1.2.3)'],
    ['https://router.example.com/', 'resolves to a private address (192.168.0.1)'],
    ['https://docker.example.com/', 'resolves to a private address (172.17.0.1)'],
    ['http://metadata.example.com/', 'resolves to a link-local address (169.254.169.254)'],
    ['http://cgnat.example.com/', 'resolves to a carrier-grade NAT address'],
    ['http://mixed.example.com/', 'resolves to a private address (10.0.0.8)'],
    ['http://v6private.example.com/', 'resolves to a private (unique local) address'],
    ['http://mapped.example.com/', 'resolves to a private address (::ffff:10.0.0.1)'],
    ['http://empty.example.com/', 'host "empty.example.com" does not resolve'],
    ['http://unknown.example.com/', 'host "unknown.example.com" does not resolve'],
  ])('%s (%s)', async (url, problem) => {
    const error = await refusal(url);
    expect(error).toBeInstanceOf(UnsafeUrlError);
    expect((error as UnsafeUrlError).field).toBe(FIELD);
    expect((error as UnsafeUrlError).message).toContain(FIELD);
    expect((error as UnsafeUrlError).message).toContain(problem);
  });

  it.each([
    ['http://localhost/a.mp4', 'host "localhost" resolves to a loopback address'],
    ['http://LOCALHOST:3000/', 'host "localhost" resolves to a loopback address'],
    ['http://localhost./a.mp4', 'host "localhost."'],
  ])('%s through the system resolver (%s)', async (url, problem) => {
    const error = await refusal(url, { allowlist: [] });
    expect(error).toBeInstanceOf(UnsafeUrlError);
    expect((error as Error).message).toContain(problem);
  });

  it('never echoes the path, query string or credentials of the URL', async () => {
    const error = await refusal('http://user:hunter2@10.0.0.1/secret-path?X-Amz-Signature=abcdef&token=s3cr3t');
    const message = (error as Error).message;
    for (const secret of ['hunter2', 'secret-path', 'abcdef', 's3cr3t', 'X-Amz']) {
      expect(message).not.toContain(secret);
    }
  });

  it('gives up on a lookup that never answers', async () => {
    const silent: HostResolver = () => new Promise(() => undefined);
    const error = await refusal('http://slow.example.com/', { allowlist: [], resolve: silent, lookupTimeoutMs: 50 });
    expect(error).toBeInstanceOf(UnresolvableHostError);
    expect((error as Error).message).toContain('does not resolve');
  });
});

describe('assertPublicUrl allows', () => {
  it.each([
    ['https://media.example.com/video.mp4?X-Amz-Signature=abc', []],
    ['http://93.184.215.14/a.mp4', []],
    ['http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/a.mp4', []],
    ['https://media.example.com/vídeo com espaço.mp4', []],
    ['s3://canais/inputs/vídeo.mp4', []],
    ['http://127.0.0.1:19000/api-gpu-test/a.mp4', ['127.0.0.1:19000']],
    ['http://localhost:19000/a.mp4', ['localhost:19000']],
    ['http://LocalHost:19000/a.mp4', ['localhost:19000']],
    ['http://[::1]:9000/a.mp4', ['[::1]:9000']],
    ['http://[0:0:0:0:0:0:0:1]:9000/a.mp4', ['[::1]:9000']],
    ['http://10.0.0.5/a.mp4', ['10.0.0.5:80']],
    ['https://10.0.0.5/a.mp4', ['10.0.0.5:443']],
    ['http://intranet.example.com:8080/a.mp4', ['10.1.2.3:8080']],
  ])('%s with allowlist %j', async (url, allowlist) => {
    await expect(assertPublicUrl(url, FIELD, { allowlist, resolve: outsideNames })).resolves.toBeUndefined();
  });

  it('allowlists by host and port, not by host alone', async () => {
    const options = { allowlist: ['127.0.0.1:19000'], resolve: outsideNames };
    await expect(assertPublicUrl('http://127.0.0.1:19001/a.mp4', FIELD, options)).rejects.toThrow('loopback');
    await expect(assertPublicUrl('http://127.0.0.1/a.mp4', FIELD, options)).rejects.toThrow('loopback');
  });

  it('allows a name resolving to loopback only when that address and port are allowlisted', async () => {
    await expect(
      assertPublicUrl('http://localhost:19000/a.mp4', FIELD, { allowlist: ['127.0.0.1:19000', '[::1]:19000'] }),
    ).resolves.toBeUndefined();
  });
});

describe('parseAllowlist', () => {
  it.each([
    [undefined, []],
    ['', []],
    [' 127.0.0.1:19000 , LocalHost:9000,[::1]:9000 ', ['127.0.0.1:19000', 'localhost:9000', '[::1]:9000']],
    ['minio:9000', ['minio:9000']],
  ])('reads %j', (value, expected) => {
    expect(parseAllowlist(value)).toEqual(expected);
  });

  it.each(['127.0.0.1', 'http://127.0.0.1:9000', '127.0.0.1:0', '127.0.0.1:70000', '::1:9000', 'a b:80'])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => parseAllowlist(value)).toThrow('PRIVATE_URL_ALLOWLIST');
    },
  );
});

describe('guardedLookup', () => {
  let server: Server;
  let port: string;
  let requestsSeen = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      requestsSeen += 1;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = String((server.address() as AddressInfo).port);
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchThrough = (url: string, options: UrlGuardOptions) =>
    new Promise<string>((resolve, reject) => {
      get(url, { agent: false, lookup: guardedLookup('webhook_url', port, options) }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      }).on('error', reject);
    });

  it('connects to a name whose addresses are allowed', async () => {
    const before = requestsSeen;
    const body = await fetchThrough(`http://localhost:${port}/`, { allowlist: [`127.0.0.1:${port}`] });
    expect(body).toBe('ok');
    expect(requestsSeen).toBe(before + 1);
  });

  it('refuses before connecting when the name resolves to loopback', async () => {
    const before = requestsSeen;
    await expect(fetchThrough(`http://localhost:${port}/`, { allowlist: [] })).rejects.toThrow(
      'webhook_url host "localhost" resolves to a loopback address',
    );
    expect(requestsSeen).toBe(before);
  });

  it('refuses what the name answers at connection time, whatever it answered before (DNS rebinding)', async () => {
    const answers = [['93.184.215.14'], ['10.0.0.1']];
    const rebinding: HostResolver = () => Promise.resolve(answers.shift() ?? []);
    const options = { allowlist: [], resolve: rebinding };
    await assertPublicUrl(`http://rebind.example.com:${port}/`, 'webhook_url', options);
    await expect(fetchThrough(`http://rebind.example.com:${port}/`, options)).rejects.toThrow(
      'resolves to a private address (10.0.0.1)',
    );
  });
});
