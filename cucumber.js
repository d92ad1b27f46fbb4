// Cucumber configuration for running this repository's example features with plain `cucumber-js`
// (`npx tsunagari test` builds the same configuration for any project). Reports go to reports/.
const config = {
  paths: ['features/**/*.feature'],
  import: ['steps/tsx.js', 'steps/index.ts'],
  format: [
    'progress',
    'html:reports/cucumber.html',
    'junit:reports/junit.xml',
    'json:reports/cucumber.json',
    'message:reports/messages.ndjson',
  ],
  formatOptions: { junit: { suiteName: 'tsunagari' } },
};

export default config;

// `npx cucumber-js -p lab`: the scenarios tagged @nightly against the physical lab's inventories
// (topologies/<lab>.lab.yaml; `npm run test:lab` stands a stand-in lab up first).
export const lab = { ...config, tags: '@nightly', worldParameters: { profile: 'lab' } };
