// Writes schema/topology.schema.json and schema/inventory.schema.json from the zod schemas in
// src/topology/schema.ts and src/topology/inventory.ts (`npm run schema`). The files are committed so
// editors find them; a unit test fails when one is out of date. Touches only those two files.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inventoryJsonSchemaText, topologyWithProfilesJsonSchemaText as topologyJsonSchemaText } from '../src/topology/inventory.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'schema');
mkdirSync(dir, { recursive: true });
for (const [name, text] of [['topology.schema.json', topologyJsonSchemaText()], ['inventory.schema.json', inventoryJsonSchemaText()]] as const) {
  writeFileSync(resolve(dir, name), text);
  console.log(`wrote ${resolve(dir, name)}`);
}
