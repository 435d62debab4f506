/**
 * Typed store errors with stable codes. The API server maps them to HTTP statuses in one
 * place (src/apiserver/errors.ts); backends never throw anything else for expected outcomes.
 */
export type StoreErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'FutureRevision' | 'Unavailable';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, readonly key?: string) {
    super(message);
    this.name = `StoreError(${code})`;
  }
}
export class KeyExistsError extends StoreError {
  constructor(key: string) { super('KeyExists', `key exists: ${key}`, key); }
}
export class NotFoundError extends StoreError {
  constructor(key: string) { super('NotFound', `key not found: ${key}`, key); }
}
export class ConflictError extends StoreError {
  constructor(key: string, readonly actualRevision: number) { super('Conflict', `revision mismatch for ${key}`, key); }
}
export class CompactedError extends StoreError {
  constructor(readonly requested: number, readonly compacted: number) {
    super('Compacted', `required revision ${requested} has been compacted (compacted up to ${compacted})`);
  }
}
export class FutureRevisionError extends StoreError {
  constructor(readonly requested: number, readonly current: number) {
    super('FutureRevision', `required revision ${requested} is a future revision (current ${current})`);
  }
}
export class UnavailableError extends StoreError {
  constructor(message: string) { super('Unavailable', message); }
}
