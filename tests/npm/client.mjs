// Drives a Samlet gateway with graphql-request, a GraphQL client storefronts use, and with
// graphql-ws (a subscription over WebSocket), and prints what it got as one JSON object for the
// Rust test (tests/graphql_http.rs) to check against the demo world.
// Usage: node client.mjs URL '{"code":"P000042","sku":"P000042-GREEN"}'
// With "order", "token" and "ship" (the simulator's ship control URL) in the input, it also
// subscribes to the order's status, ships it once the first event arrived, and records the
// statuses it saw until SHIPPED.
import { GraphQLClient, ClientError, gql } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, inputText] = process.argv.slice(2);
if (!url || !inputText) {
  console.error('usage: node client.mjs URL INPUT_JSON');
  process.exit(2);
}
const input = JSON.parse(inputText);
const client = new GraphQLClient(url, { headers: { 'samlet-locale': 'da-DK' } });
const out = {};

// 1. A product query, the document alone (the code is written into it).
out.product = await client.request(
  gql`{ product(code: ${JSON.stringify(input.code)}) { code name categories } }`,
);

// 2. A named operation with variables and a per-request header.
out.variant = await client.request({
  document: gql`
    query Variant($sku: String!) {
      product(sku: $sku) {
        code
        variants { sku price { amount { amount currencyCode } } }
      }
    }
  `,
  variables: { sku: input.sku },
  requestHeaders: { 'samlet-currency': 'EUR' },
});

// 3. Error cases: the client must surface the server's errors and status code.
async function failure(document, variables) {
  try {
    const data = await client.request({ document, variables });
    return { unexpected_data: data };
  } catch (e) {
    if (!(e instanceof ClientError)) throw e;
    return {
      status: e.response.status,
      messages: (e.response.errors ?? []).map((x) => x.message),
      data: e.response.data ?? null,
    };
  }
}
out.validation_error = await failure(gql`{ product(code: "x") { noSuchField } }`);
out.variable_error = await failure(
  gql`query Page($first: Int!) { products(first: $first) { nodes { code } } }`,
  { first: 'twenty' },
);

// 4. A subscription over WebSocket (graphql-transport-ws), the token in connection_init.
if (input.order) {
  const ws = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${input.token}`, 'samlet-channel': 'app' },
    retryAttempts: 0,
  });
  const seen = [];
  const subscription = ws.iterate({
    query: `subscription($n: String!) {
      orderStatus(number: $n) { number status shipments { carrier trackingNumber } }
    }`,
    variables: { n: input.order },
  });
  const deadline = setTimeout(() => {
    console.error(`no SHIPPED event; saw ${JSON.stringify(seen)}`);
    process.exit(1);
  }, 30000);
  for await (const result of subscription) {
    if (result.errors) {
      seen.push({ errors: result.errors.map((e) => e.message) });
      break;
    }
    const o = result.data.orderStatus;
    seen.push(o);
    if (seen.length === 1) {
      // The warehouse ships the order once the client is watching.
      const r = await fetch(input.ship, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ carrier: 'PostNord', trackingNumber: '00370712345678901234' }),
      });
      if (r.status !== 204) throw new Error(`ship control answered ${r.status}`);
    }
    if (o.status === 'SHIPPED') break;
  }
  clearTimeout(deadline);
  await ws.dispose();
  out.subscription = seen;
}

console.log(JSON.stringify(out));
