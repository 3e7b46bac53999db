// Seeds a fresh Vendure database with a slice of the Samlet world, through Vendure's own
// services (the same ones the Admin API resolvers call), in a superadmin request context.
//
// Order matters: a fresh database has no tax zone, and creating a variant without one fails
// ("active tax zone could not be determined"), so countries, the zone, the tax category and rate
// and the channels' default zones come first. Then channels, stock locations, facets, products
// with their option groups, variants, assets and stock, channel assignment, prices per channel
// and currency, and allocated stock.
//
// The fixture (written by samlet_vendure::server from samlet_testkit::World) carries everything
// in Vendure's terms already: language codes, currency codes, prices in minor units.
'use strict';

const { Readable } = require('stream');
const {
    AdministratorService,
    AssetService,
    ChannelService,
    CountryService,
    FacetService,
    FacetValueService,
    GlobalSettingsService,
    ProductOptionGroupService,
    ProductOptionService,
    ProductService,
    ProductVariantService,
    RequestContextService,
    RoleService,
    StockLevelService,
    StockLocationService,
    TaxCategoryService,
    TaxRateService,
    TransactionalConnection,
    User,
    ZoneService,
    isGraphQlErrorResult,
} = require('@vendure/core');
const { SUPERADMIN } = require('./vendure-config');

// A 1x1 JPEG: every product and variant image is this placeholder, stored under the world's name.
const PLACEHOLDER_JPEG = Buffer.from(
    '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////////////////////////////////' +
        '//////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
    'base64',
);

const translations = (map, field = 'name') =>
    Object.entries(map).map(([languageCode, value]) =>
        typeof value === 'string' ? { languageCode, [field]: value } : Object.assign({ languageCode }, value),
    );

function expectEntity(result, what) {
    if (isGraphQlErrorResult(result)) {
        throw new Error(`${what}: ${result.errorCode}: ${result.message}`);
    }
    return result;
}

