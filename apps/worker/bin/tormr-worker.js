#!/usr/bin/env node
// Launches tormr-worker from its TypeScript source, compiled on the fly by tsx (the packed build is one bundled file).
import { register } from "tsx/esm/api";

register();
await import("../src/cli/entry.ts");
