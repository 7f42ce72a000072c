/**
 * Idempotency keys for submissions: one key per attempt at one body. A retry of the same body
 * after a network or server failure reuses the key, so the API stores the feedback once; a
 * success or any edit of the form starts over with a fresh key.
 */

export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9._:-]{8,128}$/;

/** A random UUID (version 4); crypto.randomUUID exists only in secure contexts, so fall back. */
export function newKey(source: Pick<Crypto, "getRandomValues"> & Partial<Pick<Crypto, "randomUUID">> = crypto): string {
  if (typeof source.randomUUID === "function") return source.randomUUID();
  const bytes = source.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class IdempotencyKeys {
  private current: { key: string; body: string } | null = null;

  constructor(private readonly generate: () => string = () => newKey()) {}

  /** The key for sending `body` (its JSON text): the pending key when the body is unchanged. */
  keyFor(body: string): string {
    if (this.current === null || this.current.body !== body) {
      this.current = { key: this.generate(), body };
    }
    return this.current.key;
  }

  /** Forget the pending key: after a success, or when the user edits the form. */
  reset(): void {
    this.current = null;
  }
}
