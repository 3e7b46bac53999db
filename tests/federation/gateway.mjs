// Composes subgraphs into a supergraph with @theguild/federation-composition and serves it
// through Apollo Gateway, forwarding the caller's Authorization header to every subgraph.
//
//   SUBGRAPHS='[{"name":"samlet","url":"http://127.0.0.1:4000/graphql"}, ...]' PORT=4100 \
//     node gateway.mjs
//
// Prints `composed <n> types` and `ready <url>` on stdout; composition errors go to stderr and
// exit 1. The supergraph SDL is written to $SUPERGRAPH_OUT when set.
import { writeFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const subgraphs = JSON.parse(process.env.SUBGRAPHS ?? "[]");
const port = Number(process.env.PORT ?? 4100);

async function sdlOf({ name, url }) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = await res.json();
  const sdl = body?.data?._service?.sdl;
  if (!sdl) {
    throw new Error(`${name} (${url}) gave no _service.sdl: ${JSON.stringify(body)}`);
  }
  return { name, url, typeDefs: parse(sdl) };
}

const services = await Promise.all(subgraphs.map(sdlOf));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const e of result.errors) console.error(`composition error: ${e.message}`);
  process.exit(1);
}
if (process.env.SUPERGRAPH_OUT) writeFileSync(process.env.SUPERGRAPH_OUT, result.supergraphSdl);
const types = (result.supergraphSdl.match(/^type /gm) ?? []).length;
console.log(`composed ${types} types`);

const gateway = new ApolloGateway({
  supergraphSdl: result.supergraphSdl,
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request, context }) {
        if (context.authorization) request.http.headers.set("authorization", context.authorization);
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port, host: "127.0.0.1" },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`ready ${url}`);
