#!/usr/bin/env node
// Starts a real Vendure 3 server on 127.0.0.1 with a fresh in-memory database, seeds it with a
// slice of the Samlet world read from a JSON fixture, starts the job queue in this process, and
// prints one line `READY port=<port> start_ms=<ms> seed_ms=<ms>` on stdout when it can be used.
//
// Usage: node server.js --fixture <path> [--port <port, 0 = any free port>] [--exit-with-stdin]
//   (or SAMLET_VENDURE_FIXTURE / SAMLET_VENDURE_PORT). With --exit-with-stdin the server stops
//   when its standard input closes, so it never outlives the test process that started it.
//
// TEST-ONLY CREDENTIALS: superadmin / superadmin-test-only (see vendure-config.js).
'use strict';

// Vendure 3.6+ reports telemetry after start unless told not to; this machine has no network.
process.env.VENDURE_DISABLE_TELEMETRY = 'true';

const fs = require('fs');
const { bootstrap, JobQueueService } = require('@vendure/core');
const { makeConfig } = require('./vendure-config');
const { seed } = require('./seed');

function parseArgs(argv) {
    const args = {
        fixture: process.env.SAMLET_VENDURE_FIXTURE,
        port: Number(process.env.SAMLET_VENDURE_PORT || 0),
        exitWithStdin: false,
        logLevel: process.env.SAMLET_VENDURE_LOG_LEVEL || 'Warn',
    };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--fixture') args.fixture = argv[++i];
        else if (a === '--port') args.port = Number(argv[++i]);
        else if (a === '--exit-with-stdin') args.exitWithStdin = true;
        else if (a === '--log-level') args.logLevel = argv[++i];
        else throw new Error(`unknown argument ${a}`);
    }
    if (!args.fixture) throw new Error('no fixture: pass --fixture <path> or set SAMLET_VENDURE_FIXTURE');
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error('bad --port');
    return args;
}

async function main() {
    const args = parseArgs(process.argv);
    const fixture = JSON.parse(fs.readFileSync(args.fixture, 'utf8'));
    const online = fixture.channels.find(c => c.default);
    if (!online) throw new Error('the fixture names no default channel');
    const t0 = Date.now();
    const app = await bootstrap(makeConfig({ port: args.port, onlineChannelToken: online.token, logLevel: args.logLevel }));
    // bootstrap() alone processes no jobs: run the job queue in this process.
    await app.get(JobQueueService).start();
    const t1 = Date.now();
    await seed(app, fixture);
    const t2 = Date.now();
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : args.port;

    let closing = false;
    const stop = async code => {
        if (closing) return;
        closing = true;
        try {
            await Promise.race([app.close(), new Promise(r => setTimeout(r, 3000))]);
        } finally {
            process.exit(code);
        }
    };
    process.on('SIGTERM', () => stop(0));
    process.on('SIGINT', () => stop(0));
    if (args.exitWithStdin) {
        process.stdin.on('end', () => stop(0));
        process.stdin.on('error', () => stop(0));
        process.stdin.resume();
    }
    process.stdout.write(`READY port=${port} start_ms=${t1 - t0} seed_ms=${t2 - t1}\n`);
}

main().catch(err => {
    process.stderr.write(`vendure server failed: ${(err && err.stack) || err}\n`);
    process.exit(1);
});
