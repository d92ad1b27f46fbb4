// Makes `npx tsunagari` work inside this repository itself: npm links the bins of dependencies into
// node_modules/.bin but never the package's own. Installed as a dependency elsewhere, npm does it for us.
import { existsSync, mkdirSync, symlinkSync, lstatSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const binDir = join(root, 'node_modules', '.bin');
if (existsSync(join(root, 'node_modules'))) {
  mkdirSync(binDir, { recursive: true });
  const link = join(binDir, 'tsunagari');
  try { if (lstatSync(link)) unlinkSync(link); } catch { /* absent */ }
  symlinkSync('../../bin/tsunagari.js', link);
}
