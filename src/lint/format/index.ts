/** The output formats by name (`--format`). */
import type { FormatInput } from './common.js';
import { formatHuman } from './human.js';
import { formatJson } from './json.js';
import { formatSarif } from './sarif.js';
import { formatJunit } from './junit.js';

export type FormatName = 'human' | 'json' | 'sarif' | 'junit';
export const FORMATS: Readonly<Record<FormatName, (input: FormatInput) => string>> = {
  human: formatHuman,
  json: formatJson,
  sarif: formatSarif,
  junit: formatJunit,
};
export type { FormatInput } from './common.js';
