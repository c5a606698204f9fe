/**
 * Usage errors of the CLI: a flag with a bad value. main.ts prints them and exits with 2, as for
 * commander's own parse errors, so scripts can tell a wrong invocation from a failed run.
 */
import { KdpError } from '../errors.ts';

export const USAGE_ERROR = 'KDP_ERR_USAGE';

export function usageError(message: string): KdpError {
  return new KdpError(USAGE_ERROR, message);
}
