// Hive Gateway configuration for bench/run: serves the supergraph composed by mesh.config.ts.
//
// One programmatic link: a variant product's siblings (`Product.variants`), read from Akeneo by
// parent with its JSON `search` filter. (@resolveTo's `{root.x}` interpolation cannot be used
// inside a JSON string, so this is the documented Mesh way: an additional resolver that calls
// the source through the in-context SDK.)
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  additionalTypeDefs: /* GraphQL */ `
    extend type Product {
      variants: ProductList
    }
  `,
  additionalResolvers: {
    Product: {
      variants: {
        selectionSet: '{ parent }',
        resolve(root: { parent?: string | null }, _args: unknown, context: any, info: any) {
          if (!root.parent) return null;
          return context.Akeneo.Query.get_products({
            root,
            args: {
              search: JSON.stringify({ parent: [{ operator: '=', value: root.parent }] }),
              limit: 100,
              with_attribute_options: true,
            },
            context,
            info,
          });
        },
      },
    },
  },
  // Measured as shipped: no response cache, no extra plugins.
  logging: 'warn',
});
