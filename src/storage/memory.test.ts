import { runConformance } from './conformance.js';
import { openMemoryBackend } from './memory.js';

runConformance('memory', openMemoryBackend);
