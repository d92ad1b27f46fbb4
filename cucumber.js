// Cucumber configuration for running this repository's example features with plain `cucumber-js`
// (`npx tsunagari test` builds the same configuration for any project). Reports go to reports/.
export default {
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
