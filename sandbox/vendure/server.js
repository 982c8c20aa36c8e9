// A stock Vendure server, configured from the environment: the sandbox store of the ERP integration.
// Configuration only, no plugin that changes Vendure's behaviour: customers run stock Vendure.
// `python -m sandbox.vendure start` runs this with the variables below; see README.md.
//
//   VENDURE_PORT                  port (default 3000)
//   VENDURE_LISTEN                interface (default 127.0.0.1; a container sets 0.0.0.0)
//   VENDURE_HOME                  state directory; the SQLite database is VENDURE_HOME/vendure.sqlite
//   VENDURE_DB_URL                postgresql://user:password@host:port/database instead of SQLite
//   VENDURE_SUPERADMIN_USERNAME   superadmin identifier (required)
//   VENDURE_SUPERADMIN_PASSWORD   superadmin password (required)
'use strict';

// Vendure reports anonymous usage to its makers unless told not to; a sandbox reports nothing.
process.env.VENDURE_DISABLE_TELEMETRY = 'true';

const path = require('path');
const { bootstrap, dummyPaymentHandler, JobQueueService, LogLevel, DefaultLogger } = require('@vendure/core');

function required(name) {
    const value = process.env[name];
    if (!value) {
        console.error(`${name} is not set: start the server with \`python -m sandbox.vendure start\``);
        process.exit(2);
    }
    return value;
}

function database() {
    const url = process.env.VENDURE_DB_URL;
    if (url) {
        // synchronize: the sandbox's schema follows the installed Vendure, no migrations to keep.
        return { type: 'postgres', url, synchronize: true, logging: false };
    }
    const home = required('VENDURE_HOME');
    return {
        type: 'better-sqlite3',
        database: path.join(home, 'vendure.sqlite'),
        synchronize: true,
        logging: false,
        // A file does not get better by waiting: fail in 1 s, not after Nest's 10 tries 3 s apart.
        retryAttempts: 1,
        retryDelay: 1000,
    };
}

const config = {
    apiOptions: {
        hostname: process.env.VENDURE_LISTEN || '127.0.0.1',
        port: Number(process.env.VENDURE_PORT || 3000),
        adminApiPath: 'admin-api',
        shopApiPath: 'shop-api',
    },
    authOptions: {
        // API clients send `Authorization: Bearer <token>`; a new session's token comes back in the
        // `vendure-auth-token` response header (authTokenHeaderKey, Vendure's default).
        tokenMethod: 'bearer',
        superadminCredentials: {
            identifier: required('VENDURE_SUPERADMIN_USERNAME'),
            password: required('VENDURE_SUPERADMIN_PASSWORD'),
        },
    },
    dbConnectionOptions: database(),
    paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
    logger: new DefaultLogger({ level: LogLevel.Info }),
    plugins: [],
};

bootstrap(config)
    // One process: the in-memory job queue (collection filters and the like) runs in the server itself.
    .then(app => app.get(JobQueueService).start())
    .catch(error => {
        console.error(error);
        process.exit(1);
    });
