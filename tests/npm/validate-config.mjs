// Validates configuration files (already converted from TOML to JSON) against the config JSON
// Schema with ajv, a validator editors and CI tools use, in strict mode (so the schema itself
// must be well formed). Reads {"name": config, ...} on stdin; prints one JSON object per line:
//   {"name":"examples/stack-a.toml","valid":true,"errors":[]}
// Usage: node validate-config.mjs ../../schema/samlet.config.schema.json < configs.json
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';

const schemaPath = process.argv[2];
if (!schemaPath) {
  console.error('usage: node validate-config.mjs SCHEMA < CONFIGS_JSON');
  process.exit(2);
}
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
// Formats like "uint32" are schemars' annotations, not assertions.
const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);
const configs = JSON.parse(readFileSync(0, 'utf8'));
for (const [name, config] of Object.entries(configs)) {
  const valid = validate(config);
  const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  console.log(JSON.stringify({ name, valid, errors }));
}
