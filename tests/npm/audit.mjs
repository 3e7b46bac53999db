// Runs the graphql-http audit suite (the GraphQL-over-HTTP spec's server audits) against a
// GraphQL endpoint and prints one JSON object per line for every audit:
//   {"id":"...","name":"MUST ...","level":"MUST","status":"ok|notice|warn|error","reason":"...","status_code":200,"body":"..."}
// Usage: node audit.mjs http://127.0.0.1:4000/graphql
// The process exits 0 whatever the results: the Rust test (tests/graphql_http.rs) judges them.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const results = await auditServer({ url });
for (const r of results) {
  const out = {
    id: r.id,
    name: r.name,
    level: r.name.split(' ')[0],
    status: r.status,
  };
  if (r.status !== 'ok') {
    out.reason = r.reason;
    out.status_code = r.response.status;
    out.content_type = r.response.headers.get('content-type');
    try {
      out.body = (await r.response.text()).slice(0, 500);
    } catch {
      // The audit may have read the body already.
    }
  }
  console.log(JSON.stringify(out));
}
