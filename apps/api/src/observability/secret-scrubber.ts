/** Shorter values are too likely to occur by chance in ordinary log text to be replaced safely. */
export const MIN_SECRET_LENGTH = 6;

/** Names of variables whose values are secrets, whoever adds them. */
const SECRET_NAME = /(^|_)(SECRET|PASSWORD|TOKEN|API_KEY|ACCESS_KEY|KEY)$/;

const REDACTED = '[REDACTED]';

/** The query string of any absolute URL: presigned URLs carry their credentials there. */
const URL_QUERY = /\b((?:https?|s3):\/\/[^\s"'<>?#\\]+)\?[^\s"'<>#\\]*/gi;

/**
 * Removes secrets from a serialized log line before it is written: every configured secret value
 * (as written, JSON-escaped and URL-encoded) and the query string of every URL. It works on the
 * final text, so it catches a secret however it got into a line: a header, an error message, a
 * URL or a library's own output.
 */
export class SecretScrubber {
  private readonly needles: string[];

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      forms.add(secret);
      forms.add(JSON.stringify(secret).slice(1, -1));
      forms.add(encodeURIComponent(secret));
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.needles = [...forms].sort((a, b) => b.length - a.length);
  }

  scrub(line: string): string {
    let clean = line.replace(URL_QUERY, '$1');
    for (const needle of this.needles) {
      if (clean.includes(needle)) clean = clean.split(needle).join(REDACTED);
    }
    return clean;
  }

  /**
   * The secrets of an environment: every value of a variable named like a secret, and each of
   * the comma-separated API keys.
   */
  static secretsOf(env: Record<string, unknown>): string[] {
    const secrets: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== 'string' || !SECRET_NAME.test(name)) continue;
      secrets.push(value, ...value.split(',').map((part) => part.trim()));
    }
    return secrets.filter((secret) => secret.length > 0);
  }
}
