/**
 * Lazily loaded dependencies. Startup time is a feature (ready in well under a second), so
 * modules that only some requests need are loaded on first use instead of at start.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type YamlModule = typeof import('yaml');
let yamlMod: YamlModule | undefined;

/** The `yaml` package, loaded on first use (its CommonJS build, so callers stay synchronous). */
export function yaml(): YamlModule {
  return (yamlMod ??= require('yaml') as YamlModule);
}
