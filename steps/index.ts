// tsunagari's step library: import this one file (cucumber `import`) to get the whole vocabulary in
// English and Japanese, the World, the parameter types and the lab lifecycle hooks.
import './support/parameters.js';
import './support/world.js';
import './support/hooks.js';
import './lab.steps.js';
import './reach.steps.js';
import './link.steps.js';
import './command.steps.js';
import './dns.steps.js';
import './router.steps.js';
import './failover.steps.js';
export { CATALOGUE } from './catalogue.js';
