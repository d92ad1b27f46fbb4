// First entry of cucumber's `import` list when cucumber-js runs directly: lets Node load the .ts steps.
import { register } from 'tsx/esm/api';
register();
