// The Vendure configuration of Samlet's test and demo server: a real Vendure 3 on loopback, with
// an in-memory SQLite database (the pure-JS sql.js driver, so no native build), bearer-token
// sessions, an in-memory asset store, and the custom fields the samlet-vendure connector reads.
//
// TEST-ONLY CREDENTIALS: the superadmin is `superadmin` / `superadmin-test-only`. Never expose
// this server beyond 127.0.0.1.
'use strict';

const { Readable } = require('stream');
const { DefaultLogger, LogLevel, LanguageCode } = require('@vendure/core');

/** The superadmin of the test server (test-only, documented in the connector's lib.rs). */
const SUPERADMIN = { identifier: 'superadmin', password: 'superadmin-test-only' };

/**
 * Keeps asset binaries in memory: the world's media are tiny placeholders, and the server lives
 * only as long as a test or a demo. `toAbsoluteUrl` makes `Asset.source` an absolute URL served
 * by the `/assets/` middleware below.
 */
class MemoryAssetStorageStrategy {
    constructor() {
        this.files = new Map();
    }
    async writeFileFromBuffer(fileName, data) {
        this.files.set(fileName, Buffer.from(data));
        return fileName;
    }
    async writeFileFromStream(fileName, data) {
        const chunks = [];
        for await (const chunk of data) {
            chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        }
        return this.writeFileFromBuffer(fileName, Buffer.concat(chunks));
    }
    async readFileToBuffer(identifier) {
        const data = this.files.get(identifier);
        if (!data) {
            throw new Error(`no asset ${identifier}`);
        }
        return data;
    }
    async readFileToStream(identifier) {
        return Readable.from([await this.readFileToBuffer(identifier)]);
    }
    async deleteFile(identifier) {
        this.files.delete(identifier);
    }
    async fileExists(fileName) {
        return this.files.has(fileName);
    }
    toAbsoluteUrl(request, identifier) {
        const host = (request && request.get && request.get('host')) || '127.0.0.1';
        return `http://${host}/assets/${identifier}`;
    }
}

/** Previews are the originals: the placeholders are already thumbnail-sized. */
class IdentityAssetPreviewStrategy {
    async generatePreviewImage(_ctx, _mimeType, data) {
        return data;
    }
}

const en = value => [{ languageCode: LanguageCode.en, value }];

/**
 * The custom fields the connector relies on (documented in connectors/vendure/src/lib.rs):
 * - `Product.code`: the product code shared with the other systems (e.g. `P000042`);
 * - `ProductVariantPrice.regularPrice`: the compare-at price in minor units while a campaign
 *   price is in force (null otherwise);
 * - `StockLocation.code`, `kind`, `street`, `postalCode`, `city`, `countryCode`,
 *   `clickAndCollect`: the location's shared code, type and address.
 */
const customFields = {
    Product: [
        { name: 'code', type: 'string', unique: true, nullable: true, label: en('Product code') },
    ],
    ProductVariantPrice: [
        { name: 'regularPrice', type: 'int', nullable: true, label: en('Regular (compare-at) price') },
    ],
    StockLocation: [
        { name: 'code', type: 'string', unique: true, nullable: true, label: en('Location code') },
        { name: 'kind', type: 'string', options: [{ value: 'store' }, { value: 'warehouse' }], nullable: true, label: en('Kind') },
        { name: 'street', type: 'string', nullable: true, label: en('Street') },
        { name: 'postalCode', type: 'string', nullable: true, label: en('Postal code') },
        { name: 'city', type: 'string', nullable: true, label: en('City') },
        { name: 'countryCode', type: 'string', nullable: true, label: en('Country (ISO 3166-1)') },
        { name: 'clickAndCollect', type: 'boolean', defaultValue: false, label: en('Click and collect') },
    ],
};

/**
 * The server's configuration.
 * @param {{port: number, onlineChannelToken: string, logLevel?: string}} options
 */
function makeConfig(options) {
    const storage = new MemoryAssetStorageStrategy();
    return {
        apiOptions: {
            hostname: '127.0.0.1',
            port: options.port,
            adminApiPath: 'admin-api',
            shopApiPath: 'shop-api',
            // Only servers on this machine call it (the gateway, tests); no browser does.
            cors: false,
            middleware: [
                {
                    route: 'assets',
                    handler: (req, res, next) => {
                        const id = decodeURIComponent((req.originalUrl || req.url).split('?')[0].replace(/^\/assets\//, ''));
                        const data = storage.files.get(id);
                        if (!data) {
                            return next();
                        }
                        res.setHeader('content-type', 'image/jpeg');
                        res.end(data);
                    },
                },
            ],
        },
        authOptions: {
            // The connector sends the session token as `Authorization: Bearer` after reading
            // it from the `vendure-auth-token` header of the login answer.
            tokenMethod: 'bearer',
            superadminCredentials: SUPERADMIN,
            requireVerification: false,
        },
        // The online price channel is Vendure's default channel; its token selects it.
        defaultChannelToken: options.onlineChannelToken,
        dbConnectionOptions: {
            type: 'sqljs',
            synchronize: true,
            autoSave: false,
            logging: false,
        },
        paymentOptions: { paymentMethodHandlers: [] },
        assetOptions: {
            assetStorageStrategy: storage,
            assetPreviewStrategy: new IdentityAssetPreviewStrategy(),
        },
        customFields,
        logger: new DefaultLogger({ level: LogLevel[options.logLevel || 'Warn'] }),
        plugins: [],
    };
}

module.exports = { makeConfig, SUPERADMIN };
