// The board's Next.js settings: no identifying headers; the security headers themselves are set per request in src/proxy.ts.
import type { NextConfig } from "next";

const config: NextConfig = {
  poweredByHeader: false,
  // The board runs from this monorepo; its packages are TypeScript source.
  transpilePackages: [
    "@tormr/crypto",
    "@tormr/db",
    "@tormr/mapreduce",
    "@tormr/protocol",
    "@tormr/tor",
  ],
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3"],
};

export default config;
