// Prisma CLI config for the board's database: `prisma <command> --config prisma/board/prisma.config.ts`.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";

export default defineConfig({
  experimental: { adapter: true },
  // The TypeScript engine: the classic Rust engines would be downloaded, and nothing but npm is reachable.
  engine: "js",
  schema: "schema.prisma",
  migrations: { path: "migrations" },
  async adapter() {
    // The adapter's url overrides the schema's literal one, so this decides which file a command writes.
    // No default: a forgotten variable must not send `migrate deploy` into some unintended file.
    const url = process.env.BOARD_DATABASE_URL;
    if (url === undefined || url === "") {
      throw new Error(
        "BOARD_DATABASE_URL is not set: export it as an absolute file: url (or :memory: for migrate diff)",
      );
    }
    return new PrismaBetterSQLite3({ url });
  },
});
