/** Whether a `Prefer` header (RFC 7240) asks for `respond-async`, among other preferences or not. */
export function prefersAsync(prefer: string | undefined): boolean {
  if (!prefer) return false;
  return prefer
    .split(',')
    .map((preference) => preference.split(';')[0].trim().toLowerCase())
    .includes('respond-async');
}
