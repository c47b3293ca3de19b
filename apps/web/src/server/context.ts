// The board's one database client and settings per process, made on first use.
import { type BoardDb, openBoardDb } from "@tormr/db/board";
import { type BoardSettings, boardSettings } from "./board/settings.ts";
import { readEnv } from "./env.ts";

export interface BoardContext {
  db: BoardDb;
  settings: BoardSettings;
}

const holder = globalThis as unknown as { tormrBoard?: Promise<BoardContext> };

export function boardContext(): Promise<BoardContext> {
  holder.tormrBoard ??= (async () => {
    const env = readEnv();
    const settings = boardSettings({
      onion: env.TORMR_BOARD_ONION,
      ...(env.TORMR_BOARD_REGISTER_BITS !== undefined
        ? { registerBits: env.TORMR_BOARD_REGISTER_BITS }
        : {}),
      ...(env.TORMR_BOARD_POST_BITS !== undefined ? { postBits: env.TORMR_BOARD_POST_BITS } : {}),
    });
    return { db: await openBoardDb(env.TORMR_BOARD_DB), settings };
  })();
  return holder.tormrBoard;
}
