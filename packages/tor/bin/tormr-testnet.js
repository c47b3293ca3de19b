#!/usr/bin/env node
// Launches tormr-testnet (a private Tor network on 127.0.0.1) from its TypeScript source, compiled on the fly by tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/testnet/cli.ts");
process.exitCode = await main(process.argv);
