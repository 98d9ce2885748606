/** The plugin against real Fluentd 1.16.11, and the offline gem build; see plugin-suite.ts. */
import { FLUENTD_VERSIONS } from './fluentd';
import { pluginSuite } from './plugin-suite';

pluginSuite(FLUENTD_VERSIONS.filter((v) => v === '1.16.11'), true);
