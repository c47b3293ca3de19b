// The process entry of tormr-worker: runs the CLI and exits with its code (the bundle starts here).
import { main } from "./main.ts";

// Exiting explicitly: keep-alive sockets and timers of a finished loop must not hold the process.
process.exit(await main(process.argv.slice(2)));
