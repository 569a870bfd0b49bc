/** An error reply from the host (or the transport), with a machine-readable code. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorCode(err: unknown): string {
  return err instanceof ApiError ? err.code : 'ERROR';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
