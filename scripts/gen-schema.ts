// Writes schema/topology.schema.json from the zod schema in src/topology/schema.ts (`npm run schema`).
// The file is committed so editors find it; a unit test fails when it is out of date.
// Touches only that one file.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topologyJsonSchemaText } from '../src/topology/schema.js';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'schema', 'topology.schema.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, topologyJsonSchemaText());
console.log(`wrote ${out}`);
