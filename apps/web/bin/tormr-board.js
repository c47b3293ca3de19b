#!/usr/bin/env node
// Launches the tormr-board CLI from its TypeScript source, compiled on the fly by tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exit(await main(process.argv.slice(2)));
