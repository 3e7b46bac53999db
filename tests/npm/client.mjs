// Drives a Samlet gateway with graphql-request, a GraphQL client storefronts use, and prints
// what it got as one JSON object for the Rust test (tests/graphql_http.rs) to check against the
// demo world. Usage: node client.mjs URL '{"code":"P000042","sku":"P000042-GREEN"}'
import { GraphQLClient, ClientError, gql } from 'graphql-request';

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

console.log(JSON.stringify(out));
