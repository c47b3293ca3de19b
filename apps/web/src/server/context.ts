// The board's one database client and settings per process, made on first use.
import { type BoardDb, openBoardDb } from "@tormr/db/board";
import { type BoardSettings, boardSettings } from "./board/settings.ts";
import { readEnv } from "./env.ts";
import { type OnionVerifier, torOnionVerifier } from "./onion-verifier.ts";

export interface BoardContext {
  db: BoardDb;
  settings: BoardSettings;
  /** How requests' onions are verified; absent when the board takes them on trust. */
  verifier?: OnionVerifier | undefined;
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
      trustOnions: env.TORMR_BOARD_VERIFY === "off",
    });
    let verifier: OnionVerifier | undefined;
    if (!settings.trustOnions) {
      if (!env.TORMR_BOARD_TOR_CONTROL || !env.TORMR_BOARD_CLIENT_AUTH_FILE) {
        throw new Error(
          "board environment: verifying requests needs TORMR_BOARD_TOR_CONTROL and TORMR_BOARD_CLIENT_AUTH_FILE (or TORMR_BOARD_VERIFY=off)",
        );
      }
      verifier = await torOnionVerifier(
        env.TORMR_BOARD_TOR_CONTROL,
        env.TORMR_BOARD_CLIENT_AUTH_FILE,
      );
    }
    return { db: await openBoardDb(env.TORMR_BOARD_DB), settings, verifier };
  })();
  return holder.tormrBoard;
}
