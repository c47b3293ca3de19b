// The worker's registration on one board, kept 0600 in <configDir>/boards/<onion>.json, so a restart pays no new stamp.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writePrivateFile } from "@tormr/tor/private-file";
import { z } from "zod";

export const BOARDS_DIR = "boards";
/** Tickets remembered per board: a seat lingers on the board only until its job host frees it. */
const MAX_USED_TICKETS = 64;

const boardFileSchema = z.object({
  version: z.literal(1),
  /** The board's onion (56 characters), the same as the file's name. */
  board: z.string().regex(/^[a-z2-7]{56}$/),
  pseudonym: z.string().min(1).max(200),
  /** The bearer token the board answered registration with. */
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  heartbeatMs: z.number().int().positive(),
  pollMs: z.number().int().positive(),
  /** What the board was told it can match on: a change means registering again. */
  capabilities: z.object({
    memoryMb: z.number().int(),
    sandbox: z.enum(["docker", "bwrap"]),
    slots: z.number().int(),
  }),
  /** SHA-256 (hex) of the tickets this worker has already joined with (never the tickets). */
  usedTickets: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(MAX_USED_TICKETS),
  registeredAt: z.string(),
});
export type BoardFile = z.infer<typeof boardFileSchema>;

export function boardFilePath(configDir: string, board: string): string {
  return join(configDir, BOARDS_DIR, `${board}.json`);
}

export function ticketHash(ticket: string): string {
  return createHash("sha256").update(ticket, "utf8").digest("hex");
}

/** A saved registration, or why there is none that can be used. */
export type BoardFileRead =
  | { state: "ok"; file: BoardFile }
  | { state: "missing" }
  /** The file exists but cannot be trusted; `why` names the file and what is wrong. */
  | { state: "unusable"; why: string };

/**
 * Reads the saved registration for `board`. A file that is not one, is for another board, or that
 * others may read (its token may have leaked) is reported unusable: registering again replaces it,
 * and the board then forgets the old token.
 */
export async function readBoardFile(configDir: string, board: string): Promise<BoardFileRead> {
  const path = boardFilePath(configDir, board);
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8);
      return { state: "unusable", why: `${path} has mode ${mode}, so its token may have leaked` };
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "missing" };
    return { state: "unusable", why: `cannot read ${path}: ${code ?? (error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: "unusable", why: `${path} is not JSON` };
  }
  const parsed = boardFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      state: "unusable",
      why: `${path} is not a board registration (${issue?.path.join(".") || "file"}: ${issue?.message})`,
    };
  }
  if (parsed.data.board !== board) {
    return { state: "unusable", why: `${path} is for board ${parsed.data.board}` };
  }
  return { state: "ok", file: parsed.data };
}

/** Writes through a temporary file and a rename (0600, folder 0700), so a crash never leaves half of it. */
export async function writeBoardFile(configDir: string, file: BoardFile): Promise<void> {
  const body = boardFileSchema.parse({
    ...file,
    usedTickets: file.usedTickets.slice(-MAX_USED_TICKETS),
  });
  await writePrivateFile(
    boardFilePath(configDir, file.board),
    `${JSON.stringify(body, null, 2)}\n`,
  );
}
