#!/usr/bin/env node
require('../server-lib/server/cli/main.js').main(process.argv);
