// Entry point of the Signet GitHub Action (bundled into dist/index.js).
require('./main').run();
