/**
 * The config schema as validated and documented: src/config/schema.json with its `sink` section
 * completed from the sink registry. Each sink owns its keys (`configSchema` of its module, a JSON file
 * in its folder), so adding a sink is its folder and one line in SINKS: the type's enum, its keys, the
 * README's config table and the Fluentd plugin's parameters follow from here.
 */
import base from './schema.json';
import { SINKS, type SinkModule } from '../sinks';

type Node = Record<string, unknown>;

/** Two sinks may declare the same key only with the same definition (one key, one meaning). */
function sameDefinition(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function composeConfigSchema(sinks: Readonly<Record<string, SinkModule>> = SINKS, root: Node = base as Node): Node {
  const schema = structuredClone(root);
  const sink = (schema.properties as Record<string, Node>).sink;
  const common = sink.properties as Record<string, Node>;
  const types = Object.keys(sinks);
  const own: Record<string, Node> = {};
  const dependentRequired: Record<string, string[]> = {};
  for (const m of Object.values(sinks)) {
    for (const [k, def] of Object.entries(m.configSchema?.properties ?? {})) {
      if (k === 'type' || k in common) throw new Error(`sink ${m.type}: config key sink.${k} is the delivery core's; a sink cannot redefine it`);
      if (k in own && !sameDefinition(own[k], def)) throw new Error(`sink ${m.type}: config key sink.${k} is defined differently by another sink`);
      own[k] = def as Node;
    }
    for (const [k, req] of Object.entries(m.configSchema?.dependentRequired ?? {})) dependentRequired[k] = [...new Set([...(dependentRequired[k] ?? []), ...req])];
  }
  const { type, ...rest } = common;
  sink.properties = { type: { ...type, description: `${types.join(' | ')}.`, enum: types }, ...own, ...rest };
  if (Object.keys(dependentRequired).length) sink.dependentRequired = dependentRequired;
  return schema;
}

/** The schema itself (validation at start, docs generation, the plugin's parameters, tests). */
export const configSchema: Readonly<Node> = composeConfigSchema();