async function seed(app, fx) {
    // SAMLET_VENDURE_SEED_TIMINGS=1 prints how long each phase took, on stderr.
    const timings = process.env.SAMLET_VENDURE_SEED_TIMINGS ? [] : null;
    let mark = Date.now();
    const phase = name => {
        if (timings) {
            const now = Date.now();
            timings.push(`${name} ${now - mark} ms`);
            mark = now;
        }
    };
    const svc = cls => app.get(cls);
    const contexts = svc(RequestContextService);
    const channels = svc(ChannelService);
    const connection = svc(TransactionalConnection);
    const superadmin = await connection.rawConnection
        .getRepository(User)
        .findOne({ where: { identifier: SUPERADMIN.identifier }, relations: ['roles', 'roles.channels'] });
    const context = async channelOrToken =>
        contexts.create({ apiType: 'admin', user: superadmin || undefined, channelOrToken, languageCode: 'en' });
    let ctx = await context(await channels.getDefaultChannel());

    // Languages first: a channel's languages must be available globally.
    await svc(GlobalSettingsService).updateSettings(ctx, { availableLanguages: fx.languages });

    // Tax: countries, one zone, a standard category and its rate.
    const countryIds = [];
    for (const c of fx.countries) {
        const country = await svc(CountryService).create(ctx, {
            code: c.code,
            enabled: true,
            translations: translations(c.names),
        });
        countryIds.push(country.id);
    }
    const zone = await svc(ZoneService).create(ctx, { name: fx.zone, memberIds: countryIds });
    const taxCategory = await svc(TaxCategoryService).create(ctx, { name: 'Standard', isDefault: true });
    await svc(TaxRateService).create(ctx, {
        name: `Standard ${fx.zone}`,
        categoryId: taxCategory.id,
        zoneId: zone.id,
        value: fx.taxRatePercent,
        enabled: true,
    });

    phase('tax');
    // Channels: the default channel is the first price channel; the others are created.
    const channelIds = {};
    const channelInput = c => ({
        code: c.code,
        token: c.token,
        pricesIncludeTax: c.pricesIncludeTax,
        defaultLanguageCode: 'en',
        availableLanguageCodes: fx.languages,
        defaultCurrencyCode: fx.currencies[0],
        availableCurrencyCodes: fx.currencies,
        defaultTaxZoneId: zone.id,
        defaultShippingZoneId: zone.id,
    });
    const defaultChannel = await channels.getDefaultChannel(ctx);
    for (const c of fx.channels) {
        if (c.default) {
            const input = channelInput(c);
            delete input.code; // the default channel keeps its code
            expectEntity(await channels.update(ctx, Object.assign({ id: defaultChannel.id }, input)), 'default channel');
            channelIds[c.code] = defaultChannel.id;
        } else {
            const created = expectEntity(await channels.create(ctx, channelInput(c)), `channel ${c.code}`);
            channelIds[c.code] = created.id;
        }
    }
    // The context must see the updated default channel (currencies, tax zone).
    ctx = await context(await channels.getDefaultChannel());

    // Administrators with a role limited to what the connector reads, on every channel.
    for (const a of fx.administrators || []) {
        const role = await svc(RoleService).create(ctx, {
            code: a.role,
            description: a.role,
            permissions: a.permissions,
            channelIds: Object.values(channelIds),
        });
        await svc(AdministratorService).create(ctx, {
            emailAddress: a.identifier,
            firstName: a.firstName,
            lastName: a.lastName,
            password: a.password,
            roleIds: [role.id],
        });
    }

    phase('channels');
    // Stock locations: the default one becomes the first of the world's locations.
    const locations = svc(StockLocationService);
    const locationIds = {};
    const first = await locations.defaultStockLocation(ctx);
    for (const [i, l] of fx.locations.entries()) {
        const input = {
            name: l.name,
            description: l.description,
            customFields: {
                code: l.code,
                kind: l.kind,
                street: l.street,
                postalCode: l.postalCode,
                city: l.city,
                countryCode: l.countryCode,
                clickAndCollect: l.clickAndCollect,
            },
        };
        const saved = i === 0 ? await locations.update(ctx, Object.assign({ id: first.id }, input)) : await locations.create(ctx, input);
        locationIds[l.code] = saved.id;
    }
    for (const c of fx.channels.filter(c => !c.default)) {
        await locations.assignStockLocationsToChannel(ctx, {
            channelId: channelIds[c.code],
            stockLocationIds: Object.values(locationIds),
        });
    }

    phase('locations');
    // Facets: categories and product attributes.
    const facetValueIds = {};
    for (const f of fx.facets) {
        const facet = await svc(FacetService).create(ctx, {
            code: f.code,
            isPrivate: false,
            translations: translations(f.names),
        });
        for (const v of f.values) {
            const value = await svc(FacetValueService).create(ctx, facet, {
                code: v.code,
                translations: translations(v.names),
            });
            facetValueIds[`${f.code}:${v.code}`] = value.id;
        }
    }

    phase('facets');
    // Products, option groups, variants with stock on hand per location, and images.
    const assets = svc(AssetService);
    const products = svc(ProductService);
    const variants = svc(ProductVariantService);
    const optionGroups = svc(ProductOptionGroupService);
    const options = svc(ProductOptionService);
    const asset = async name => expectEntity(await assets.createFromFileStream(Readable.from([PLACEHOLDER_JPEG]), name, ctx), `asset ${name}`);
    const productIds = [];
    const variantIds = {};
    for (const p of fx.products) {
        const image = await asset(p.asset);
        const product = await products.create(ctx, {
            translations: Object.entries(p.translations).map(([languageCode, t]) => ({
                languageCode,
                name: t.name,
                slug: p.slug,
                description: t.description,
            })),
            facetValueIds: p.facetValues.map(([facet, value]) => facetValueIds[`${facet}:${value}`]),
            assetIds: [image.id],
            featuredAssetId: image.id,
            customFields: { code: p.code },
        });
        productIds.push(product.id);
        const groups = {};
        for (const g of p.optionGroups) {
            groups[g.code] = await optionGroups.create(ctx, { code: g.code, translations: translations(g.names) });
            await products.addOptionGroupToProduct(ctx, product.id, groups[g.code].id);
        }
        const optionIds = {};
        for (const o of p.variants.flatMap(v => v.options)) {
            const key = `${o.group}:${o.code}`;
            if (!optionIds[key]) {
                const option = await options.create(ctx, groups[o.group], { code: o.code, translations: translations(o.names) });
                optionIds[key] = option.id;
            }
        }
        const inputs = [];
        for (const v of p.variants) {
            const img = await asset(v.asset);
            const own = v.prices.find(x => x.channel === fx.channels.find(c => c.default).code && x.currency === fx.currencies[0]);
            inputs.push({
                productId: product.id,
                sku: v.sku,
                translations: translations(v.names),
                optionIds: v.options.map(o => optionIds[`${o.group}:${o.code}`]),
                assetIds: [img.id],
                featuredAssetId: img.id,
                taxCategoryId: taxCategory.id,
                price: own ? own.price : 0,
                stockLevels: v.stock.map(s => ({ stockLocationId: locationIds[s.location], stockOnHand: s.onHand })),
            });
        }
        const created = await variants.create(ctx, inputs);
        for (const v of created) {
            variantIds[v.sku] = v.id;
        }
    }

    phase('products');
    // Every product is sold in every price channel.
    for (const c of fx.channels.filter(c => !c.default)) {
        await products.assignProductsToChannel(ctx, { channelId: channelIds[c.code], productIds, priceFactor: 1 });
    }

    phase('assign');
    // Prices per channel and currency, with the compare-at price of campaign prices; and the
    // units allocated to open orders per location.
    const stockLevels = svc(StockLevelService);
    for (const p of fx.products) {
        for (const v of p.variants) {
            const id = variantIds[v.sku];
            for (const x of v.prices) {
                await variants.createOrUpdateProductVariantPrice(ctx, id, x.price, channelIds[x.channel], x.currency, {
                    regularPrice: x.regularPrice == null ? null : x.regularPrice,
                });
            }
            for (const s of v.stock.filter(s => s.allocated > 0)) {
                await stockLevels.updateStockAllocatedForLocation(ctx, id, locationIds[s.location], s.allocated);
            }
        }
    }
    phase('prices and allocations');
    if (timings) {
        process.stderr.write(`seed timings: ${timings.join(', ')}\n`);
    }
}

module.exports = { seed };
