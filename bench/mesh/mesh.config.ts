// GraphQL Mesh v1 compose: a supergraph over the simulators' REST APIs (Akeneo PIM and the
// Business Central extension pages), served by Hive Gateway in bench/run.
//
// bench/run sets these before composing (read here at compose time and baked into the
// supergraph):
//   AKENEO_URL    the Akeneo simulator's base URL (http://127.0.0.1:PORT)
//   AKENEO_TOKEN  a bearer token the harness fetched with the password grant
//   BC_COMPANY_URL  .../v2.0/{tenant}/{env}/api/samlet/commerce/v1.0/companies({id})
//   BC_TOKEN      a bearer token the harness fetched with client credentials
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`mesh.config.ts: ${name} is not set (bench/run sets it)`);
  return v;
}

// Prices as Samlet asks for them: the web channel's price list, local currency (blank = DKK),
// the general customer group.
const PRICE_FILTER = "priceChannel eq 'online' and currencyCode eq '' and customerPriceGroup eq ''";

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Akeneo', {
        source: './openapi/akeneo.json',
        endpoint: need('AKENEO_URL'),
        operationHeaders: { Authorization: `Bearer ${need('AKENEO_TOKEN')}` },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('BusinessCentral', {
        source: './openapi/business-central.json',
        endpoint: need('BC_COMPANY_URL'),
        operationHeaders: {
          Authorization: `Bearer ${need('BC_TOKEN')}`,
          'Data-Access-Intent': 'ReadOnly',
        },
      }),
    },
  ],
  // The links a storefront graph needs, declared the Mesh way (@resolveTo): a variant product's
  // item prices and stock (Business Central, by item number), and the same for a product model
  // in a listing. (A variant's siblings, `Product.variants`, are in gateway.config.ts: Akeneo's
  // JSON `search` parameter cannot be written through @resolveTo's `{...}` interpolation.) Each link is one
  // REST call per parent object: @resolveTo cannot batch here because the keys go into a
  // filter string, not a list argument.
  additionalTypeDefs: /* GraphQL */ `
    extend type Product {
      prices: ItemPriceCollection
        @resolveTo(
          sourceName: "BusinessCentral"
          sourceTypeName: "Query"
          sourceFieldName: "itemPrices"
          requiredSelectionSet: "{ parent }"
          sourceArgs: { _DOLLAR_filter: "itemNumber eq '{root.parent}' and ${PRICE_FILTER}" }
        )
      stock: ItemStockCollection
        @resolveTo(
          sourceName: "BusinessCentral"
          sourceTypeName: "Query"
          sourceFieldName: "itemStockByLocation"
          requiredSelectionSet: "{ parent }"
          sourceArgs: { _DOLLAR_filter: "itemNumber eq '{root.parent}'" }
        )
    }
    extend type ProductModel {
      prices: ItemPriceCollection
        @resolveTo(
          sourceName: "BusinessCentral"
          sourceTypeName: "Query"
          sourceFieldName: "itemPrices"
          requiredSelectionSet: "{ code }"
          sourceArgs: { _DOLLAR_filter: "itemNumber eq '{root.code}' and ${PRICE_FILTER}" }
        )
      stock: ItemStockCollection
        @resolveTo(
          sourceName: "BusinessCentral"
          sourceTypeName: "Query"
          sourceFieldName: "itemStockByLocation"
          requiredSelectionSet: "{ code }"
          sourceArgs: { _DOLLAR_filter: "itemNumber eq '{root.code}'" }
        )
    }
  `,
});
