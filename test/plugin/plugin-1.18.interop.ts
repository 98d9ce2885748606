/** The plugin against real Fluentd 1.18.0; see plugin-suite.ts. */
import { FLUENTD_VERSIONS } from './fluentd';
import { pluginSuite } from './plugin-suite';

pluginSuite(FLUENTD_VERSIONS.filter((v) => v === '1.18.0'), false);
